"""Coverage on the demo city: full recompute, shortest-path libraries, what-if, siting vs spopt.

Prints, side by side in one run:
- the full recompute of every circle in both modes with every facility's service areas
  (6,702 grids, 8,070 facilities, the walking network, 2.2 million residents);
- the reach itself by scipy.sparse.csgraph (what gridsvc uses), pgRouting and networkx;
- what-if latency (cold: the city read from PostGIS first; warm: from memory);
- siting on about 6,700 demand points x 3,000 candidates: lazy greedy and the exact MILP
  (PuLP/CBC) of gridsvc, against spopt's MCLP on the same instance.

Run: .venv/bin/python bench/bench_coverage.py [--what-if [--old /work/main]]
(``--what-if``: only the what-if, by bench/bench_what_if.py, on copies of the demo database.)
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import networkx as nx
import numpy as np
from scipy.spatial import cKDTree
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from bench.common import (
    bench_database_url,
    database_version,
    ensure_demo_city,
    peak_memory_mib,
    print_machine,
    timed,
)
from gridsvc.coverage import analysis, cache, planning, refresh, siting
from gridsvc.coverage import network as walking
from gridsvc.coverage.circles import load_circles

REACH_M = 1000.0


def city_loaded(session: Session) -> bool:
    return bool(session.scalar(text("SELECT count(*) FROM grids WHERE valid_to IS NULL")))


def bench_full_recompute(session: Session) -> analysis.CityInputs:
    with timed() as load:
        inputs = refresh.load_inputs(session)
    with timed() as snap:
        _ = inputs.resident_snaps
    print(
        f"city: {len(inputs.grids):,} grids, {int(inputs.resident_persons.sum()):,} residents at "
        f"{len(inputs.resident_xy):,} places, {len(inputs.facility_ids):,} facilities, "
        f"{inputs.network.node_count:,} nodes / {len(inputs.network.length):,} edges"
    )
    print(f"read city from PostGIS: {load[0]:.2f} s; snap residents onto edges: {snap[0]:.2f} s")
    with timed() as full:
        summary = refresh.refresh(session, progress=False)
    session.commit()
    circles = len(load_circles())
    print(
        f"FULL RECOMPUTE (every circle x 2 modes, {summary['service_areas']:,} service areas, "
        f"gaps, stored): {full[0]:.1f} s"
    )
    print(f"  = {circles * 2} coverage tables of {len(inputs.grids):,} grids each")
    return inputs


def nx_graph(net: walking.WalkingNetwork) -> nx.Graph:
    graph = nx.Graph()
    for a, b, length in zip(net.source, net.target, net.length, strict=True):
        graph.add_edge(int(a), int(b), weight=float(length))
    return graph


def pg_driving_distance(url: str, node_ids: np.ndarray, limit: float, equicost: bool) -> float:
    engine = create_engine(url)
    sql = text(
        "SELECT count(*) FROM pgr_drivingDistance('SELECT id, source, target, length_m AS cost, "
        "length_m AS reverse_cost FROM network_edges', CAST(:starts AS bigint[]), :limit, "
        "directed => false, equicost => :equicost)"
    )
    with engine.connect() as connection, timed() as took:
        connection.execute(
            sql, {"starts": [int(i) for i in node_ids], "limit": limit, "equicost": equicost}
        ).scalar()
    engine.dispose()
    return took[0]


def bench_reach(url: str, inputs: analysis.CityInputs) -> None:
    net = inputs.network
    circles = load_circles()
    types = sorted({t for c in circles.values() for t in c.facility_types})
    rows = inputs.facilities_of(tuple(types))
    sources = walking.snap(net, inputs.facility_xy[rows])
    # pgRouting and networkx start at nodes: the nearer end of each facility's edge.
    start = np.where(sources.fraction < 0.5, net.source[sources.edge], net.target[sources.edge])
    print(f"-- reach of {len(rows):,} facilities, {REACH_M:g} m (every circle's types)")
    with timed() as scipy_multi:
        walking.node_distances(net, sources, REACH_M)
    with timed() as scipy_each:
        for _ in walking.each_source_distances(net, sources, REACH_M):
            pass
    graph = nx_graph(net)
    with timed() as nx_multi:
        nx.multi_source_dijkstra_path_length(graph, set(start.tolist()), cutoff=REACH_M)
    with timed() as nx_each:
        for node in start:
            nx.single_source_dijkstra_path_length(graph, int(node), cutoff=REACH_M)
    ids = net.node_ids[start]
    pg_multi = pg_driving_distance(url, ids, REACH_M, True)
    pg_each = pg_driving_distance(url, ids, REACH_M, False)
    print(f"{'':<44}{'nearest source':>16}{'each source':>14}")
    for name, multi, each in (
        ("scipy.sparse.csgraph.dijkstra (mid-edge)", scipy_multi[0], scipy_each[0]),
        ("pgRouting pgr_drivingDistance (nodes)", pg_multi, pg_each),
        ("networkx Dijkstra (nodes)", nx_multi[0], nx_each[0]),
    ):
        print(f"{name:<44}{multi:>14.3f} s{each:>12.2f} s")


def bench_what_if(session: Session) -> None:
    circle = load_circles()["culture_5min"]
    cache.clear()
    change = planning.Change(
        add=[("library", planning.Place(109.985, 39.82))],
        move=[],
        remove=[],
    )
    print("-- what-if (culture_5min, one library added, whole city)")
    for mode in analysis.MODES:
        with timed() as cold:
            planning.what_if(session, circle, mode, "population", None, change)
        warm = []
        for _ in range(5):
            with timed() as took:
                answer = planning.what_if(session, circle, mode, "population", None, change)
            warm.append(took[0])
        print(
            f"{mode:<10} cold (read city + snap): {cold[0]:.2f} s; warm median "
            f"{statistics.median(warm) * 1000:.0f} ms; +{answer['residents_gained']} residents"
        )


def bench_site_api(session: Session) -> None:
    """Siting as the API runs it: every uncovered resident, gap nodes, whole city."""
    circle = load_circles()["culture_5min"]
    print("-- siting as POST /coverage/siting runs it (culture_5min, whole city, k=10)")
    for mode in analysis.MODES:
        answer = planning.site(session, circle, mode, None, planning.SitingAsk(k=10))
        print(
            f"{mode:<10} {answer['seconds']:.2f} s: {answer['candidates']:,} gap nodes, "
            f"{answer['uncovered_before']:,} uncovered residents, +{answer['residents_gained']:,}"
            f" by {answer['method']} (lazy greedy {answer.get('greedy_objective', 0):,.0f}, "
            f"timings {answer['timings_s']})"
        )


def siting_instance(inputs: analysis.CityInputs, limit: float) -> tuple:
    """Demand: every grid with residents, weighted by its uncovered residents; 3,000 gap nodes.

    A grid's demand point is the centre of its uncovered residents (of all its residents
    when every one is covered: weight 0, which no objective counts, kept so that the
    instance is the city's, as the issue sizes it).
    """
    circle = load_circles()["culture_5min"]
    rows = inputs.facilities_of(circle.facility_types)
    distance = analysis.resident_distances(inputs, inputs.facility_xy[rows], "euclidean", limit)
    placed = inputs.resident_grid >= 0
    uncovered = (distance > limit) & placed
    count = len(inputs.grids)

    def centres(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        grid, persons = inputs.resident_grid[mask], inputs.resident_persons[mask].astype(float)
        weight = np.bincount(grid, persons, minlength=count)
        x = np.bincount(grid, persons * inputs.resident_xy[mask, 0], minlength=count)
        y = np.bincount(grid, persons * inputs.resident_xy[mask, 1], minlength=count)
        with np.errstate(invalid="ignore", divide="ignore"):
            return weight, np.column_stack([x / weight, y / weight])

    residents, everyone = centres(placed)
    weight, gap_centre = centres(uncovered)
    keep = residents > 0
    demand_xy = np.where((weight > 0)[:, None], gap_centre, everyone)[keep]
    ask = planning.SitingAsk(k=10, max_candidates=3000)
    candidates, _, _ = planning._candidates(inputs, ask, np.flatnonzero(uncovered))
    return demand_xy, weight[keep], candidates


def bench_siting(inputs: analysis.CityInputs) -> None:
    import pulp
    from scipy.sparse import csr_matrix
    from spopt.locate import MCLP

    limit, k = 300.0, 10
    demand_xy, weights, candidates = siting_instance(inputs, limit)
    lists = cKDTree(demand_xy).query_ball_point(candidates, limit)
    rows = np.repeat(np.arange(len(lists)), [len(x) for x in lists])
    cols = np.concatenate([np.asarray(x, dtype=np.int64) for x in lists])
    cover = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(candidates), len(weights)))
    print(
        f"-- siting: {len(weights):,} demand points (every grid with residents, "
        f"{int((weights > 0).sum()):,} with {int(weights.sum()):,} uncovered residents) x "
        f"{len(candidates):,} candidates, {limit:g} m, k={k}"
    )
    with timed() as greedy_time:
        greedy = siting.lazy_greedy(weights, cover, k)
    with timed() as exact_time:
        exact = siting.exact(weights, cover, k)
    cost = np.linalg.norm(demand_xy[:, None, :] - candidates[None, :, :], axis=2)
    with timed() as spopt_time:
        model = MCLP.from_cost_matrix(cost, weights, limit, p_facilities=k, name="bench")
        model.solve(pulp.PULP_CBC_CMD(msg=False))
    chosen = [j for j, variable in enumerate(model.fac_vars) if variable.value() > 0.5]
    spopt_objective = siting.covered_weight(weights, cover, chosen)
    for name, seconds, objective in (
        ("gridsvc lazy greedy", greedy_time[0], greedy.objective),
        ("gridsvc exact MILP (CBC, reduced)", exact_time[0], exact.objective),
        ("spopt MCLP (CBC)", spopt_time[0], spopt_objective),
    ):
        gap = 100 * (exact.objective - objective) / exact.objective if exact.objective else 0
        print(f"{name:<36}{seconds:>9.2f} s  {objective:>10,.0f} residents  gap {gap:.3f} %")


def main() -> None:
    print_machine("coverage")
    url = bench_database_url()
    print(database_version(url))
    engine = create_engine(url)
    with Session(engine) as session:
        if not city_loaded(session):
            session.close()
            ensure_demo_city(url)
    with Session(engine) as session:
        inputs = bench_full_recompute(session)
        bench_reach(url, inputs)
        bench_what_if(session)
        bench_site_api(session)
        bench_siting(inputs)
    print(f"peak memory: {peak_memory_mib():,.0f} MiB")
    engine.dispose()


if __name__ == "__main__":
    started = time.perf_counter()
    if "--what-if" in sys.argv:  # only the what-if, old tree beside this one
        from bench import bench_what_if

        sys.argv.remove("--what-if")
        bench_what_if.main()
    else:
        main()
    print(f"bench total: {time.perf_counter() - started:.0f} s")
