"""Coverage refresh of the demo city: main's code against this tree's, in one run.

Each tree runs in its own process (PYTHONPATH at that tree) on the same database and
prints its stages; the parent prints both with the ratio, the load average after each
stage, and the machine:
- per-grid figures alone (covered residents of every circle x both modes, no polygons);
- the coverage tables with gaps (figures, covered area, gap polygons) of the same;
- the network service areas of every threshold;
- storing what those two stages made: every table with its gaps and every service area
  written into the database (EWKB, COPY), in a savepoint rolled back;
- the full refresh (every circle x both modes, service areas, gaps, stored);
- the freshness check right after it (is the stored coverage current?);
- stored coverage made current after one shop is added, moved or removed
  (``refresh_after_change``: this tree updates incrementally, main refreshes districts).
Everything is rolled back: the database is left as it was.

Run: .venv/bin/python bench/bench_refresh.py [--old /work/main] [--database gridsvc_bench]
The database must be at a revision both trees know, or be a fresh copy of the demo's.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
STAGES = (
    "load",
    "snap",
    "figures",
    "tables",
    "service_areas",
    "store",
    "full_refresh",
    "fresh_check",
    "update_add",
    "update_move",
    "update_remove",
)


def _timed(figures: dict, stage: str, work) -> None:
    started = time.perf_counter()
    work()
    figures[stage] = time.perf_counter() - started
    figures[f"{stage}_load"] = os.getloadavg()[0]


def measure_stages(session, figures: dict) -> None:
    """Time the computation's stages with whatever gridsvc is first on the path."""
    from gridsvc.config import get_settings
    from gridsvc.coverage import analysis, refresh
    from gridsvc.coverage.circles import load_circles
    from gridsvc.coverage.network import snap
    from gridsvc.coverage.reach import service_area_polygons

    buffer_m = get_settings().service_area_buffer_m
    circles = list(load_circles().values())
    loaded = {}
    _timed(figures, "load", lambda: loaded.setdefault("inputs", refresh.load_inputs(session)))
    inputs = loaded["inputs"]
    _timed(figures, "snap", lambda: inputs.resident_snaps)

    tables: list = []

    def every_circle(with_gaps: bool) -> None:
        for circle in circles:
            rows = inputs.facilities_of(circle.facility_types)
            for mode in analysis.MODES:
                table = analysis.compute_coverage(
                    inputs, rows, mode, circle.threshold_m, buffer_m, with_gaps=with_gaps
                )
                if with_gaps:
                    tables.append((table, circle, mode))

    _timed(figures, "figures", lambda: every_circle(False))
    _timed(figures, "tables", lambda: every_circle(True))
    thresholds: dict[float, set[str]] = {}
    for circle in circles:
        thresholds.setdefault(circle.threshold_m, set()).update(circle.facility_types)

    areas: list = []

    def service_areas() -> None:
        for threshold, types in thresholds.items():
            rows = inputs.facilities_of(tuple(types))
            xy = inputs.facility_xy[rows]
            polygons = service_area_polygons(
                inputs.network, snap(inputs.network, xy), threshold, buffer_m
            )
            areas.append((rows, threshold, polygons))

    _timed(figures, "service_areas", service_areas)
    store_results(session, inputs, tables, areas, figures)


def store_results(session, inputs, tables: list, areas: list, figures: dict) -> None:
    """Time writing the tables and service areas just made (rolled back to a savepoint)."""
    from sqlalchemy import text

    from gridsvc.coverage import store
    from gridsvc.grids import service as grids_service

    srid = grids_service.metric_srid(session)
    write_service_areas = _service_area_writer(store)
    nested = session.begin_nested()
    session.execute(text("DELETE FROM grid_coverage"))
    session.execute(text("DELETE FROM service_areas"))
    session.flush()

    def write() -> None:
        for table, circle, mode in tables:
            store.store_coverage(session, table, circle, mode, srid)
        for rows, threshold, polygons in areas:
            write_service_areas(session, inputs, rows, "network", threshold, polygons, srid)

    _timed(figures, "store", write)
    nested.rollback()


def _service_area_writer(store):
    """Write service areas as the tree does: its rows through COPY, or an older tree's way."""
    if hasattr(store, "service_area_rows"):

        def write(session, inputs, rows, mode, threshold, polygons, srid) -> None:
            values = store.service_area_rows(inputs, rows, mode, threshold, polygons, srid)
            store._copy(session, "service_areas", store.SERVICE_AREA_COLUMNS, values)

        return write
    return getattr(store, "write_service_areas", None) or _older_write(store)


