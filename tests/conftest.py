"""Fixtures: one migrated PostGIS test database per run, a transaction per test rolled back."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session

from gridsvc.cluster import service as cluster_service
from gridsvc.config import Settings, get_settings
from gridsvc.db import migrate

# Tests never touch the demo's database.
TEST_DATABASE = os.environ.get("GRIDSVC_TEST_DATABASE", "gridsvc_test")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: builds the full-size demo city")


@pytest.fixture(scope="session")
def settings() -> Settings:
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture(scope="session")
def database_url(settings: Settings) -> str:
    """A freshly migrated test database on the configured server or the embedded cluster."""
    cluster_service.start(settings)
    cluster_service.drop_database(settings, TEST_DATABASE)
    url = cluster_service.ensure_database(settings, TEST_DATABASE)
    migrate(url)
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db_session(engine: Engine) -> Iterator[Session]:
    """A session whose work, commits included, is rolled back at the end of the test."""
    with engine.connect() as connection:
        transaction = connection.begin()
        session = Session(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            yield session
        finally:
            session.close()
            transaction.rollback()


# The demo city the tests load once per run: full size, a fixed seed of their own.
TEST_DEMO_SEED = 7


@pytest.fixture(scope="session")
def demo_city():  # noqa: ANN201 - DemoCity, imported lazily
    from gridsvc.geodata.demo.build import build_demo_city

    return build_demo_city(seed=TEST_DEMO_SEED)


@pytest.fixture(scope="session")
def loaded_demo_city(engine: Engine, demo_city):  # noqa: ANN001, ANN201
    """The demo city, committed into the test database once for the whole run."""
    from gridsvc.geodata import service as geodata_service

    with Session(engine) as session, session.begin():
        for _ in geodata_service.load_city(session, demo_city):
            pass
    return demo_city
