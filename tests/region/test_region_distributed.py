"""The region commands against a separately started `dask scheduler` and two workers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy.orm import Session

from gridsvc.config import get_settings
from gridsvc.coverage.circles import load_circles
from gridsvc.region import layout, partition
from gridsvc.region.export import export_city
from tests.region.conftest import assert_same_coverage, stored_coverage


def region(*arguments: str) -> subprocess.CompletedProcess:
    """Run ``gridsvc region ...`` in a process of its own."""
    return subprocess.run(
        [sys.executable, "-m", "gridsvc.cli", "region", *arguments],
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ),
        check=False,
    )


def single_process(root: Path, city: layout.CityEntry):  # noqa: ANN201 - a GeoDataFrame
    """The same city computed here, in this one process, from the same layers."""
    inputs = partition.layers_to_inputs(layout.read_city(root, city.code))
    circles = list(load_circles().values())
    return partition.city_coverage(inputs, circles, get_settings().service_area_buffer_m, city.crs)


def test_region_coverage_on_a_real_scheduler_equals_single_process(
    small_city: Session, dask_scheduler: str, tmp_path: Path
) -> None:
    root, out = tmp_path / "region", tmp_path / "out"
    built = region(
        "build",
        str(root),
        "--cities",
        "2",
        "--grids",
        "30",
        "--seed",
        "31",
        "--scheduler",
        dask_scheduler,
    )
    assert built.returncode == 0, built.stderr
    assert f"Dask on {dask_scheduler}: 2 workers; dashboard http://" in built.stderr
    export_city(small_city, root, "ordos")  # the third city: the database's
    ran = region("coverage", str(root), "--out", str(out), "--scheduler", dask_scheduler)
    assert ran.returncode == 0, ran.stderr
    assert "coverage per city" in ran.stderr  # the progress bar
    cities = {city.code: city for city in layout.read_manifest(root)}
    assert sorted(cities) == ["c00", "c01", "ordos"]
    assert_same_coverage(layout.read_coverage(out, "ordos"), stored_coverage(small_city))
    for code in ("c00", "c01"):
        expected = single_process(root, cities[code])
        assert_same_coverage(layout.read_coverage(out, code), expected)