def _older_write(store):
    """How trees before ``write_service_areas`` wrote service areas."""

    def write(session, inputs, rows, mode, threshold, polygons, srid) -> None:
        values = [
            (int(inputs.facility_ids[row]), inputs.facility_types[row], mode, threshold, geom)
            for row, geom in zip(rows, store._ewkb(polygons, srid), strict=True)
            if geom is not None
        ]
        columns = ["facility_id", "type_code", "mode", "threshold_m", "geom"]
        store._copy(session, "service_areas", columns, values)

    return write


CHANGES = {
    "add": "INSERT INTO facilities (type_code, name, source, geom) SELECT type_code,"
    " 'bench', 'bench', ST_Translate(geom, 0.002, 0.002) FROM facilities WHERE id = :id",
    "move": "UPDATE facilities SET geom = ST_Translate(geom, 0.003, 0.002) WHERE id = :id",
    "remove": "DELETE FROM facilities WHERE id = :id",
}


def measure_updates(session, figures: dict) -> None:
    """Full refresh, then one shop added, moved or removed and coverage made current."""
    from sqlalchemy import text

    from gridsvc.coverage import refresh, service

    _timed(figures, "full_refresh", lambda: (refresh.refresh(session), session.flush()))
    _timed(figures, "fresh_check", lambda: refresh.is_fresh(session))
    shop = session.scalar(
        text(
            "SELECT id FROM facilities WHERE type_code = 'shop_market'"
            " ORDER BY id LIMIT 1 OFFSET 100"
        )
    )
    for kind, statement in CHANGES.items():
        nested = session.begin_nested()
        session.execute(text(statement), {"id": shop})
        _timed(figures, f"update_{kind}", lambda: service.refresh_after_change(session))
        nested.rollback()


def measure(database: str) -> dict[str, float]:
    """Time each stage with whatever gridsvc is first on the path; roll everything back."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import Session

    from bench.common import bench_database_url, ensure_demo_city

    url = bench_database_url(database)
    engine = create_engine(url)
    with Session(engine) as session:  # closed before loading: its lock would block the load
        loaded = session.scalar(text("SELECT count(*) FROM grids WHERE valid_to IS NULL"))
    if not loaded:
        ensure_demo_city(url)
    figures: dict[str, float] = {}
    with Session(engine) as session:
        measure_stages(session, figures)
        measure_updates(session, figures)
        session.rollback()
    engine.dispose()
    return figures


def run_tree(tree: Path, database: str) -> dict[str, float]:
    from bench.trees import run_in_tree

    return run_in_tree(__file__, tree, ["--database", database])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", default="/work/main", help="the tree to compare against")
    parser.add_argument("--database", default="gridsvc_bench", help="database with the demo city")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.path.insert(0, os.environ["PYTHONPATH"])
        print(json.dumps(measure(args.database)))
        return
    sys.path.insert(0, str(HERE))
    from bench.common import print_machine, print_speed

    print_machine("coverage refresh of the demo city: old tree vs this tree")
    old_tree = Path(args.old).resolve()
    if not (old_tree / "gridsvc" / "coverage").is_dir():
        print(f"no tree at {old_tree}: only this tree's figures")
        old_tree = HERE
    old = run_tree(old_tree, args.database)
    new = run_tree(HERE, args.database) if old_tree != HERE else old
    print(f"old: {old_tree}   new: {HERE}   database: {args.database}")
    print(f"{'stage':<15}{'old s':>9}{'new s':>9}{'old/new':>9}{'load old':>10}{'load new':>10}")
    for stage in STAGES:
        ratio = old[stage] / new[stage] if new[stage] > 0 else float("inf")
        loads = f"{old[stage + '_load']:>10.2f}{new[stage + '_load']:>10.2f}"
        print(f"{stage:<15}{old[stage]:>9.3f}{new[stage]:>9.3f}{ratio:>8.1f}x{loads}")
    print_speed("after the runs")
    print(
        "targets (issue 14): full refresh < 10 s; figures alone < 2 s; one facility's update < 1 s"
    )


if __name__ == "__main__":
    main()
