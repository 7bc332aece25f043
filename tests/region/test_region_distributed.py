"""The region commands against a separately started `dask scheduler` and two workers."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from gridsvc.region import layout
from gridsvc.region.export import export_city
from tests.region.conftest import (
    assert_join_matches,
    assert_same_coverage,
    region,
    single_process,
    stored_coverage,
)


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
    assert "coverage per part" in ran.stderr  # the progress bar
    cities = {city.code: city for city in layout.read_manifest(root)}
    assert sorted(cities) == ["c00", "c01", "ordos"]
    assert_same_coverage(layout.read_coverage(out, "ordos"), stored_coverage(small_city))
    for code in ("c00", "c01"):
        expected = single_process(root, cities[code])
        assert_same_coverage(layout.read_coverage(out, code), expected)
    points = tmp_path / "points"
    drawn = region(
        "points", str(root), "--out", str(points), "--count", "5000", "--scheduler", dask_scheduler
    )
    assert drawn.returncode == 0, drawn.stderr
    joined = region(
        "join", str(root), "--points", str(points), "--out", str(out), "--scheduler", dask_scheduler
    )
    assert joined.returncode == 0, joined.stderr
    assert joined.stdout.startswith("5000 points: ")
    assert_join_matches(root, points, out)
