"""Demo city: build time, load time into PostGIS, GeoPackage time, and peak memory.

Run: .venv/bin/python bench/bench_demo_build.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from common import (
    BENCH_SEED,
    bench_database_url,
    database_version,
    peak_memory_mib,
    print_machine,
    timed,
)
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from gridsvc.geodata import city_loader
from gridsvc.geodata.demo.build import build_demo_city
from gridsvc.geodata.gpkg import write_city_geopackage


def main() -> None:
    print_machine("demo city build")
    url = bench_database_url()
    print(f"database: {database_version(url)}")
    with timed() as build:
        city = build_demo_city(seed=BENCH_SEED)
    memory_after_build = peak_memory_mib()
    engine = create_engine(url)
    with timed() as load, Session(engine) as session, session.begin():
        for _ in city_loader.load_city(session, city):
            pass
    engine.dispose()
    with tempfile.TemporaryDirectory() as folder, timed() as gpkg:
        write_city_geopackage(city, Path(folder) / "ordos-demo.gpkg")
    residents = int(city.population["persons"].sum())
    print(
        f"city: {len(city.grids):,} grids, {len(city.communities):,} communities, "
        f"{len(city.streets)} streets, {residents:,} residents in {len(city.population):,} "
        f"points, {len(city.facilities):,} facilities, {len(city.network_nodes):,} nodes / "
        f"{len(city.network_edges):,} edges"
    )
    print(
        f"build (generate, in memory): {build[0]:7.2f} s   peak RSS {memory_after_build:,.0f} MiB"
    )
    print(f"load into PostGIS (COPY):    {load[0]:7.2f} s")
    print(f"write GeoPackage:            {gpkg[0]:7.2f} s")
    print(
        f"total:                       {build[0] + load[0] + gpkg[0]:7.2f} s   "
        f"peak RSS {peak_memory_mib():,.0f} MiB"
    )


if __name__ == "__main__":
    main()
