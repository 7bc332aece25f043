"""What-if on the demo city (6,702 grids): cold, warm, and after a facility is added; old vs new.

Each tree (``--old``, default /work/main, and this one) runs in its own process on a copy of
the demo database (``--database``, default the demo's own ``gridsvc``; the copy is made with
``CREATE DATABASE ... TEMPLATE`` and dropped at the end, so the demo is only read):

- cold: the first what-if of the process. The old tree reads the city inside it; this tree
  warms the city first (what the server does in the background at start-up: the warm-up is
  printed apart) and then answers;
- warm: culture_5min, whole city, both modes: one library added at the same place (median of
  7), added at a new place each time, an existing library moved, one removed;
- after a facility is added (committed, as the API commits it): the first what-if, then the
  next.

Run: .venv/bin/python bench/bench_what_if.py [--old /work/main] [--database gridsvc]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
# The child imports gridsvc from the tree on its PYTHONPATH: nothing of this tree before that.
if "--child" not in sys.argv:
    sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

CENTRE = (109.985, 39.82)
REPEATS = 7


def _timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def _warm_figures(session: Session, planning, circle, mode: str, ids: list[int]) -> dict:
    place = planning.Place
    rng = np.random.default_rng(5)

    def ask(change) -> float:
        return _timed(lambda: planning.what_if(session, circle, mode, "population", None, change))

    same = planning.Change([("library", place(*CENTRE))], [], [])
    ask(same)

    def around() -> planning.Place:
        return place(CENTRE[0] + rng.uniform(-0.04, 0.04), CENTRE[1] + rng.uniform(-0.04, 0.04))

    changes = {
        "add, same place": lambda _: same,
        "add, new place": lambda _: planning.Change([("library", around())], [], []),
        "move": lambda i: planning.Change([], [(ids[i % len(ids)], around())], []),
        "remove": lambda i: planning.Change([], [], [ids[i % len(ids)]]),
    }
    return {
        f"{mode} warm: {name}": statistics.median(ask(make(i)) for i in range(REPEATS))
        for name, make in changes.items()
    }


def measure(url: str) -> dict[str, float]:
    """Figures of the tree on PYTHONPATH (imported here, inside the child)."""
    from gridsvc.coverage import planning
    from gridsvc.coverage.circles import load_circles

    try:
        from gridsvc.coverage import cache
    except ImportError:  # the old tree: no warm-up
        cache = None
    circle = load_circles()["culture_5min"]
    figures: dict[str, float] = {}
    engine = create_engine(url)
    with Session(engine) as session:
        ids = list(
            session.scalars(
                text(
                    "SELECT id FROM facilities WHERE type_code = 'library' ORDER BY"
                    " geom <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) LIMIT 20"
                ),
                {"lon": CENTRE[0], "lat": CENTRE[1]},
            )
        )
        if cache is not None:
            figures["warm-up at start (background)"] = _timed(lambda: cache.warm(session))
        change = planning.Change([("library", planning.Place(*CENTRE))], [], [])
        for mode in ("network", "euclidean"):
            figures[f"{mode} cold: first what-if"] = _timed(
                lambda mode=mode: planning.what_if(
                    session, circle, mode, "population", None, change
                )
            )
        for mode in ("network", "euclidean"):
            figures.update(_warm_figures(session, planning, circle, mode, ids))
        session.execute(
            text(
                "INSERT INTO facilities (type_code, name, source, geom) VALUES ('library',"
                " 'bench', 'bench', ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))"
            ),
            {"lon": CENTRE[0] + 0.01, "lat": CENTRE[1] - 0.01},
        )
        session.commit()
        for mode in ("network", "euclidean"):
            for moment in ("first", "next"):
                figures[f"{mode} after a facility added: {moment}"] = _timed(
                    lambda mode=mode: planning.what_if(
                        session, circle, mode, "population", None, change
                    )
                )
    engine.dispose()
    return figures


def run_tree(tree: Path, url: str) -> dict[str, float]:
    from bench.trees import run_in_tree

    return run_in_tree(__file__, tree, [url])


def copied_database(url: str, name: str, drop: bool = False) -> str:
    """Create (or drop) a copy of ``url``'s database named ``name``; return its URL."""
    source = make_url(url)
    admin = create_engine(source.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        if not drop:
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source.database}"'))
    admin.dispose()
    return source.set(database=name).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", default="/work/main", help="the tree to compare against")
    parser.add_argument("--database", default="gridsvc", help="database with the demo city")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child)))
        return
    from bench.common import print_machine, print_speed
    from gridsvc.db import resolve_database_url

    print_machine("what-if on the demo city: old tree vs this tree")
    demo = make_url(resolve_database_url()).set(database=args.database)
    demo_url = demo.render_as_string(hide_password=False)
    old_tree = Path(args.old).resolve()
    figures = {"old": {}, "old load": float("nan")}
    trees = [("old", old_tree)] if old_tree.is_dir() and old_tree != HERE else []
    if not trees:
        print(f"no other tree at {old_tree}: only this tree's figures")
    for label, tree in [*trees, ("new", HERE)]:
        copy = copied_database(demo_url, f"{args.database}_what_if_bench")
        try:
            figures[label] = run_tree(tree, copy)
            figures[label + " load"] = os.getloadavg()[0]
        finally:
            copied_database(demo_url, f"{args.database}_what_if_bench", drop=True)
    print(f"old: {old_tree}   new: {HERE}   database: copies of {args.database}")
    print(f"load average after old/new: {figures['old load']:.2f} / {figures['new load']:.2f}")
    print_speed("after the runs")
    print(f"{'culture_5min, whole city':<44}{'old ms':>10}{'new ms':>10}{'old/new':>9}")
    for name in figures["new"]:
        new = figures["new"][name] * 1000
        old = figures["old"].get(name)
        shown = f"{old * 1000:>10.1f}" if old is not None else f"{'-':>10}"
        ratio = f"{old * 1000 / new:>8.1f}x" if old is not None and new > 0 else f"{'':>9}"
        print(f"{name:<44}{shown}{new:>10.1f}{ratio}")


if __name__ == "__main__":
    main()
