"""Coverage on Dask equals the single-process stored coverage, grid by grid."""

from __future__ import annotations

from pathlib import Path

import pytest
from distributed import Client
from sqlalchemy.orm import Session

from gridsvc.config import get_settings
from gridsvc.coverage.circles import load_circles
from gridsvc.region import layout
from gridsvc.region.coverage import region_coverage
from gridsvc.region.export import export_city
from gridsvc.region.store import store_city_coverage
from tests.region.conftest import assert_same_coverage, load_and_refresh, stored_coverage


def _dask_coverage(session: Session, client: Client, tmp_path: Path) -> tuple[Path, list]:
    root, out = tmp_path / "region", tmp_path / "out"
    entry = export_city(session, root, "ordos")
    circles = list(load_circles().values())
    summaries = region_coverage(
        client, root, out, circles, get_settings().service_area_buffer_m, progress=False
    )
    assert [s["city"] for s in summaries] == ["ordos"]
    assert summaries[0]["grids"] == entry.grids
    return out, circles


def test_exported_small_city_on_dask_equals_stored_coverage(
    small_city: Session, local_client: Client, tmp_path: Path
) -> None:
    out, circles = _dask_coverage(small_city, local_client, tmp_path)
    result = layout.read_coverage(out, "ordos")
    assert_same_coverage(result, stored_coverage(small_city))
    assert result.crs.to_epsg() == 32649
    # Gaps are inside their grids and absent only where a grid is covered whole.
    covered_whole = result["covered_area_m2"] >= result["area_m2"] - 1e-6
    assert (result.geometry.isna() <= covered_whole).all()


def test_results_written_back_into_the_database_are_the_same(
    small_city: Session, local_client: Client, tmp_path: Path
) -> None:
    before = stored_coverage(small_city)
    out, circles = _dask_coverage(small_city, local_client, tmp_path)
    entry = layout.read_manifest(tmp_path / "region")[0]
    written = store_city_coverage(small_city, out, entry, circles)
    after = stored_coverage(small_city)
    assert written == len(before) == len(after)
    assert_same_coverage(after, before)


def test_a_synthetic_city_is_not_stored_into_a_database(
    small_city: Session, tmp_path: Path
) -> None:
    entry = layout.CityEntry(code="c00", name="c00", crs="EPSG:32649", source="demo seed 1")
    with pytest.raises(ValueError, match="not exported from a database"):
        store_city_coverage(small_city, tmp_path, entry, list(load_circles().values()))


@pytest.mark.full_city
def test_full_demo_city_on_dask_equals_stored_coverage(
    db_session: Session,
    full_demo_city,
    local_client: Client,
    tmp_path: Path,
) -> None:
    load_and_refresh(db_session, full_demo_city)
    out, _ = _dask_coverage(db_session, local_client, tmp_path)
    result = layout.read_coverage(out, "ordos")
    assert result["grid_code"].nunique() == len(full_demo_city.grids) == 6702
    assert_same_coverage(result, stored_coverage(db_session))
