"""Freshness by data versions: a write to an input table makes stored coverage stale."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridsvc.coverage import freshness, refresh
from gridsvc.coverage.models import CoverageRefresh
from tests.conftest import engine_of_its_own
from tests.coverage.conftest import WalkCity

DISTRICT = "150699"
# Whole-city refreshes: over a database holding only the walk city, not the demo city.
engine = engine_of_its_own("freshness")


def newest_record(session: Session) -> CoverageRefresh:
    return session.query(CoverageRefresh).order_by(CoverageRefresh.id.desc()).first()


def test_a_refresh_records_the_input_versions_and_is_fresh(
    db_session: Session, walk_city: WalkCity
) -> None:
    assert not refresh.is_fresh(db_session)
    refresh.refresh(db_session)
    record = newest_record(db_session)
    assert record.scope == freshness.CITY
    recorded = json.loads(record.input_versions)
    assert {"facilities", "grids", "network_edges", "population_points"} <= set(recorded)
    assert record.input_versions == freshness.input_versions(db_session)
    assert refresh.is_fresh(db_session) and refresh.is_fresh(db_session, DISTRICT)


def test_a_write_to_an_input_table_makes_it_stale(db_session: Session, walk_city: WalkCity) -> None:
    refresh.refresh(db_session)
    before = freshness.input_versions(db_session)
    # A resident of the city moves 30 m: the row count and persons stay, the version tells.
    west, south, east, north = walk_city.lattice.district_polygon.bounds
    db_session.execute(
        text(
            "UPDATE population_points SET geom = ST_Translate(geom, 0.0003, 0)"
            " WHERE id = (SELECT max(id) FROM population_points"
            " WHERE geom && ST_MakeEnvelope(:west, :south, :east, :north, 4326))"
        ),
        {"west": west, "south": south, "east": east, "north": north},
    )
    assert freshness.input_versions(db_session) != before
    assert not refresh.is_fresh(db_session) and not refresh.is_fresh(db_session, DISTRICT)
    assert DISTRICT in freshness.stale_districts(db_session)
    refresh.refresh(db_session)
    assert refresh.is_fresh(db_session) and refresh.is_fresh(db_session, DISTRICT)


def test_a_write_to_an_unrelated_table_leaves_it_fresh(
    db_session: Session, walk_city: WalkCity
) -> None:
    refresh.refresh(db_session)
    before = freshness.input_versions(db_session)
    db_session.execute(
        text(
            "INSERT INTO departments (code, name, name_en)"
            " VALUES ('coverspeed', '测试部门', 'test department')"
        )
    )
    assert freshness.input_versions(db_session) == before
    assert refresh.is_fresh(db_session) and refresh.is_fresh(db_session, DISTRICT)


def test_an_unchanged_city_is_fresh_without_hashing_rows(
    db_session: Session, walk_city: WalkCity, monkeypatch: pytest.MonkeyPatch
) -> None:
    refresh.refresh(db_session)

    def no_hashing(*args: object, **kwargs: object) -> str:
        raise AssertionError("the rows were hashed")

    monkeypatch.setattr(freshness, "fingerprint", no_hashing)
    assert refresh.is_fresh(db_session) and refresh.is_fresh(db_session, DISTRICT)
    assert DISTRICT not in freshness.stale_districts(db_session)
