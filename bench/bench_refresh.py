"""Coverage refresh of the demo city: main's code against this tree's, in one run.

Each tree runs in its own process (PYTHONPATH at that tree) on the same database and
prints its stages; the parent prints both with the ratio and the machine:
- per-grid figures alone (covered residents of every circle x both modes, no polygons);
- the coverage tables with gaps (figures, covered area, gap polygons) of the same;
- the network service areas of every threshold;
- the full refresh (every circle x both modes, service areas, gaps, stored; rolled back).

Run: .venv/bin/python bench/bench_refresh.py [--old /work/main] [--database gridsvc_bench]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
STAGES = ("load", "snap", "figures", "tables", "service_areas", "full_refresh")


def measure(database: str) -> dict[str, float]:
    """Time each stage with whatever gridsvc is first on the path."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import Session

    from bench.common import bench_database_url, ensure_demo_city
    from gridsvc.config import get_settings
    from gridsvc.coverage import analysis, refresh
    from gridsvc.coverage.circles import load_circles
    from gridsvc.coverage.network import snap
    from gridsvc.coverage.reach import service_area_polygons

    url = bench_database_url(database)
    engine = create_engine(url)
    with Session(engine) as session:
        if not session.scalar(text("SELECT count(*) FROM grids WHERE valid_to IS NULL")):
            ensure_demo_city(url)
    figures: dict[str, float] = {}
    buffer_m = get_settings().service_area_buffer_m
    circles = list(load_circles().values())
    with Session(engine) as session:
        started = time.perf_counter()
        inputs = refresh.load_inputs(session)
        figures["load"] = time.perf_counter() - started
        started = time.perf_counter()
        _ = inputs.resident_snaps
        figures["snap"] = time.perf_counter() - started
        figures["figures"] = figures["tables"] = 0.0
        for circle in circles:
            rows = inputs.facilities_of(circle.facility_types)
            for mode in analysis.MODES:
                started = time.perf_counter()
                analysis.compute_coverage(
                    inputs, rows, mode, circle.threshold_m, buffer_m, with_gaps=False
                )
                figures["figures"] += time.perf_counter() - started
                started = time.perf_counter()
                analysis.compute_coverage(inputs, rows, mode, circle.threshold_m, buffer_m)
                figures["tables"] += time.perf_counter() - started
        thresholds: dict[float, set[str]] = {}
        for circle in circles:
            thresholds.setdefault(circle.threshold_m, set()).update(circle.facility_types)
        started = time.perf_counter()
        for threshold, types in thresholds.items():
            xy = inputs.facility_xy[inputs.facilities_of(tuple(types))]
            service_area_polygons(inputs.network, snap(inputs.network, xy), threshold, buffer_m)
        figures["service_areas"] = time.perf_counter() - started
        started = time.perf_counter()
        refresh.refresh(session)
        session.flush()
        figures["full_refresh"] = time.perf_counter() - started
        session.rollback()
    engine.dispose()
    return figures


def run_tree(tree: Path, database: str) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    script = Path(__file__).resolve()
    output = subprocess.run(
        [sys.executable, str(script), "--child", "--database", database],
        env=env,
        cwd=tree,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


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
    from bench.common import print_machine

    print_machine("coverage refresh of the demo city: old tree vs this tree")
    old_tree = Path(args.old).resolve()
    if not (old_tree / "gridsvc" / "coverage").is_dir():
        print(f"no tree at {old_tree}: only this tree's figures")
        old_tree = HERE
    old = run_tree(old_tree, args.database)
    new = run_tree(HERE, args.database) if old_tree != HERE else old
    print(f"old: {old_tree}   new: {HERE}   database: {args.database}")
    print(f"{'stage':<14}{'old s':>9}{'new s':>9}{'old/new':>9}")
    for stage in STAGES:
        ratio = old[stage] / new[stage] if new[stage] > 0 else float("inf")
        print(f"{stage:<14}{old[stage]:>9.2f}{new[stage]:>9.2f}{ratio:>8.1f}x")
    print("targets (issue 14): full refresh < 10 s; figures alone < 2 s")


if __name__ == "__main__":
    main()
