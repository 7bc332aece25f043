"""A synthetic region of three small cities, end to end through the commands."""

from __future__ import annotations

import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from gridsvc.coverage.circles import load_circles
from gridsvc.region import layout
from tests.region.test_region_distributed import region, single_process


def _expected_join(root: Path, points: gpd.GeoDataFrame) -> pd.DataFrame:
    """geopandas' own sjoin of every point with every grid; the lowest code on a shared edge."""
    grids = pd.concat(
        [
            gpd.read_parquet(layout.layer_path(root, "grids", city.code))
            .to_crs(4326)
            .assign(city=city.code)
            for city in layout.read_manifest(root)
        ],
        ignore_index=True,
    )
    joined = gpd.sjoin(points, grids, predicate="intersects", how="inner")
    joined = joined.sort_values(["point_id", "city", "code"]).drop_duplicates("point_id")
    return joined[["point_id", "city", "code"]].rename(columns={"code": "grid_code"})


def test_three_small_cities_end_to_end(tmp_path: Path) -> None:
    root, out, points_dir = tmp_path / "region", tmp_path / "out", tmp_path / "points"
    started = time.perf_counter()
    steps = [
        ("build", str(root), "--cities", "3", "--grids", "40", "--seed", "5", "--workers", "2"),
        ("coverage", str(root), "--out", str(out), "--workers", "2"),
        ("points", str(root), "--out", str(points_dir), "--count", "30000", "--workers", "2"),
        ("join", str(root), "--points", str(points_dir), "--out", str(out), "--workers", "2"),
    ]
    for step in steps:
        ran = region(*step)
        assert ran.returncode == 0, (step, ran.stderr)
    print(f"3-city region end to end: {time.perf_counter() - started:.1f} s")
    cities = layout.read_manifest(root)
    assert [city.code for city in cities] == ["c00", "c01", "c02"]
    # Placed apart: no two cities' grids meet.
    hulls = [
        gpd.read_parquet(layout.layer_path(root, "grids", c.code)).to_crs(4326).union_all()
        for c in cities
    ]
    assert not any(hulls[i].intersects(hulls[j]) for i in range(3) for j in range(i + 1, 3))
    for city in cities:
        result = layout.read_coverage(out, city.code)
        expected = single_process(root, city)
        assert len(result) == city.grids * len(load_circles()) * 2
        assert (result["covered_residents"].to_numpy() == expected["covered_residents"]).all()
    points = gpd.read_parquet(points_dir)
    assert len(points) == 30000 and points["point_id"].is_unique
    joined = pd.read_parquet(out / "joined").sort_values("point_id", ignore_index=True)
    expected = _expected_join(root, points).reset_index(drop=True)
    assert len(joined) == len(expected) > 0.9 * len(points)
    assert np.array_equal(joined["point_id"].to_numpy(), expected["point_id"].to_numpy())
    assert (joined["city"].to_numpy() == expected["city"].to_numpy()).all()
    assert (joined["grid_code"].to_numpy() == expected["grid_code"].to_numpy()).all()
