"""Downgrades that would drop tables holding rows refuse unless forced, and change nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.util import CommandError
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gridsvc.auth.tokens import ANONYMOUS
from gridsvc.cli import app
from gridsvc.cluster import service as cluster_service
from gridsvc.cluster.migrations import downgrade
from gridsvc.config import Settings, get_settings
from gridsvc.issues import service as issues_service
from tests.conftest import TEST_DATABASE, migrated_database
from tests.factories import make_test_city
from tests.issues.test_deadlines_service import submission
from tests.test_migrations import table_names

DOWNGRADE_DATABASE = f"{TEST_DATABASE}_downgrades"
runner = CliRunner()


@pytest.fixture
def populated_url(settings: Settings) -> Iterator[str]:
    """A migrated database holding a city, one issue and one coverage refresh."""
    url = migrated_database(settings, DOWNGRADE_DATABASE)
    engine = create_engine(url)
    with Session(engine) as session, session.begin():
        make_test_city(session)
        issues_service.submit(session, submission(), ANONYMOUS)
        session.execute(
            text(
                "INSERT INTO coverage_refreshes (scope, fingerprint, circles, seconds) "
                "VALUES ('city', 'f', 'c', 1)"
            )
        )
    engine.dispose()
    yield url
    cluster_service.drop_database(settings, DOWNGRADE_DATABASE)


def revision_of(url: str) -> str:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    finally:
        engine.dispose()


def test_downgrade_refuses_to_drop_rows_unless_forced(populated_url: str) -> None:
    url = populated_url
    head = revision_of(url)
    tables = table_names(url)
    with pytest.raises(CommandError) as refused:
        downgrade(url, "base")
    message = str(refused.value)
    assert "0003_coverage" in message and "coverage_refreshes (1 row)" in message
    assert "--force" in message and "-x force=true" in message
    # One transaction: nothing was dropped, not even the steps before the refusal.
    assert revision_of(url) == head and table_names(url) == tables

    downgrade(url, "0002_issues", force=True)  # lets the coverage rows go
    with pytest.raises(CommandError, match=r"below 0002_issues .* issues \(1 row\)"):
        downgrade(url, "0001_foundation")
    downgrade(url, "0001_foundation", force=True)
    with pytest.raises(CommandError, match=r"below 0001_foundation .* districts \(1 row\)"):
        downgrade(url, "base")
    downgrade(url, "base", force=True)
    assert table_names(url) == set()


def test_cli_downgrade_refuses_then_forces(
    populated_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRIDSVC_DATABASE_URL", populated_url)
    get_settings.cache_clear()
    try:
        refused = runner.invoke(app, ["db", "downgrade", "0001_foundation"])
        assert refused.exit_code == 1
        assert "would delete the rows of" in refused.output and "Traceback" not in refused.output
        assert revision_of(populated_url) != "0001_foundation"
        forced = runner.invoke(app, ["db", "downgrade", "0001_foundation", "--force"])
        assert forced.exit_code == 0, forced.output
        assert revision_of(populated_url) == "0001_foundation"
    finally:
        get_settings.cache_clear()


def test_downgrade_keeps_reporters_secrets_unless_forced(populated_url: str) -> None:
    engine = create_engine(populated_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE issues SET secret_hash = repeat('a', 64)"))
    engine.dispose()
    with pytest.raises(CommandError, match=r"below 0005_reporter_secret .* secrets"):
        downgrade(populated_url, "0004_geodata")
    assert revision_of(populated_url) != "0004_geodata"
    downgrade(populated_url, "0004_geodata", force=True)
    assert revision_of(populated_url) == "0004_geodata"
