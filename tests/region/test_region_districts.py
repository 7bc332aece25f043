"""Coverage one task per part (district, or run of communities) on Dask equals the city."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from distributed import Client

from gridsvc.common import threads
from gridsvc.config import get_settings
from gridsvc.coverage.circles import load_circles
from gridsvc.region import coverage, layout, partition
from gridsvc.region.synthetic import demo_layers
from tests.region.conftest import assert_same_coverage, single_process

KEYS = ["grid_code", "circle", "mode"]


def _region_of(demo_city, root: Path) -> layout.CityEntry:
    """The session's small demo city (800 grids) as a one-city region."""
    layers, crs = demo_layers(demo_city, (0.0, 0.0))
    layout.write_city(root, "demo", layers)
    entry = layout.CityEntry(
        code="demo", name="demo", crs=crs, source="test", grids=len(layers.grids)
    )
    layout.add_to_manifest(root, entry)
    return entry


def _kinds(grids) -> dict[str, str]:  # a GeoDataFrame
    outline = shapely.union_all(grids.geometry.to_numpy()).boundary
    return {
        code: "edge"
        if shapely.union_all(group.geometry.to_numpy()).intersects(outline)
        else "middle"
        for code, group in grids.groupby("district_code")
    }


@pytest.mark.parametrize("part_grids", [800, 40])
def test_per_part_tasks_equal_the_whole_city(
    demo_city, local_client: Client, tmp_path: Path, part_grids: int
) -> None:
    """Whole districts (800: none is cut), then cut into runs of communities (40)."""
    root, out = tmp_path / "region", tmp_path / "out"
    entry = _region_of(demo_city, root)
    circles = list(load_circles().values())
    buffer_m = get_settings().service_area_buffer_m
    summaries = coverage.region_coverage(
        local_client, root, out, circles, buffer_m, progress=False, part_grids=part_grids
    )
    parts = coverage.city_parts(root, entry.code, part_grids)
    assert [part.grids for part in parts] == sorted((p.grids for p in parts), reverse=True)
    districts = {part.district for part in parts}
    assert len(districts) == 9
    assert summaries[0]["parts"] == len(parts) == (9 if part_grids == 800 else len(parts))
    if part_grids == 40:  # every district cut into runs of about 40 grids or fewer
        assert len(parts) >= 800 / 40
        assert max(part.grids for part in parts) < 60
    assert summaries[0]["grids"] == entry.grids == 800
    result = layout.read_coverage(out, entry.code)
    expected = single_process(root, entry)
    # Written as before: the same rows in the same order (circle, mode, grid code).
    assert np.array_equal(result[KEYS].to_numpy(), expected[KEYS].to_numpy())
    assert_same_coverage(result, expected)
    area = np.abs(result["covered_area_m2"].to_numpy() - expected["covered_area_m2"].to_numpy())
    assert area.max() <= 1e-2
    assert (expected["covered_area_m2"] < expected["area_m2"] - 1).any()  # gaps to compare

    def polygons(frame):
        gap = frame.geometry.to_numpy()
        return np.where(shapely.is_missing(gap), shapely.Polygon(), gap)

    difference = shapely.symmetric_difference(polygons(result), polygons(expected))
    assert shapely.area(difference).max() <= 1e-3
    # Districts at the city's edge and in its middle are both among those compared.
    grids = layout.read_city(root, entry.code).grids
    assert sorted(set(_kinds(grids).values())) == ["edge", "middle"]


def test_a_part_task_keeps_its_geometry_work_to_one_thread(monkeypatch, tmp_path: Path) -> None:
    """A worker is one core: its task's GEOS work does not fan out over the machine's."""
    seen: list[list[int]] = []

    def spy(inputs, communities, circles, buffer_m, crs):
        chunks: list[int] = []
        threads.in_threads(lambda rows: chunks.append(len(rows)) or rows, 1000)
        seen.append(chunks)
        return gpd.GeoDataFrame(
            {"grid_code": ["g"], "circle": ["c"], "mode": ["m"]}, geometry=[None]
        )

    monkeypatch.setattr(coverage.partition, "part_coverage", spy)
    monkeypatch.setattr(coverage, "city_inputs", lambda root, city, keep: (None, 0.0))
    city = layout.CityEntry(code="c", name="c", crs="EPSG:32649", source="test")
    part = partition.Part("d", ("c",), 1)
    layout.start_coverage(tmp_path, city.code)
    summary = coverage.part_task((str(tmp_path), str(tmp_path)), city, 0, part, [], 5.0)
    assert summary["rows"] == 1 and summary["seconds"] >= 0 and summary["read_s"] == 0
    assert seen == [[1000]]
    chunks: list[int] = []
    threads.in_threads(lambda rows: chunks.append(len(rows)) or rows, 1000)
    assert sum(chunks) == 1000 and len(chunks) == 4 * (os.cpu_count() or 1)


def test_a_second_run_replaces_the_first_and_a_rebuilt_city_is_read_again(
    demo_city, tmp_path: Path
) -> None:
    """Parts are published whole: a run's part files replace every file of the one before.

    Off the cluster, so that the kept inputs are this process's to look at.
    """
    root, out = tmp_path / "region", tmp_path / "out"
    entry = _region_of(demo_city, root)
    circles = [load_circles()["culture_5min"]]
    buffer_m = get_settings().service_area_buffer_m
    coverage.forget_cities()
    published = 0
    try:
        for most in (40, 800):
            layout.start_coverage(out, entry.code)
            parts = coverage.city_parts(root, entry.code, most)
            reads = [
                coverage.part_task((str(root), str(out)), entry, n, part, circles, buffer_m)
                for n, part in enumerate(parts)
            ]
            # Read once, by the first part; every later part found the kept inputs.
            assert reads[0]["read_s"] > 0 and all(r["read_s"] == 0 for r in reads[1:])
            # Until published, readers see the run before (none at first), whole.
            shown = list(layout.coverage_dir(out, entry.code).glob("part.*.parquet"))
            assert len(shown) == published
            layout.publish_coverage(out, entry.code)
            files = list(layout.coverage_dir(out, entry.code).glob("part.*.parquet"))
            assert len(files) == len(parts) == (9 if most == 800 else len(files))
            result = layout.read_coverage(out, entry.code)
            assert result["grid_code"].nunique() == entry.grids
            assert len(result) == entry.grids * 2  # one circle, both modes
            published = len(files)
            coverage.forget_cities()
        assert published == 9
        # A city rebuilt on disk is read again, not served from what the worker kept.
        coverage.city_inputs(str(root), entry.code)
        _region_of(demo_city, root)
        assert coverage.city_inputs(str(root), entry.code)[1] > 0
        assert coverage.city_inputs(str(root), entry.code)[1] == 0
    finally:
        coverage.forget_cities()
