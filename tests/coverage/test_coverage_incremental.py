"""Incremental updates: after a facility is added, moved or removed, the stored coverage
equals a full refresh with the same change, grid by grid and service area by service area."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridsvc.coverage import analysis, incremental, refresh, service
from gridsvc.coverage.circles import load_circles
from tests.conftest import engine_of_its_own
from tests.coverage.conftest import WalkCity
from tests.factories import make_facility

DISTRICT = "150699"
# Whole-city refreshes: over a database holding only the walk city, not the demo city.
engine = engine_of_its_own("incremental")


def stored_coverage(session: Session) -> dict[tuple, tuple]:
    """Every stored grid row: residents, covered residents, area, covered area, gap."""
    rows = session.execute(
        text(
            "SELECT grid_code, circle, mode, residents, covered_residents, area_m2,"
            " covered_area_m2, ST_AsBinary(ST_Transform(geom, 32649)) FROM grid_coverage"
        )
    )
    return {
        tuple(row[:3]): (*row[3:7], shapely.from_wkb(bytes(row[7])) if row[7] else None)
        for row in rows
    }


def stored_service_areas(session: Session) -> dict[tuple, shapely.Geometry]:
    rows = session.execute(
        text(
            "SELECT facility_id, mode, threshold_m, ST_AsBinary(ST_Transform(geom, 32649))"
            " FROM service_areas"
        )
    )
    return {tuple(row[:3]): shapely.from_wkb(bytes(row[3])) for row in rows}


def assert_same_coverage(ours: dict[tuple, tuple], full: dict[tuple, tuple]) -> None:
    assert ours.keys() == full.keys()
    for key, (residents, covered, area, covered_area, gap) in full.items():
        got = ours[key]
        assert got[:2] == (residents, covered), key
        for weight in analysis.WEIGHTS:
            share = analysis.shares(*(np.array([v]) for v in got[:4]), weight)
            expected = analysis.shares(
                np.array([residents]),
                np.array([covered]),
                np.array([area]),
                np.array([covered_area]),
                weight,
            )
            assert share[0] == pytest.approx(expected[0], abs=1e-9), key
        if gap is None or got[4] is None:
            assert gap is None and got[4] is None, key
        else:
            assert shapely.symmetric_difference(gap, got[4]).area < 1e-2, key


def assert_same_service_areas(ours: dict, full: dict) -> None:
    assert ours.keys() == full.keys()
    for key, area in full.items():
        assert shapely.symmetric_difference(area, ours[key]).area < 1e-6 * area.area + 1.0, key


def move(session: Session, facility_id: int, east: float, north: float) -> None:
    session.execute(
        text("UPDATE facilities SET geom = ST_Translate(geom, :east, :north) WHERE id = :id"),
        {"east": east, "north": north, "id": facility_id},
    )


def remove(session: Session, facility_id: int) -> None:
    session.execute(text("DELETE FROM facilities WHERE id = :id"), {"id": facility_id})


def change(session: Session, city: WalkCity, kind: str) -> None:
    shop = city.facility_ids[city.facility_types.index("shop_market")]
    if kind == "add":
        make_facility(session, "shop_market", 113.512, 35.508)
    elif kind == "move":
        move(session, shop, 0.004, 0.003)
    elif kind == "remove":
        remove(session, shop)
    else:
        move(session, city.facility_ids[0], -0.002, 0.001)
        remove(session, shop)
        make_facility(session, "library", 113.505, 35.512)


@pytest.mark.parametrize("kind", ["add", "move", "remove", "several"])
def test_an_update_equals_a_full_refresh_with_the_same_change(
    db_session: Session, walk_city: WalkCity, kind: str
) -> None:
    refresh.refresh(db_session)
    before = stored_coverage(db_session)
    change(db_session, walk_city, kind)
    assert not refresh.is_fresh(db_session)
    done = incremental.update(db_session)
    assert done is not None and done["facilities"] == (3 if kind == "several" else 1)
    assert refresh.is_fresh(db_session) and refresh.is_fresh(db_session, DISTRICT)
    ours, ours_areas = stored_coverage(db_session), stored_service_areas(db_session)
    assert ours != before  # the change reached some grid
    refresh.refresh(db_session)
    assert_same_coverage(ours, stored_coverage(db_session))
    assert_same_service_areas(ours_areas, stored_service_areas(db_session))


def test_an_update_recomputes_only_what_the_facility_reaches(
    db_session: Session, walk_city: WalkCity
) -> None:
    refresh.refresh(db_session)
    change(db_session, walk_city, "move")
    done = incremental.update(db_session)
    assert 0 < done["grids"] < len(walk_city.lattice.grids)
    circles = [c for c in load_circles().values() if "shop_market" in c.facility_types]
    assert done["circles"] == len(circles)


def test_no_update_when_more_than_facilities_changed(
    db_session: Session, walk_city: WalkCity
) -> None:
    assert incremental.update(db_session) is None  # nothing stored yet
    refresh.refresh(db_session)
    db_session.execute(text("UPDATE population_points SET persons = persons + 1"))
    change(db_session, walk_city, "add")
    assert incremental.update(db_session) is None
    summary = service.refresh_after_change(db_session)
    assert DISTRICT in summary["districts"]
    assert refresh.is_fresh(db_session)


def test_refresh_after_change_updates_incrementally(
    db_session: Session, walk_city: WalkCity
) -> None:
    refresh.refresh(db_session)
    change(db_session, walk_city, "add")
    summary = service.refresh_after_change(db_session)
    assert summary["districts"] == [DISTRICT] and 0 < summary["grids"]
    newest = db_session.execute(
        text("SELECT fingerprint FROM coverage_refreshes ORDER BY id DESC LIMIT 1")
    ).scalar_one()
    assert newest == "incremental"
    assert refresh.is_fresh(db_session)
