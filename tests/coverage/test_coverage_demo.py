"""Coverage on the demo city: every grid of a district gets every circle in both modes."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from gridsvc.coverage import refresh, service
from gridsvc.coverage.circles import load_circles
from gridsvc.coverage.models import GridCoverage, ServiceArea


@pytest.fixture
def small_district(loaded_demo_city) -> str:
    counts = loaded_demo_city.grids["community_code"].str[:6].value_counts()
    return str(counts.idxmin())


def test_refresh_covers_every_grid_for_every_circle_in_both_modes(
    db_session: Session,
    loaded_demo_city,
    small_district: str,
) -> None:
    # Service areas another test on this worker committed (the whole city's, say) would be
    # counted beside this refresh's: start from none, inside this test's rolled-back work.
    db_session.execute(delete(ServiceArea))
    summary = refresh.refresh(db_session, district=small_district)
    grids = int((loaded_demo_city.grids["community_code"].str[:6] == small_district).sum())
    assert summary["grids"] == grids
    rows = db_session.execute(
        select(GridCoverage.circle, GridCoverage.mode, func.count())
        .where(GridCoverage.district_code == small_district)
        .group_by(GridCoverage.circle, GridCoverage.mode)
    ).all()
    assert {(c, m): n for c, m, n in rows} == {
        (code, mode): grids for code in load_circles() for mode in ("network", "euclidean")
    }
    assert (
        db_session.scalar(select(func.count()).select_from(ServiceArea))
        == summary["service_areas"]
        > 0
    )
    circle = load_circles()["consumption_10min"]
    stored = service.grid_coverage(db_session, circle, "euclidean", small_district)
    assert stored.source == "stored"
    residents = int(stored.table["residents"].sum())
    assert residents > 0
    # Network reach is a subset of straight reach: walking is never shorter.
    network = service.grid_coverage(db_session, circle, "network", small_district).table
    assert (network["covered_residents"] <= stored.table["covered_residents"]).all()
    matched, worst = service.gap_features(db_session, stored, 10)
    uncovered = [feature["properties"]["uncovered_residents"] for feature in worst]
    assert uncovered == sorted(uncovered, reverse=True) and matched >= len(worst)
