"""Data versions: every write to a city table bumps its version; busy tables are counted."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from gridsvc.common.data_versions import COUNTED_TABLES, VERSIONED_TABLES, table_states
from gridsvc.ogc.collections import tile_collections

MIGRATION = Path(__file__).resolve().parents[2] / "alembic/versions/0010_data_versions.py"


def states(session: Session) -> dict[str, str]:
    return table_states(session, VERSIONED_TABLES)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE departments SET name = name WHERE false",
        "UPDATE grids SET name = name WHERE code = '150699001001001'",
        "DELETE FROM facilities WHERE id < 0",
        "TRUNCATE service_areas",
    ],
)
def test_every_kind_of_write_bumps_only_its_table(db_session: Session, city, statement) -> None:
    table = re.search(r"(?:INTO|UPDATE|FROM|TRUNCATE) (\w+)", statement).group(1)
    before = states(db_session)
    db_session.execute(text(statement))
    after = states(db_session)
    assert after[table] != before[table]
    assert {name for name in VERSIONED_TABLES if after[name] != before[name]} == {table}


def test_a_write_is_seen_by_others_only_once_committed(engine: Engine) -> None:
    with Session(engine) as writer, Session(engine) as reader:
        seen = table_states(reader, ["facility_types"])
        reader.rollback()  # a new snapshot for each read below
        writer.execute(text("UPDATE facility_types SET name = name WHERE false"))
        assert table_states(reader, ["facility_types"]) == seen
        reader.rollback()
        writer.commit()
        assert table_states(reader, ["facility_types"]) != seen


def test_untracked_busy_tables_are_counted(db_session: Session, city) -> None:
    before = table_states(db_session, ["issues", "grids"])
    db_session.execute(text("UPDATE grids SET name = name WHERE false"))
    after = table_states(db_session, ["issues", "grids"])
    count = db_session.scalar(text("SELECT count(*) FROM issues"))
    assert before["issues"].split("/")[0] == str(count)
    assert after["issues"] == before["issues"]
    assert after["grids"] != before["grids"]


def test_every_table_is_versioned_or_counted_and_the_migration_lists_them(
    db_session: Session,
) -> None:
    tables = set(
        db_session.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
    ) - {"spatial_ref_sys", "alembic_version", "data_versions"}
    assert set(VERSIONED_TABLES) | set(COUNTED_TABLES) == tables
    assert not set(VERSIONED_TABLES) & set(COUNTED_TABLES)
    tile_tables = {table for c in tile_collections().values() for table in c.tables}
    assert tile_tables <= tables
    listed = re.search(r"TABLES = \((.*?)\)", MIGRATION.read_text(), re.S).group(1)
    assert tuple(re.findall(r'"(\w+)"', listed)) == VERSIONED_TABLES


def test_every_versioned_table_has_its_trigger(db_session: Session) -> None:
    triggered = set(
        db_session.scalars(
            text(
                "SELECT event_object_table FROM information_schema.triggers"
                " WHERE trigger_name LIKE '%_data_version'"
            )
        )
    )
    assert triggered == set(VERSIONED_TABLES)
