"""Import throughput: the demo city's 6,702 grids from a GeoPackage, 1 million residents from CSV.

Each import runs as `gridsvc import` does (read, check every row, COPY in one transaction)
into the benchmark database, rolled back at the end. Prints features per second and the
process's peak memory after each step.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import pandas as pd
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

from gridsvc.geodata.city_loader import clear_city
from gridsvc.geodata.demo.build import build_demo_city
from gridsvc.geodata.gpkg import write_city_geopackage
from gridsvc.geodata.importer import ImportRequest, import_file

POPULATION_POINTS = 1_000_000


def run(session: Session, layer: str, path: Path) -> None:
    with timed() as elapsed:
        result = import_file(session, ImportRequest(layer=layer, path=path))
    assert result.loaded, result.errors[:5]
    print(
        f"{layer:12s} {result.rows:>9,} features  {elapsed[0]:7.2f} s  "
        f"{result.rows / elapsed[0]:>9,.0f} features/s  peak memory {peak_memory_mib():,.0f} MiB"
    )


def population_csv(city, folder: Path) -> Path:
    """1 million resident points near the demo city's own, as a lon/lat CSV."""
    rng = np.random.default_rng(BENCH_SEED)
    base = city.population.geometry
    picks = rng.integers(0, len(base), POPULATION_POINTS)
    jitter = rng.normal(0, 0.0003, (POPULATION_POINTS, 2))
    path = folder / "population.csv"
    pd.DataFrame(
        {
            "persons": rng.integers(1, 12, POPULATION_POINTS),
            "lon": base.x.to_numpy()[picks] + jitter[:, 0],
            "lat": base.y.to_numpy()[picks] + jitter[:, 1],
        }
    ).to_csv(path, index=False, float_format="%.7f")
    return path


def main() -> None:
    print_machine("import throughput (read, check every row, COPY)")
    url = bench_database_url()
    print(f"database: {database_version(url)}")
    city = build_demo_city(seed=BENCH_SEED)
    engine = create_engine(url)
    with tempfile.TemporaryDirectory() as folder:
        source = write_city_geopackage(city, Path(folder) / "city.gpkg")
        people = population_csv(city, Path(folder))
        with Session(engine) as session, session.begin():
            clear_city(session)
            for layer in ("districts", "streets", "communities", "grids"):
                run(session, layer, source)
            run(session, "population", people)
            session.rollback()
    engine.dispose()


if __name__ == "__main__":
    main()
