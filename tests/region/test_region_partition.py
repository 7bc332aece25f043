"""The pure partition functions and the commands' help and errors."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod
from typer.testing import CliRunner

from gridsvc.cli import app
from gridsvc.coverage.circles import load_circles
from gridsvc.geodata.demo.build import build_demo_city
from gridsvc.region import coverage, layout, partition
from gridsvc.region.synthetic import city_offset, demo_layers


@pytest.fixture(scope="module")
def tiny_layers() -> tuple[layout.CityLayers, str]:
    return demo_layers(build_demo_city(seed=3, grids=20), city_offset(5))


def test_layers_round_trip_through_the_coverage_inputs(tiny_layers, tmp_path: Path) -> None:
    layers, crs = tiny_layers
    layout.write_city(tmp_path, "x", layers)
    inputs = partition.layers_to_inputs(layout.read_city(tmp_path, "x"))
    again = partition.layers_to_inputs(partition.inputs_to_layers(inputs, crs))
    assert np.array_equal(inputs.resident_xy, again.resident_xy)
    assert np.array_equal(inputs.resident_grid, again.resident_grid)
    assert np.array_equal(inputs.facility_xy, again.facility_xy)
    assert np.array_equal(inputs.network.node_ids, again.network.node_ids)
    assert np.array_equal(inputs.network.length, again.network.length)
    assert shapely.equals_exact(inputs.network.lines, again.network.lines, 0).all()
    # Every resident is in a grid, as the builder made them, checked by shapely directly.
    grids = layers.grids.geometry.to_numpy()
    points = layers.population.geometry.to_numpy()
    assert shapely.intersects(grids[inputs.resident_grid], points).all()


def test_a_moved_city_is_in_its_own_utm_zone_with_lengths_measured_there(tiny_layers) -> None:
    layers, crs = tiny_layers
    lon, _ = city_offset(5)
    assert crs == "EPSG:32650" and lon == 5.5  # Ordos' 49N moved one zone east
    network = layers.network
    assert np.allclose(network["length_m"], shapely.length(network.geometry.to_numpy()))
    assert (layers.grids["district_code"] == layers.grids["code"].str[:6]).all()


def test_a_moved_city_keeps_its_size_on_the_ground() -> None:
    """Moved to 50°N (city 12), grids and walks measure what they did at Ordos, on the
    ellipsoid (pyproj's geodesic, not the projections the move used)."""
    city = build_demo_city(seed=3, grids=20)
    here, _ = demo_layers(city, (0.0, 0.0))
    there, _ = demo_layers(city, city_offset(12))
    geod = Geod(ellps="WGS84")

    def ground(frame: gpd.GeoDataFrame, measure) -> np.ndarray:
        return np.array([abs(measure(shape)[0]) for shape in frame.to_crs(4326).geometry])

    areas = [ground(f.grids, geod.geometry_area_perimeter) for f in (here, there)]
    lengths = [ground(f.network, lambda g: (geod.geometry_length(g),)) for f in (here, there)]
    assert np.allclose(areas[1], areas[0], rtol=2e-3)
    assert np.allclose(lengths[1], lengths[0], rtol=2e-3, atol=0.05)
    centre = there.grids.to_crs(4326).union_all().centroid
    assert 49 < centre.y < 52


def test_city_coverage_has_every_grid_circle_and_mode(tiny_layers) -> None:
    layers, crs = tiny_layers
    inputs = partition.layers_to_inputs(layers)
    circles = list(load_circles().values())[:2]
    result = partition.city_coverage(inputs, circles, 50.0, crs)
    assert len(result) == len(layers.grids) * 2 * 2
    assert (result["covered_residents"] <= result["residents"]).all()
    people = result["residents"] > 0
    share = result["covered_residents"][people] / result["residents"][people]
    assert np.allclose(result["coverage"][people], share)
    gaps = result.dropna(subset=["geometry"])
    grids = layers.grids.set_index("code").geometry
    inside = shapely.within(
        gaps.geometry.to_numpy(), shapely.buffer(grids.loc[gaps["grid_code"]].to_numpy(), 1e-6)
    )
    assert inside.all()


def test_located_points_equal_brute_force_across_two_cities(tiny_layers) -> None:
    # The tiny city's grids dealt to two cities that meet along many shared edges.
    grids = tiny_layers[0].grids.to_crs(4326)
    halves = {"c00": grids.iloc[1::2], "c01": grids.iloc[::2]}
    cities = [partition.city_grids(code, half) for code, half in halves.items()]
    vertices = shapely.get_coordinates(grids.geometry.to_numpy())
    rng = np.random.default_rng(2)
    xmin, ymin, xmax, ymax = grids.total_bounds
    xy = np.vstack(
        [vertices[::7], rng.uniform([xmin - 0.01, ymin - 0.01], [xmax, ymax], (3000, 2))]
    )
    points = gpd.GeoDataFrame(
        {"point_id": np.arange(len(xy)) + 100}, geometry=shapely.points(xy), crs=4326
    )
    located = partition.locate_points(points, cities).set_index("point_id")
    expected = {}
    for code, half in sorted(halves.items(), reverse=True):
        for grid, district, polygon in zip(
            half["code"], half["district_code"], half.geometry, strict=True
        ):
            for point_id in points["point_id"][shapely.covers(polygon, points.geometry)]:
                if (code, grid) < expected.get(point_id, ("~", "", ""))[:2]:
                    expected[point_id] = (code, grid, district)
    assert sorted(located.index) == sorted(expected)
    assert all(tuple(located.loc[p]) == expected[p] for p in expected)
    on_both = [
        p for p in expected if shapely.covers(grids.geometry, points.geometry[p - 100]).sum() > 1
    ]
    assert len(on_both) > 20


def test_sampled_points_follow_the_residents() -> None:
    population = gpd.GeoDataFrame(
        {"persons": [0, 1, 9]}, geometry=shapely.points([(0, 0), (1000, 0), (5000, 0)]), crs=32649
    )
    points = partition.sample_points(population, 20000, seed=4, jitter_m=10)
    x = shapely.get_coordinates(points.geometry.to_numpy())[:, 0]
    assert not (np.abs(x) <= 10).any()  # nobody lives at the first place
    share = (np.abs(x - 5000) <= 10).mean()
    assert abs(share - 0.9) < 0.01
    again = partition.sample_points(population, 20000, seed=4, jitter_m=10)
    assert again.geometry.equals(points.geometry)


runner = CliRunner()


@pytest.mark.parametrize("command", ["build", "export", "coverage", "points", "join"])
def test_every_region_command_has_help(command: str) -> None:
    result = runner.invoke(app, ["region", command, "--help"])
    assert result.exit_code == 0 and "--help" in result.output


def test_coverage_of_no_region_names_the_missing_manifest(tmp_path: Path) -> None:
    result = runner.invoke(app, ["region", "coverage", str(tmp_path), "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{tmp_path / 'region.json'}: no region here" in result.output


def test_an_unknown_circle_is_named(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["region", "coverage", str(tmp_path), "--out", str(tmp_path), "--circle", "nope"]
    )
    assert result.exit_code == 1 and "unknown circle 'nope'" in result.output


def test_join_of_missing_points_names_the_option(tmp_path: Path) -> None:
    missing = tmp_path / "none.parquet"
    result = runner.invoke(
        app, ["region", "join", str(tmp_path), "--points", str(missing), "--out", str(tmp_path)]
    )
    assert result.exit_code == 1 and f"--points {missing}: no such file" in result.output


@pytest.mark.parametrize("most", [1, 7, 50, 400, 10_000])
def test_city_parts_cut_districts_into_even_runs_of_whole_communities(most: int) -> None:
    rng = np.random.default_rng(most)
    rows = []
    for district in ("150602", "150603", "150621"):
        for community in range(int(rng.integers(1, 30))):
            code = f"{district}001{community:03d}"
            rows += [(district, code)] * int(rng.integers(1, 25))
    grids = pd.DataFrame(rows, columns=["district_code", "community_code"]).sample(
        frac=1, random_state=1
    )
    parts = partition.city_parts(grids, most)
    sizes = grids.groupby("community_code").size()
    assert [p.grids for p in parts] == sorted((p.grids for p in parts), reverse=True)
    for district, group in grids.groupby("district_code"):
        mine = sorted((p for p in parts if p.district == district), key=lambda p: p.communities)
        runs = [c for part in mine for c in part.communities]
        assert runs == sorted(group["community_code"].unique())  # each once, in code order
        assert all(sizes[list(p.communities)].sum() == p.grids for p in mine)
        total, largest = len(group), sizes[group["community_code"].unique()].max()
        runs = -(-total // most)
        assert len(mine) <= runs
        assert all(p.grids <= total / runs + largest for p in mine)  # even, to one community
        if total <= most:
            assert len(mine) == 1


def _simulate(queue: coverage.PartQueue, workers: int, cost) -> tuple[float, int, list]:
    """Run the queue as list scheduling: the earliest free worker takes the next part.

    Returns the makespan, how many reads (a worker taking a city it did not hold) and the
    parts taken in order.
    """
    free = [(0.0, w) for w in range(workers)]
    holding: list[str | None] = [None] * workers
    reads, taken, end = 0, [], 0.0
    while free:
        free.sort()
        at, worker = free.pop(0)
        chosen = queue.take(holding[worker])
        if chosen is None:
            end = max(end, at)
            continue
        city, number = chosen
        reads += city != holding[worker]
        holding[worker] = city
        taken.append(chosen)
        free.append((at + cost(city, number), worker))
    return end, reads, taken


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_the_part_queue_keeps_workers_on_their_city_and_never_idle(workers: int) -> None:
    """Every part once; each city read about once; within Graham's list-scheduling bound."""
    rng = np.random.default_rng(workers)
    for _ in range(50):
        parts = {
            f"c{i:02d}": sorted(rng.integers(50, 1800, rng.integers(1, 12)).tolist(), reverse=True)
            for i in range(rng.integers(1, 7))
        }
        speed = {city: rng.uniform(3.0, 7.0) for city in parts}  # ms per grid differs

        def cost(city: str, number: int, parts=parts, speed=speed) -> float:
            return parts[city][number] * speed[city]

        end, reads, taken = _simulate(coverage.PartQueue(parts), workers, cost)
        expected = sorted((city, n) for city, sizes in parts.items() for n in range(len(sizes)))
        assert sorted(taken) == expected
        for city in parts:  # a city's parts go largest first
            numbers = [n for c, n in taken if c == city]
            assert numbers == sorted(numbers)
        costs = [cost(city, n) for city, n in expected]
        assert end <= sum(costs) / workers + max(costs) + 1e-9
        # A city is read by the worker that starts it, and again only where workers join
        # one another at the end: at most once per pair of workers.
        assert reads <= len(parts) + workers * (workers - 1) // 2
        if workers == 1:
            assert reads == len(parts)
