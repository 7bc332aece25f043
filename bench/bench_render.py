"""`gridsvc maps render` of the demo city: another checkout's code against this one's, in one run.

Each tree renders every map (the city's and each district's grids maps, the city's
coverage map of every circle, the issues map) into a folder of its own, as `make demo`
does, in a process of its own (PYTHONPATH at that tree) on the same database, which must
hold the demo city with its coverage stored (`gridsvc coverage refresh`); nothing is
written to it. Printed per tree: wall time, the CPU time of the command and the processes
it forked, the bytes of the pages written and the largest page (what a phone loads), and
the ratio of wall times, beside the machine.

Run: .venv/bin/python bench/bench_render.py [--old DIR] [--database gridsvc] [--runs 1]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))

from bench.common import print_machine, print_speed  # noqa: E402


def render_once(tree: Path, database: str) -> tuple[float, float, dict[str, int]]:
    """Wall and CPU seconds of one `gridsvc maps render` with ``tree``'s code, page sizes."""
    environment = {**os.environ, "PYTHONPATH": str(tree), "GRIDSVC_DATABASE_NAME": database}
    with tempfile.TemporaryDirectory(prefix="gridsvc-render-") as folder:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "gridsvc.cli", "maps", "render", "--out", folder],
            env=environment,
            cwd=tree,
            check=True,
            capture_output=True,
        )
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        pages = {page.name: page.stat().st_size for page in Path(folder).glob("*.html")}
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", default="/work/main", help="the tree to compare against")
    parser.add_argument("--database", default="gridsvc", help="database with the demo city")
    parser.add_argument("--runs", type=int, default=1, help="renders per tree, alternating")
    arguments = parser.parse_args()
    print_machine("maps render of the demo city: old tree vs this tree")
    old = Path(arguments.old).resolve()
    trees = {"old": old, "new": HERE} if old != HERE else {"new": HERE}
    figures: dict[str, list[tuple[float, float, dict[str, int]]]] = {name: [] for name in trees}
    for _ in range(max(1, arguments.runs)):
        for name, tree in trees.items():
            figures[name].append(render_once(tree, arguments.database))
    print(f"database: {arguments.database}; load average {os.getloadavg()[0]:.2f} after")
    print_speed("after the runs")
    for name, tree in trees.items():
        walls = [wall for wall, _, _ in figures[name]]
        cpus = [cpu for _, cpu, _ in figures[name]]
        pages = figures[name][-1][2]
        largest = max(pages, key=pages.__getitem__)
        print(
            f"{name}: {tree}  wall {statistics.median(walls):.1f} s "
            f"(runs {', '.join(f'{wall:.1f}' for wall in walls)}), "
            f"CPU {statistics.median(cpus):.1f} s; {len(pages)} pages, "
            f"{sum(pages.values()) / 1e6:.1f} MB, the largest {largest} "
            f"{pages[largest] / 1e6:.1f} MB"
        )
    if "old" in figures:
        ratio = statistics.median(w for w, _, _ in figures["old"]) / statistics.median(
            w for w, _, _ in figures["new"]
        )
        print(f"old/new wall: {ratio:.2f}x")


if __name__ == "__main__":
    main()
