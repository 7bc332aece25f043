"""The pure rebalancing step on shapes made here, checked with shapely and brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from shapely.geometry import Polygon, box

from gridsvc.grids.rebalance import Band, polsby_popper, propose_community, shares

# An L-shaped community 2 km across (metres): cuts across it must not split a grid in two.
L_SHAPE = Polygon([(0, 0), (2000, 0), (2000, 800), (800, 800), (800, 2000), (0, 2000)])


def scattered(outline: Polygon, count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    points: list[np.ndarray] = []
    west, south, east, north = outline.bounds
    while len(points) < count:
        candidate = rng.uniform((west, south), (east, north))
        if outline.contains(shapely.Point(candidate)):
            points.append(candidate)
    return np.array(points)


@pytest.mark.parametrize(
    ("text", "low", "high"), [("300-500", 300, 500), ("1-2", 1, 2), ("0.5-0.5", 0.5, 0.5)]
)
def test_band_parses(text, low, high) -> None:
    assert Band.parse(text) == Band(low, high)


@pytest.mark.parametrize("text", ["300", "500-300", "-5-3", "a-b", "0-10", ""])
def test_band_refuses_what_is_not_a_band(text) -> None:
    with pytest.raises(ValueError, match="LOW-HIGH|LOW <= HIGH"):
        Band.parse(text)


def test_grid_count_is_the_allowed_count_nearest_the_midpoint() -> None:
    band = Band(300, 500)
    for total in range(1, 5000, 7):
        allowed = [k for k in range(1, 20) if k * 300 <= total <= k * 500]
        assert band.allows(total) == bool(allowed), total
        if allowed:
            count = band.grid_count(total)
            assert count in allowed
            assert abs(total / count - 400) <= min(abs(total / k - 400) for k in allowed)


def test_shares_split_each_grids_total_by_weight() -> None:
    rng = np.random.default_rng(3)
    groups = rng.integers(0, 40, 2000)
    weights = rng.integers(1, 60, 2000)
    totals = rng.integers(0, 900, 40)
    parts = shares(groups, weights, totals)
    for group in range(40):
        mine = groups == group
        assert parts[mine].sum() == pytest.approx(totals[group] if mine.any() else 0)
        if mine.any():
            expected = weights[mine] / weights[mine].sum() * totals[group]
            assert parts[mine] == pytest.approx(expected)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_l_shaped_community_is_cut_into_contiguous_grids_in_band(seed) -> None:
    xy = scattered(L_SHAPE, 1500, seed)
    load = np.random.default_rng(seed).integers(1, 8, len(xy)).astype(float)
    band = Band(300, 500)
    proposed = propose_community(L_SHAPE, xy, load, band)
    grids = proposed.geometries
    assert len(grids) == band.grid_count(load.sum())
    points = shapely.points(xy)
    for index, grid in enumerate(grids):
        assert grid.geom_type == "Polygon" and grid.is_valid
        held = load[shapely.contains(grid, points) | shapely.touches(grid, points)]
        assert held.sum() == load[proposed.point_grid == index].sum()
        assert band.holds(load[proposed.point_grid == index].sum())
    union = shapely.union_all(grids)
    assert shapely.difference(L_SHAPE, union).area < 1e-3
    assert shapely.difference(union, L_SHAPE).area < 1e-3
    overlaps = sum(a.intersection(b).area for i, a in enumerate(grids) for b in grids[i + 1 :])
    assert overlaps < 1e-3


def test_too_small_a_community_stays_one_grid() -> None:
    outline = box(0, 0, 500, 500)
    xy = scattered(outline, 50, 4)
    proposed = propose_community(outline, xy, np.full(50, 2.0), Band(300, 500))
    assert len(proposed.geometries) == 1
    assert proposed.geometries[0].equals(outline)


def test_polsby_popper_of_a_circle_and_a_square() -> None:
    circle = shapely.Point(0, 0).buffer(100, 256)
    square = box(0, 0, 10, 10)
    values = polsby_popper(np.array([circle, square]))
    assert values[0] == pytest.approx(1, abs=1e-3)
    assert values[1] == pytest.approx(math.pi / 4)
