"""The fast coverage paths give the plain computation's answers, grid by grid.

The plain computation is what coverage did before the shortcuts: every grid unions the
buffers of every part within reach and cuts them out, no grid skipped, no part clipped.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from gridsvc.coverage import analysis
from gridsvc.coverage import network as walking
from tests.coverage.factories import small_city

BUFFER = 40.0
# Overlays of the same shapes in another order differ by rounding only: a square
# centimetre per grid is far below anything coverage reports.
GAP_TOLERANCE_M2 = 1e-2


@pytest.fixture(scope="module")
def city() -> analysis.CityInputs:
    return small_city(np.random.default_rng(11))


def plain_gaps(city: analysis.CityInputs, rows: np.ndarray, mode: str, limit: float) -> tuple:
    """Each grid minus the union of every buffer near it: gap and covered area."""
    xy, quad_segs = city.facility_xy[rows], analysis.circle_quad_segs(mode)
    if mode == "euclidean":
        shapes = shapely.buffer(shapely.points(xy), limit, quad_segs=quad_segs)
    else:
        sources = walking.snap(city.network, xy)
        nodes = walking.node_distances(city.network, sources, limit)
        lines = analysis.reach.reach_lines(city.network, nodes, sources, limit)
        shapes = shapely.buffer(lines, BUFFER, quad_segs=quad_segs)
    gaps, covered = [], []
    for grid in city.grids["geometry"]:
        near = shapes[shapely.intersects(shapes, grid)]
        gap = shapely.difference(grid, shapely.union_all(near)) if len(near) else grid
        gaps.append(gap)
        covered.append(grid.area - gap.area)
    return np.array(gaps, dtype=object), np.array(covered)


CASES = [
    ("euclidean", ("library",), 150.0),
    ("euclidean", ("shop_market", "park_square"), 300.0),
    ("euclidean", ("library", "shop_market", "park_square"), 450.0),
    ("network", ("library",), 150.0),
    ("network", ("shop_market", "park_square"), 300.0),
    ("network", ("library", "shop_market", "park_square"), 450.0),
]


@pytest.mark.parametrize(("mode", "types", "limit"), CASES)
def test_fast_gaps_equal_the_plain_computation(
    city: analysis.CityInputs, mode: str, types: tuple[str, ...], limit: float
) -> None:
    rows = city.facilities_of(types)
    table = analysis.compute_coverage(city, rows, mode, limit, BUFFER)
    gaps, covered = plain_gaps(city, rows, mode, limit)
    area = table["area_m2"].to_numpy()
    for g in range(len(table)):
        assert table["covered_area_m2"][g] == pytest.approx(covered[g], abs=1e-9 * area[g])
        difference = shapely.symmetric_difference(table["gap"][g], gaps[g]).area
        assert difference < GAP_TOLERANCE_M2
    for weight in analysis.WEIGHTS:
        ours = analysis.shares(
            table["residents"].to_numpy(),
            table["covered_residents"].to_numpy(),
            area,
            table["covered_area_m2"].to_numpy(),
            weight,
        )
        plain = analysis.shares(
            table["residents"].to_numpy(),
            table["covered_residents"].to_numpy(),
            area,
            covered,
            weight,
        )
        np.testing.assert_allclose(ours, plain, rtol=0, atol=1e-9)


def test_the_cases_reach_whole_grids_and_clipped_circles(city: analysis.CityInputs) -> None:
    """The shortcuts are exercised: a grid lies inside one circle, circles larger are cut."""
    rows = city.facilities_of(("shop_market", "park_square"))
    circles = shapely.buffer(shapely.points(city.facility_xy[rows]), 300.0, quad_segs=16)
    grids = city.grids["geometry"].to_numpy()
    inside = shapely.contains_properly(circles[:, None], grids[None, :]).any(axis=0)
    partly = shapely.intersects(circles[:, None], grids[None, :]).any(axis=0) & ~inside
    assert inside.any() and partly.any()
    assert shapely.area(shapely.envelope(circles)).min() > 4 * shapely.area(grids).max()


def test_the_cases_reach_grids_whose_every_edge_is_reached(city: analysis.CityInputs) -> None:
    """Network: some grid has every nearby edge reached whole (its gap is shared)."""
    rows = city.facilities_of(("library", "shop_market", "park_square"))
    sources = walking.snap(city.network, city.facility_xy[rows])
    nodes = walking.node_distances(city.network, sources, 450.0)
    grids = city.grids["geometry"].to_numpy()
    reached = nodes[city.network.source] + city.network.length <= 450.0
    near = shapely.dwithin(city.network.lines[:, None], grids[None, :], BUFFER)
    assert (near & ~reached[:, None]).sum(axis=0).min() == 0
