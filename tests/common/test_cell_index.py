"""The cell index against brute force: every point against every polygon with shapely covers."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, box

from gridsvc.common import points as points_module
from gridsvc.common.cell_index import CellIndex
from gridsvc.common.points import containing_index, containing_index_xy
from gridsvc.geodata.demo.build import build_demo_city

UTM = 32649


def brute_force(polygons: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """The lowest index of the polygons covering each point, -1 for none (no index at all)."""
    points = shapely.points(xy)
    result = np.full(len(xy), -1, dtype=np.int64)
    for index in range(len(polygons) - 1, -1, -1):
        result[shapely.covers(polygons[index], points)] = index
    return result


def probe_points(polygons: np.ndarray, count: int, seed: int) -> np.ndarray:
    """Vertices (shared by neighbours), points on edges, random points in and around."""
    rng = np.random.default_rng(seed)
    vertices = shapely.get_coordinates(polygons)
    vertices = vertices[rng.choice(len(vertices), size=min(count, len(vertices)), replace=False)]
    following = shapely.get_coordinates(polygons)
    pick = rng.choice(len(following) - 1, size=count)
    share = rng.uniform(0, 1, size=(count, 1))
    on_edges = following[pick] + share * (following[pick + 1] - following[pick])
    xmin, ymin, xmax, ymax = shapely.total_bounds(polygons)
    margin = 0.05 * max(xmax - xmin, ymax - ymin)
    around = rng.uniform([xmin - margin, ymin - margin], [xmax + margin, ymax + margin], (count, 2))
    corners = np.array([[xmin, ymin], [xmax, ymax], [xmin, ymax], [xmax, ymin]])
    return np.vstack([vertices, on_edges, around, corners])


@pytest.fixture(scope="module")
def demo_grids() -> np.ndarray:
    """The grids of a small demo city in code order (EPSG:4326, as stored)."""
    city = build_demo_city(seed=11, grids=400)
    return city.grids.sort_values("code").geometry.to_numpy()


@pytest.mark.parametrize("crs", [4326, UTM])
def test_demo_grids_equal_brute_force(demo_grids: np.ndarray, crs: int) -> None:
    import geopandas as gpd

    polygons = gpd.GeoSeries(demo_grids, crs=4326).to_crs(crs).to_numpy()
    xy = probe_points(polygons, 6_000, seed=crs)
    index = CellIndex.build(polygons)
    found = index.locate(xy[:, 0], xy[:, 1])
    expected = brute_force(polygons, xy)
    assert (found == expected).all()
    # Shared vertices really are shared: many of them lie on two grids or more.
    on_two = sum(shapely.covers(polygons, Point(p)).sum() >= 2 for p in xy[:300])
    assert on_two > 100
    assert index.figures()["fine_cells"] > 0 and (expected == -1).any()


def lattice(side: int, cell: float = 1.0) -> np.ndarray:
    """``side`` × ``side`` squares of ``cell``: edges and vertices exactly representable."""
    return np.array(
        [box(i * cell, j * cell, (i + 1) * cell, (j + 1) * cell)
         for j in range(side) for i in range(side)],
        dtype=object,
    )  # fmt: skip


def lattice_probes(side: int, cell: float, seed: int) -> np.ndarray:
    """Every vertex, every edge midpoint, and random points of a lattice (and beyond it)."""
    steps = np.arange(0, 2 * side + 1) * cell / 2
    gx, gy = np.meshgrid(steps, steps)
    rng = np.random.default_rng(seed)
    loose = rng.uniform(-cell, (side + 1) * cell, size=(5_000, 2))
    return np.vstack([np.column_stack([gx.ravel(), gy.ravel()]), loose])


@pytest.mark.parametrize("side", [7, 64])
def test_lattice_edges_on_cell_sides(side: int) -> None:
    # 64 × 64 unit squares give coarse cells of half a unit: every edge on a cell side.
    polygons = lattice(side)
    xy = lattice_probes(side, 1.0, seed=side)
    found = CellIndex.build(polygons).locate(xy[:, 0], xy[:, 1])
    assert (found == brute_force(polygons, xy)).all()


def odd_shapes() -> np.ndarray:
    """Holes with enclaves, multipolygons, overlaps, nesting, slivers, a triangle, empties."""
    ring = Polygon([(0, 0), (10, 0), (10, 10), (0, 10)], [[(3, 3), (7, 3), (7, 7), (3, 7)]])
    enclave = box(3, 3, 7, 7)
    islands = MultiPolygon([box(12, 0, 13, 1), box(14, 0, 15, 1), box(12, 2, 15, 3)])
    big_disc = Point(20, 5).buffer(4)
    small_disc = Point(22, 5).buffer(3)  # overlaps the big disc
    nested = box(19, 4, 20, 5)  # inside the big disc, after it
    sliver = Polygon([(0, 10), (10, 10), (10, 10.000001)])
    triangle = Polygon([(11, 5), (16, 9), (12, 12)])
    return np.array(
        [ring, enclave, islands, big_disc, small_disc, nested, sliver, triangle,
         Polygon(), None],
        dtype=object,
    )  # fmt: skip


def test_odd_shapes_and_overlaps() -> None:
    polygons = odd_shapes()
    rng = np.random.default_rng(5)
    xy = np.vstack(
        [
            shapely.get_coordinates(polygons),
            rng.uniform([-1, -1], [27, 13], size=(20_000, 2)),
            [[5, 5], [3, 3], [20, 5], [19.5, 4.5], [5, 10]],
        ]
    )
    found = CellIndex.build(polygons).locate(xy[:, 0], xy[:, 1])
    expected = brute_force(polygons, xy)
    assert (found == expected).all()
    # The overlap answers the lower index; the enclave takes its hole's points.
    assert list(found[-5:]) == [1, 0, 3, 3, 0]


def test_points_with_no_position_and_no_polygons() -> None:
    polygons = lattice(3)
    nan = np.array([[np.nan, 1.0], [1.0, np.nan], [np.inf, 0.5]])
    assert (CellIndex.build(polygons).locate(nan[:, 0], nan[:, 1]) == -1).all()
    nothing = CellIndex.build(np.array([None, Polygon()], dtype=object))
    assert (nothing.locate(np.array([0.0, 1.0]), np.array([0.0, 1.0])) == -1).all()
    assert (containing_index(polygons, np.array([None, Point()], dtype=object)) == -1).all()


def test_only_polygons() -> None:
    with pytest.raises(ValueError, match="Polygons and MultiPolygons"):
        CellIndex.build(np.array([box(0, 0, 1, 1), Point(0, 0)], dtype=object))


def test_survives_pickling(demo_grids: np.ndarray) -> None:
    # A Dask worker receives the index pickled, without its prepared polygons.
    index = CellIndex.build(demo_grids)
    xy = probe_points(demo_grids, 2_000, seed=3)
    copy = pickle.loads(pickle.dumps(index))
    assert (copy.locate(xy[:, 0], xy[:, 1]) == index.locate(xy[:, 0], xy[:, 1])).all()


def test_containing_index_tree_and_cells_agree(
    demo_grids: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    xy = probe_points(demo_grids, 3_000, seed=9)
    expected = brute_force(demo_grids, xy)
    monkeypatch.setattr(points_module, "INDEX_POINTS_PER_POLYGON", 10**9)  # the STRtree
    by_tree = containing_index(demo_grids, shapely.points(xy), nearest=True)
    monkeypatch.setattr(points_module, "INDEX_POINTS_PER_POLYGON", 0)  # the cell index
    by_cells = containing_index(demo_grids, shapely.points(xy), nearest=True)
    kept = containing_index_xy(demo_grids, xy, index=CellIndex.build(demo_grids))
    inside = expected >= 0
    assert (by_tree[inside] == expected[inside]).all() and (kept == expected).all()
    assert (by_cells == by_tree).all()
    # Outside every grid, ``nearest`` gives the nearest grid.
    strays = np.flatnonzero(~inside)[:200]
    distances = shapely.distance(demo_grids[by_cells[strays]], shapely.points(xy[strays]))
    closest = np.array([shapely.distance(demo_grids, Point(p)).min() for p in xy[strays]])
    assert np.allclose(distances, closest)
