"""Fixtures of the CLI tests: a database of their own, emptied before each test; city files.

The CLI commits, so these tests cannot roll back: each starts from empty city tables in
``gridsvc_test_geodata_<pid>`` and points ``GRIDSVC_DATABASE_URL`` there. A plugin of the
root conftest (``pytest_plugins``), so that every folder shares one session database: a
conftest importing these fixtures would define them again, and its copy of the session
fixture would drop the database (ending the first copy's connections) when it starts.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from typer.testing import CliRunner

from gridsvc.cli import app
from gridsvc.cluster import service as cluster_service
from gridsvc.config import Settings, get_settings
from gridsvc.geodata.city_loader import CITY_TABLES
from tests.conftest import migrated_database
from tests.geodata.cityfiles import FixtureCity, make_fixture_city

# Stored coverage, which imports now refresh: emptied too, so no test sees another's.
COVERAGE_TABLES = ("grid_coverage", "service_areas", "coverage_refreshes")

# One per test process: two runs on one cluster never drop each other's database.
GEODATA_DATABASE = f"gridsvc_test_geodata_{os.getpid()}"


@pytest.fixture(scope="session")
def geodata_url(settings: Settings) -> Iterator[str]:
    yield migrated_database(settings, GEODATA_DATABASE)
    cluster_service.drop_database(settings, GEODATA_DATABASE)


@pytest.fixture(scope="session")
def geodata_engine(geodata_url: str) -> Iterator[Engine]:
    engine = create_engine(geodata_url)
    yield engine
    engine.dispose()


@pytest.fixture
def geodata_db(
    geodata_url: str, geodata_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Engine]:
    """Empty city and coverage tables; the CLI and the app use this database."""
    with geodata_engine.begin() as connection:
        tables = [*CITY_TABLES, *COVERAGE_TABLES]
        connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY"))
    monkeypatch.setenv("GRIDSVC_DATABASE_URL", geodata_url)
    get_settings.cache_clear()
    yield geodata_engine
    get_settings.cache_clear()


@pytest.fixture
def city_files(tmp_path: Path) -> FixtureCity:
    return make_fixture_city(tmp_path)


class Cli:
    """Run ``gridsvc`` in-process and read the database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.runner = CliRunner()

    def __call__(self, *args: object):
        return self.runner.invoke(app, [str(arg) for arg in args])

    def ok(self, *args: object):
        result = self(*args)
        assert result.exit_code == 0, result.output
        return result

    def scalar(self, sql: str, **parameters: object) -> object:
        with self.engine.connect() as connection:
            return connection.execute(text(sql), parameters).scalar()

    def rows(self, sql: str, **parameters: object) -> list[tuple]:
        with self.engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql), parameters)]

    def count(self, table: str) -> int:
        return int(self.scalar(f"SELECT count(*) FROM {table}"))

    def load_boundaries(self, city: FixtureCity, *, up_to: str = "grids") -> None:
        for layer in ("districts", "streets", "communities", "grids"):
            self.ok("import", layer, city.files[layer])
            if layer == up_to:
                return


@pytest.fixture
def cli(geodata_db: Engine) -> Cli:
    return Cli(geodata_db)
