"""Coverage per grid against brute force (residents) and dense sampling (area)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from gridsvc.coverage import analysis
from gridsvc.coverage import network as walking
from tests.coverage.factories import nx_distances, small_city

LIMIT = 200.0
BUFFER = 40.0


@pytest.fixture(scope="module")
def city() -> analysis.CityInputs:
    return small_city(np.random.default_rng(5))


def sample_grid(polygon, step: float) -> np.ndarray:
    """A regular lattice of points ``step`` apart inside the polygon (centred in its cells)."""
    west, south, east, north = polygon.bounds
    x, y = np.meshgrid(
        np.arange(west + step / 2, east, step), np.arange(south + step / 2, north, step)
    )
    xy = np.column_stack([x.ravel(), y.ravel()])
    return xy[shapely.contains_xy(polygon, xy[:, 0], xy[:, 1])]


def brute_covered(city: analysis.CityInputs, rows: np.ndarray, mode: str) -> np.ndarray:
    xy = city.facility_xy[rows]
    if mode == "euclidean":
        gaps = np.linalg.norm(city.resident_xy[:, None, :] - xy[None, :, :], axis=2)
        return gaps.min(axis=1) <= LIMIT
    sources = walking.snap(city.network, xy)
    points = walking.snap(city.network, city.resident_xy)
    return nx_distances(city.network, sources, points) <= LIMIT


@pytest.mark.parametrize("mode", ["euclidean", "network"])
def test_covered_residents_equal_brute_force(city: analysis.CityInputs, mode: str) -> None:
    rows = city.facilities_of(("library", "park_square"))
    table = analysis.compute_coverage(city, rows, mode, LIMIT, BUFFER)
    covered = brute_covered(city, rows, mode)
    for g in range(len(table)):
        mine = city.resident_grid == g
        assert table["residents"][g] == city.resident_persons[mine].sum()
        assert table["covered_residents"][g] == city.resident_persons[mine & covered].sum()
    assert 0 < table["covered_residents"].sum() < table["residents"].sum()


def test_euclidean_area_coverage_matches_dense_sampling(city: analysis.CityInputs) -> None:
    rows = city.facilities_of(("shop_market",))
    table = analysis.compute_coverage(city, rows, "euclidean", LIMIT, BUFFER)
    facilities = city.facility_xy[rows]
    for g, polygon in enumerate(city.grids["geometry"]):
        xy = sample_grid(polygon, 1.0)
        near = np.linalg.norm(xy[:, None, :] - facilities[None], axis=2).min(axis=1) <= LIMIT
        ours = table["covered_area_m2"][g] / table["area_m2"][g]
        assert ours == pytest.approx(near.mean(), abs=0.005)
        gap = table["gap"][g]
        inside_gap = shapely.contains_xy(gap, xy[:, 0], xy[:, 1])
        assert np.mean(inside_gap != ~near) < 0.005


def test_network_area_coverage_matches_dense_sampling(city: analysis.CityInputs) -> None:
    rows = city.facilities_of(("library", "shop_market"))
    table = analysis.compute_coverage(city, rows, "network", LIMIT, BUFFER)
    sources = walking.snap(city.network, city.facility_xy[rows])
    # Independent reach: sample the network densely, keep samples networkx says are reached.
    samples = []
    for edge, line in enumerate(city.network.lines):
        fractions = np.linspace(0, 1, int(5 * city.network.length[edge]) + 1)
        samples.append(
            shapely.get_coordinates(
                shapely.line_interpolate_point(line, fractions, normalized=True)
            )
        )
    samples = np.concatenate(samples)
    on_network = walking.snap(city.network, samples)
    on_network.offset[:] = 0.0
    reached = samples[nx_distances(city.network, sources, on_network) <= LIMIT]
    reached_tree = shapely.STRtree(shapely.points(reached))
    for g, polygon in enumerate(city.grids["geometry"]):
        xy = sample_grid(polygon, 1.5)
        _, nearest = reached_tree.query_nearest(
            shapely.points(xy), return_distance=True, all_matches=False
        )
        estimate = np.mean(nearest <= BUFFER)
        ours = table["covered_area_m2"][g] / table["area_m2"][g]
        # Samples 0.2 m apart on the network: the estimate's own error is about 0.1 pp.
        assert ours == pytest.approx(estimate, abs=0.005)


def test_roll_ups_sum_the_grids(city: analysis.CityInputs) -> None:
    rows = city.facilities_of(("park_square",))
    table = analysis.compute_coverage(city, rows, "euclidean", LIMIT, BUFFER)
    communities = analysis.roll_up(table, "community", "population")
    assert communities["code"].tolist() == ["150699001001", "150699001002"]
    assert communities["residents"].sum() == table["residents"].sum()
    whole = analysis.roll_up(table, "city", "population").iloc[0]
    assert whole["coverage"] == pytest.approx(
        table["covered_residents"].sum() / table["residents"].sum()
    )
    area = analysis.roll_up(table, "city", "area").iloc[0]
    assert area["coverage"] == pytest.approx(
        table["covered_area_m2"].sum() / table["area_m2"].sum()
    )


def test_a_grid_without_residents_is_weighed_by_area() -> None:
    share = analysis.shares(
        np.array([0, 10]),
        np.array([0, 5]),
        np.array([100.0, 100.0]),
        np.array([30.0, 90.0]),
        "population",
    )
    assert share.tolist() == [0.3, 0.5]
