"""Grid rebalancing on the demo city: every district's proposal, and spopt's max-p beside it.

Prints:
- for each district and the whole city (6,702 grids, 2.2 million residents): the time to
  propose, grids before and after, grids out of the band before and after (and after,
  counting only communities whose total the band allows), mean Polsby–Popper before and
  after;
- on communities of growing size (their resident cells as units): gridsvc's bisection
  against spopt's MaxPHeuristic with the band's floor as threshold: seconds, regions,
  regions in band. Max-p is run up to ``--maxp-units`` units.

Reads the demo database (``gridsvc`` with GRIDSVC_HOME) in a read-only transaction; writes
nothing. Run: .venv/bin/python bench/bench_rebalance.py [--band 300-500]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import geopandas as gpd
import numpy as np
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from bench.common import database_version, peak_memory_mib, print_machine, timed
from gridsvc.db import resolve_database_url
from gridsvc.grids import rebalance
from gridsvc.rebalancing import service as rebalance_service


def district_codes(session: Session) -> list[str]:
    return list(
        session.scalars(text("SELECT code FROM districts WHERE valid_to IS NULL ORDER BY code"))
    )


def bench_city(session: Session, band: str) -> dict[str, rebalance_service.Proposal]:
    proposals = {}
    header = (
        f"{'district':>8} {'s':>6} {'grids':>11} {'out of band':>13} {'allowed':>7} "
        f"{'Polsby-Popper':>13}"
    )
    print(header)
    totals = {"seconds": 0.0}
    for code in district_codes(session):
        request = rebalance_service.check_request("district", code, band, "households")
        with timed() as took:
            proposal = rebalance_service.propose(session, request)
        proposals[code] = proposal
        s = proposal.summary()
        totals["seconds"] += took[0]
        print(
            f"{code:>8} {took[0]:6.1f} {s['grids_before']:5,} → {s['grids_after']:<5,}"
            f"{s['out_of_band_before']:6,} → {s['out_of_band_after']:<5,}"
            f"{s['out_of_band_after_where_allowed']:6,}   {s['polsby_popper_before']:.3f} → "
            f"{s['polsby_popper_after']:.3f}"
        )
    old = np.concatenate([p.old_grids["polsby_popper"].to_numpy() for p in proposals.values()])
    new = np.concatenate([p.new_grids["polsby_popper"].to_numpy() for p in proposals.values()])
    count = {
        key: sum(p.summary()[key] for p in proposals.values())
        for key in (
            "grids_before",
            "grids_after",
            "out_of_band_before",
            "out_of_band_after",
            "out_of_band_after_where_allowed",
        )
    }
    print(
        f"{'CITY':>8} {totals['seconds']:6.1f} {count['grids_before']:5,} → "
        f"{count['grids_after']:<5,}{count['out_of_band_before']:6,} → "
        f"{count['out_of_band_after']:<5,}{count['out_of_band_after_where_allowed']:6,}   "
        f"{old.mean():.3f} → {new.mean():.3f}  (median {np.median(old):.3f} → "
        f"{np.median(new):.3f})"
    )
    return proposals


def community_units(session: Session, code: str, band: rebalance.Band):
    """A community's resident cells, loads and contiguity, as the proposal builds them."""
    request = rebalance_service.check_request("community", code, str(band), "households")
    communities, _, points, crs = rebalance_service.load_scope(session, request)
    outline = communities.to_crs(crs).geometry.iloc[0]
    xy = points[["x", "y"]].to_numpy(dtype=float)
    units = rebalance.resident_units(outline, xy, points["households"].to_numpy(dtype=float))
    return units, rebalance.adjacency(units.cells), crs


def bench_maxp(session: Session, proposal, band: rebalance.Band, max_units: int) -> None:
    from libpysal.weights import WSP
    from spopt.region import MaxPHeuristic

    table = proposal.communities
    table = table[table["band_allowed"] & (table["grids_after"] >= 2)].sort_values("load")
    picks = table.iloc[np.linspace(0, len(table) - 1, 4).round().astype(int)]["code"].unique()
    print(f"{'community':>13} {'units':>6} {'method':>22} {'s':>8} {'regions':>7} {'in band':>7}")
    for code in picks:
        units, graph, crs = community_units(session, code, band)
        nodes = np.arange(len(units.cells))
        with timed() as took:
            parts = rebalance.bisect(nodes, band.grid_count(units.load.sum()), band, units, graph)
        loads = [units.load[p].sum() for p in parts]
        row = f"{code:>13} {len(nodes):6,}"
        print(
            f"{row} {'gridsvc bisection':>22} {took[0]:8.2f} {len(parts):7} "
            f"{sum(band.holds(v) for v in loads):7}"
        )
        if len(nodes) > max_units:
            print(f"{row} {'spopt MaxPHeuristic':>22} {'skipped':>8} (more than {max_units} units)")
            continue
        frame = gpd.GeoDataFrame({"load": units.load}, geometry=list(units.cells), crs=crs)
        frame["x"], frame["y"] = units.xy[:, 0], units.xy[:, 1]
        weights = WSP(graph).to_W(silence_warnings=True)
        model = MaxPHeuristic(frame, weights, ["x", "y"], "load", band.low, top_n=2)
        with warnings.catch_warnings(), timed() as took:
            warnings.simplefilter("ignore")
            model.solve()
        labels = np.asarray(model.labels_)
        loads = np.bincount(labels[labels >= 0], weights=units.load[labels >= 0])
        loads = loads[loads > 0]
        print(
            f"{row} {'spopt MaxPHeuristic':>22} {took[0]:8.2f} {len(loads):7} "
            f"{sum(band.holds(v) for v in loads):7}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--band", default="300-500")
    parser.add_argument("--maxp-units", type=int, default=1500)
    args = parser.parse_args()
    print_machine("grid rebalancing (issue 16)")
    url = resolve_database_url()
    print(f"database: {database_version(url)} (read only); band {args.band} households")
    engine = create_engine(url)
    started = time.perf_counter()
    with Session(engine) as session:
        session.execute(text("SET TRANSACTION READ ONLY"))
        proposals = bench_city(session, args.band)
        print("\nmax-p (spopt) beside gridsvc's bisection, communities of 东胜区 150602:")
        bench_maxp(session, proposals["150602"], rebalance.Band.parse(args.band), args.maxp_units)
        session.rollback()
    engine.dispose()
    print(
        f"\ntotal {time.perf_counter() - started:.1f} s; peak memory {peak_memory_mib():,.0f} MiB"
    )


if __name__ == "__main__":
    main()
