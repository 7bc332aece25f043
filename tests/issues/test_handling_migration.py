"""Migration 0009_handling: old rows become 一般 (normal), urgent deadlines are seeded, and
going below it refuses to forget urgent cases, staff photos or retired categories."""

from __future__ import annotations

import pytest
from alembic.util import CommandError
from sqlalchemy import create_engine, inspect, text

from gridsvc.cluster.migrations import downgrade, migrate
from gridsvc.issues.catalog.deadlines import default_urgent_deadlines
from tests.test_downgrades import populated_url, revision_of  # noqa: F401 - the fixture

BEFORE = "0008_issues_created_at"


def columns(url: str, table: str) -> set[str]:
    engine = create_engine(url)
    try:
        return {column["name"] for column in inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def test_handling_migration_up_down_and_its_refusal(populated_url: str) -> None:  # noqa: F811
    url = populated_url
    engine = create_engine(url)
    with engine.begin() as connection:
        priorities = connection.execute(text("SELECT DISTINCT priority FROM issues")).scalars()
        assert list(priorities) == ["normal"]
        seeded = connection.execute(
            text("SELECT count(*) FROM category_deadlines WHERE priority = 'urgent'")
        ).scalar_one()
        assert seeded == sum(len(rules) for rules in default_urgent_deadlines().values())
        connection.execute(text("UPDATE issues SET priority = 'urgent'"))
        connection.execute(text("UPDATE issue_categories SET retired_at = now()"))
    engine.dispose()
    head = revision_of(url)
    with pytest.raises(CommandError, match=r"below 0009_handling .*1 urgent issues"):
        downgrade(url, BEFORE)
    assert revision_of(url) == head and "priority" in columns(url, "issues")
    downgrade(url, BEFORE, force=True)
    assert "priority" not in columns(url, "issues")
    assert "priority" not in columns(url, "category_deadlines")
    assert {"stage", "uploaded_by"}.isdisjoint(columns(url, "issue_photos"))
    migrate(url)
    engine = create_engine(url)
    with engine.connect() as connection:
        kept = connection.execute(text("SELECT priority, count(*) FROM issues GROUP BY 1")).all()
        retired = connection.execute(
            text("SELECT count(*) FROM issue_categories WHERE retired_at IS NOT NULL")
        ).scalar_one()
    engine.dispose()
    assert kept == [("normal", 1)] and retired == 0
