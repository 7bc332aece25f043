"""Walking reach against networkx Dijkstra on the same graph, snapped points inserted."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from gridsvc.coverage import network as walking
from gridsvc.coverage import reach
from tests.coverage.factories import lattice_network, nx_distances, split_graph


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(11)


def test_snapping_lands_on_the_edge_not_the_node() -> None:
    lines = np.array(
        [shapely.LineString([(0, 0), (400, 0)]), shapely.LineString([(400, 0), (400, 300)])]
    )
    net = walking.build_network(np.array([7, 8, 9]), [7, 8], [8, 9], [400.0, 300.0], lines)
    snapped = walking.snap(net, np.array([[150.0, 30.0], [390.0, 200.0]]))
    assert snapped.edge.tolist() == [0, 1]
    assert snapped.fraction[0] == pytest.approx(150 / 400)
    assert snapped.offset[0] == pytest.approx(30.0)
    assert snapped.fraction[1] == pytest.approx(200 / 300)
    assert snapped.offset[1] == pytest.approx(10.0)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_point_distances_equal_networkx_dijkstra(seed: int) -> None:
    rng = np.random.default_rng(seed)
    net = lattice_network(rng)
    sources = walking.snap(net, rng.uniform(-50, 750, (5, 2)))
    points = walking.snap(net, rng.uniform(-50, 750, (400, 2)))
    limit = 2000.0
    nodes = walking.node_distances(net, sources, limit)
    ours = walking.point_distances(net, nodes, points, sources)
    expected = nx_distances(net, sources, points)
    np.testing.assert_allclose(ours, expected, atol=1e-3)


def test_points_on_a_source_edge_walk_along_it(rng: np.random.Generator) -> None:
    net = lattice_network(rng)
    sources = walking.snap(net, np.array([[250.0, 100.0]]))
    edge_line = net.lines[sources.edge[0]]
    near = shapely.get_coordinates(
        shapely.line_interpolate_point(edge_line, [0.1, 0.9], normalized=True)
    )
    points = walking.snap(net, near)
    nodes = walking.node_distances(net, sources, 5000)
    ours = walking.point_distances(net, nodes, points, sources)
    np.testing.assert_allclose(ours, nx_distances(net, sources, points), atol=1e-3)


def test_many_sources_and_points_on_the_same_edges_equal_networkx(
    rng: np.random.Generator,
) -> None:
    """Dozens of sources and points share a few edges (a dense centre), some at the very same
    place: each point's walk along its own edge is the nearest source's, as networkx and
    every pair measured directly say."""
    net = lattice_network(rng)
    lines = net.lines[[3, 4, 9]]
    where = rng.choice(3, 300), np.round(rng.uniform(0, 1, 300), 2)  # ties on purpose
    along = shapely.line_interpolate_point(lines[where[0]], where[1], normalized=True)
    xy = shapely.get_coordinates(along) + rng.normal(0, 3, (300, 2))
    sources, points = walking.snap(net, xy[:60]), walking.snap(net, xy[60:])
    nodes = walking.node_distances(net, sources, 5000)
    ours = walking.point_distances(net, nodes, points, sources)
    np.testing.assert_allclose(ours, nx_distances(net, sources, points), atol=1e-3)
    same = points.edge[:, None] == sources.edge[None, :]
    pairs = np.abs(points.fraction[:, None] - sources.fraction[None, :])
    direct = np.where(same, sources.offset + pairs * net.length[points.edge][:, None], np.inf)
    np.testing.assert_allclose(
        walking._same_edge(points, sources, net.length), direct.min(axis=1), atol=1e-9
    )
    assert np.isfinite(direct.min(axis=1)).sum() > 200  # most points share a source's edge


def test_each_source_rows_equal_networkx(rng: np.random.Generator) -> None:
    net = lattice_network(rng)
    sources = walking.snap(net, rng.uniform(0, 700, (7, 2)))
    points = walking.snap(net, rng.uniform(0, 700, (200, 2)))
    for indices, distances in walking.each_source_distances(net, sources, 3000, chunk=3):
        rows = walking.source_point_distances(net, distances, indices, sources, points)
        for row, source in zip(rows, indices, strict=True):
            expected = nx_distances(net, sources.take(np.array([source])), points)
            np.testing.assert_allclose(row, expected, atol=1e-3)


def reached_length_by_sampling(net, sources, limit: float, step: float = 0.5) -> float:
    """Total length of network within ``limit``, from networkx distances at dense samples."""
    graph, names = split_graph(net, {"source": sources})
    import networkx as nx

    dist = nx.multi_source_dijkstra_path_length(graph, set(names["source"]), weight="weight")
    feet = {}
    for i in range(len(sources)):
        feet.setdefault(int(sources.edge[i]), []).append(
            (float(sources.fraction[i]), dist[("source", i, "foot")])
        )
    total = 0.0
    for edge in range(len(net.length)):
        length = net.length[edge]
        x = np.arange(step / 2, length, step)
        du = dist.get(int(net.source[edge]), np.inf)
        dv = dist.get(int(net.target[edge]), np.inf)
        best = np.minimum(du + x, dv + length - x)
        for fraction, foot in feet.get(edge, []):
            best = np.minimum(best, foot + np.abs(x - fraction * length))
        total += (best <= limit).sum() * step
    return total


@pytest.mark.parametrize("limit", [150.0, 300.0, 500.0])
def test_reach_lines_cut_edges_where_distance_runs_out(
    rng: np.random.Generator, limit: float
) -> None:
    net = lattice_network(rng)
    sources = walking.snap(net, rng.uniform(0, 700, (3, 2)))
    nodes = walking.node_distances(net, sources, limit)
    lines = reach.reach_lines(net, nodes, sources, limit)
    ours = shapely.union_all(lines).length
    assert ours == pytest.approx(reached_length_by_sampling(net, sources, limit), abs=2.0)


@pytest.mark.parametrize("block_m", [reach.BLOCK_M, 120.0])
def test_service_areas_are_the_single_source_reach_buffered(
    rng: np.random.Generator, block_m: float
) -> None:
    """Squares of edges reached whole are unioned once and shared; the areas are unchanged."""
    net = lattice_network(rng)
    sources = walking.snap(net, rng.uniform(0, 700, (4, 2)))
    polygons = reach.service_area_polygons(net, sources, 300.0, 25.0, chunk=3, block_m=block_m)
    assert net.memo[("edge_blocks", 25.0, block_m)].done.any()  # some square taken whole
    for i, polygon in enumerate(polygons):
        one = sources.take(np.array([i]))
        lines = reach.reach_lines(net, walking.node_distances(net, one, 300.0), one, 300.0)
        expected = shapely.buffer(shapely.union_all(lines), 25.0, quad_segs=4)
        assert polygon.symmetric_difference(expected).area < 1e-6 * expected.area + 1.0
        assert shapely.union_all(lines).length == pytest.approx(
            reached_length_by_sampling(net, one, 300.0), abs=2.0
        )


def test_reached_points_equal_thresholded_distances(rng: np.random.Generator) -> None:
    net = lattice_network(rng)
    sources = walking.snap(net, rng.uniform(0, 700, (9, 2)))
    points = walking.snap(net, rng.uniform(0, 700, (500, 2)))
    limit = 260.0
    for indices, distances in walking.each_source_distances(net, sources, limit, chunk=4):
        dense = walking.source_point_distances(net, distances, indices, sources, points) <= limit
        rows, cols = walking.reached_points(net, distances, indices, sources, points, limit)
        expected = {(int(indices[r]), int(c)) for r, c in zip(*np.nonzero(dense), strict=True)}
        assert set(zip(rows.tolist(), cols.tolist(), strict=True)) == expected
        assert len(expected) > 0
