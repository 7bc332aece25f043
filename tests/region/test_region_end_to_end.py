"""A synthetic region of three small cities, end to end on one local cluster."""

from __future__ import annotations

import time
from pathlib import Path

import geopandas as gpd
import numpy as np
from distributed import Client

from gridsvc.config import get_settings
from gridsvc.coverage.circles import load_circles
from gridsvc.region import coverage, driver, layout
from tests.region.conftest import assert_join_matches, single_process


def test_three_small_cities_end_to_end(local_client: Client, tmp_path: Path) -> None:
    root, out, points_dir = tmp_path / "region", tmp_path / "out", tmp_path / "points"
    circles = list(load_circles().values())
    started = time.perf_counter()
    entries = driver.build_region(local_client, root, 3, 5, 40, progress=False)
    buffer_m = get_settings().service_area_buffer_m
    coverage.region_coverage(local_client, root, out, circles, buffer_m, progress=False)
    written = driver.region_points(local_client, root, points_dir, 30000, 2, progress=False)
    counts = driver.join_points(local_client, root, points_dir, out, 4, progress=False)
    print(f"3-city region end to end: {time.perf_counter() - started:.1f} s")
    assert written == counts["points"] == 30000
    cities = layout.read_manifest(root)
    assert [city.code for city in cities] == [entry.code for entry in entries]
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
        assert len(result) == city.grids * len(circles) * 2
        assert (result["covered_residents"].to_numpy() == expected["covered_residents"]).all()
    assert_join_matches(root, points_dir, out)
    assert counts["in_grids"] + counts["outside"] == 30000
    # Points not grouped by place (every file holds every city): shuffled by Hilbert order.
    mixed = gpd.read_parquet(points_dir).sample(frac=1.0, random_state=3)
    mixed_dir, mixed_out = tmp_path / "mixed", tmp_path / "mixed-out"
    mixed_dir.mkdir()
    for number, rows in enumerate(np.array_split(np.arange(len(mixed)), 2)):
        mixed.iloc[rows].to_parquet(mixed_dir / f"part.{number}.parquet", index=False)
    again = driver.join_points(local_client, root, mixed_dir, mixed_out, 3, progress=False)
    assert again["in_grids"] == counts["in_grids"]
    assert_join_matches(root, mixed_dir, mixed_out)
