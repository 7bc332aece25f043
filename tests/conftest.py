"""Fixtures: one migrated PostGIS test database per run, a transaction per test rolled back."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session
from starlette.datastructures import State

from gridsvc.cluster import service as cluster_service
from gridsvc.cluster.migrations import migrate
from gridsvc.common.memory import freeze_long_lived
from gridsvc.config import Settings, get_settings
from gridsvc.db import get_session
from tests.factories import LatticeCity, make_test_city

# Tests that mean to hit the anonymous report limits set their own; the rest submit freely.
os.environ.setdefault("GRIDSVC_RATE_LIMIT_PER_ADDRESS", "1000000/hour")
os.environ.setdefault("GRIDSVC_RATE_LIMIT_PER_DEVICE", "1000000/hour")
# The scheduler's jobs would run against the configured database: tests run them by hand.
os.environ.setdefault("GRIDSVC_SCHEDULER", "false")
# Likewise the city's warm-up: tests that mean to warm it start it on the test database.
os.environ.setdefault("GRIDSVC_WARM_CITY", "false")

# The CLI tests' committed database and city files, one session fixture for every folder.
pytest_plugins = ["tests.city_cli"]

# Tests never touch the demo's database. Under pytest-xdist (``make test`` runs one worker
# per core) each worker has its own: gridsvc_test_gw0, gridsvc_test_gw1...
_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
TEST_DATABASE = os.environ.get("GRIDSVC_TEST_DATABASE", "gridsvc_test") + (
    f"_{_WORKER}" if _WORKER else ""
)
# The tests' city spans the demo city (Ordos) and the lattice test city at 113.5°E 35.5°N,
# so that points of both pass the "inside the city" checks.
os.environ.setdefault("GRIDSVC_CITY_BBOX", "106.7,35.4,113.6,40.8")


def uses_the_full_city(item: pytest.Item) -> bool:
    names = getattr(item, "fixturenames", ())
    return any(name == "full_demo_city" or name.startswith("full_city_") for name in names)


# What a test drives, by the fixtures it uses (directly or through others): marked so, a
# quick run can leave them out (``make test-fast``); ``make test`` and CI run them all.
DRIVES = {
    "browser": {"chromium"},  # Debian's headless Chromium (``browser`` takes it too)
    "dask": {"local_client", "dask_scheduler"},  # a Dask scheduler and its workers
}


# The slowest groups, slowest first (``--durations=0`` on 2 cores: seconds of setup and
# calls in ``make test``, and in ``make test-fast`` where it leaves tests out): handed out
# first, so that no worker starts one of them while the other has nothing left. The rest
# follow by their number of tests, as xdist orders them (the Makefile turns its own
# reordering off).
SLOWEST_FIRST = (
    "full_city",  # minutes: the full-size city built, loaded and computed
    "tests/region/test_region_districts.py",  # 47 s with Dask, 5 s without
    "tests/region/test_region_distributed.py",  # 22 s: a scheduler and two workers
    "tests/test_readme.py",  # 21 s: a server over a demo city of its own
    "tests/test_schemathesis.py",  # 21 s
    "tests/maps/test_maps_export.py",  # 17 s with Chromium
    "tests/region/test_region_end_to_end.py",  # 15 s with Dask
    "tests/geodata/test_roundtrip.py",  # 11 s
    "tests/grids/test_rebalance_api.py",  # 8 s
    "tests/geodata/test_demo_city.py",  # 7 s
)


def slowest_first(items: list[pytest.Item], group_of: dict[str, str]) -> list[pytest.Item]:
    """``items`` with their groups in the order to hand them out; a group's own order kept."""
    sizes: dict[str, int] = {}
    for item in items:
        sizes[group_of[item.nodeid]] = sizes.get(group_of[item.nodeid], 0) + 1

    def rank(item: pytest.Item) -> tuple[int, int]:
        group = group_of[item.nodeid]
        if group in SLOWEST_FIRST:
            return (SLOWEST_FIRST.index(group), 0)
        return (len(SLOWEST_FIRST), -sizes[group])

    return sorted(items, key=rank)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Group tests for xdist's ``--dist loadgroup``; refuse an unmarked full-city test.

    A module runs on one worker, so its module-scoped fixtures (committed cities, servers,
    clusters) are built once; every full-city test runs on one worker, so the full-size
    city is built once; the slowest groups come first. Without xdist the marks are inert.
    """
    group_of: dict[str, str] = {}
    for item in items:
        full = item.get_closest_marker("full_city") is not None
        group = "full_city" if full else item.nodeid.split("::")[0]
        group_of[item.nodeid] = group
        item.add_marker(pytest.mark.xdist_group(group))
        names = set(getattr(item, "fixturenames", ()))
        for mark, fixtures in DRIVES.items():
            if names & fixtures:
                item.add_marker(mark)
    unmarked = [
        item.nodeid
        for item in items
        if uses_the_full_city(item) and item.get_closest_marker("full_city") is None
    ]
    if unmarked:
        raise pytest.UsageError(f"mark these full_city (they use the full-size city): {unmarked}")
    items[:] = slowest_first(items, group_of)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Keep the cyclic garbage collector off what lives the whole run.

    The modules, the app and the collected tests are never garbage: frozen, the collector no
    longer walks them, and it collects the young less often. tests/issues and tests/grids
    take 8-9 % less CPU (46.7-48.1 s against 51.3-52.5 s of user time, two runs each).
    """
    gc.collect()
    freeze_long_lived()
    gc.set_threshold(50_000, 20, 100)


def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    """Refuse a run whose ``--dist loadgroup`` did not group (xdist writes each test's group
    into its node id; a pytest that keeps the id elsewhere silently splits modules)."""
    if node.config.option.dist != "loadgroup":
        return
    ungrouped = [nodeid for nodeid in ids if "@" not in nodeid]
    if ungrouped:
        pytest.exit(
            f"--dist loadgroup did not group {len(ungrouped)} tests (first: {ungrouped[0]}); "
            "install the pytest and pytest-xdist versions of constraints.txt",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )


# Each new test database is a copy of one this process migrates once: CREATE DATABASE ...
# TEMPLATE takes about 0.1 s where creating the extensions and migrating take 1.5 s.
TEMPLATE_DATABASE = f"{TEST_DATABASE}_template"
_TEMPLATE_MADE: list[str] = []


def migrated_database(settings: Settings, name: str) -> str:
    """Drop database ``name`` and make it anew at the head revision; return its URL."""
    cluster_service.start(settings)
    if not _TEMPLATE_MADE:  # migrated again in each run: the revisions may have changed
        cluster_service.drop_database(settings, TEMPLATE_DATABASE)
        migrate(cluster_service.ensure_database(settings, TEMPLATE_DATABASE))
        _TEMPLATE_MADE.append(TEMPLATE_DATABASE)
    cluster_service.drop_database(settings, name)
    with cluster_service.autocommit_connection(
        cluster_service.database_url(settings, "postgres")
    ) as connection:
        quote = connection.dialect.identifier_preparer.quote
        connection.execute(
            text(f"CREATE DATABASE {quote(name)} TEMPLATE {quote(TEMPLATE_DATABASE)}")
        )
    return cluster_service.database_url(settings, name)


@pytest.fixture(scope="session")
def settings() -> Settings:
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture(scope="session")
def database_url(settings: Settings) -> str:
    """A freshly migrated test database on the configured server or the embedded cluster."""
    return migrated_database(settings, TEST_DATABASE)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


def engine_of_its_own(suffix: str):
    """A module-scoped ``engine`` over a migrated database holding only what the module adds.

    For modules whose tests refresh the whole city's coverage: over the shared test
    database they would also refresh the demo city other modules committed there.
    Assign it to ``engine`` in the module; ``db_session`` and ``client`` then use it.
    """

    @pytest.fixture(scope="module")
    def engine(settings: Settings) -> Iterator[Engine]:
        name = f"{TEST_DATABASE}_{suffix}"
        own = create_engine(migrated_database(settings, name))
        yield own
        own.dispose()
        cluster_service.drop_database(settings, name)

    return engine


@pytest.fixture
def client(db_session: Session) -> Iterator[TestClient]:
    """The app, its session dependency replaced by the test's rolled-back session."""
    with TestClient(app_on(db_session)) as test_client:
        yield test_client


# One app per worker while the settings stay as they were when it was built: FastAPI
# builds every route's dependencies anew on an app's first request (75 ms, some 300 times
# a run). Each test gets it with its state and dependency overrides cleared.
_SHARED: dict[str, Any] = {}


def shared_app() -> FastAPI:
    """The app built with today's settings, fresh state and no dependency overrides."""
    settings = get_settings().model_dump()
    if _SHARED.get("settings") != settings:
        from gridsvc.main import create_app  # not at import: xdist's controller needs no app

        _SHARED.update(app=create_app(), settings=settings)
    app = _SHARED["app"]
    app.state = State()
    app.dependency_overrides.clear()
    return app


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    """The app's OpenAPI document, built once per process (modules read it as they load)."""
    from gridsvc.main import create_app

    return create_app().openapi()


def app_on(session: Session) -> FastAPI:
    """The app, every request in ``session``: a commit releases a savepoint only."""
    app = shared_app()

    def test_session() -> Iterator[Session]:
        try:
            yield session
            session.commit()  # releases the savepoint only; the test rolls all back
        except BaseException:
            session.rollback()
            raise

    app.dependency_overrides[get_session] = test_session
    return app


@pytest.fixture
def city(db_session: Session) -> LatticeCity:
    """A small lattice city (district 150699, far from Ordos) beside the demo city."""
    return make_test_city(db_session)


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


# The demo city the tests load once per run: a fixed seed of their own, and small (about
# an eighth of the city) so that every test over it is quick. Tests of the full-size city's
# own numbers are marked ``full_city`` and use the full_* fixtures below.
TEST_DEMO_SEED = 7
TEST_DEMO_GRIDS = 800
FULL_CITY_DATABASE = f"{TEST_DATABASE}_full"


@pytest.fixture(scope="session")
def demo_city():  # DemoCity, imported lazily
    from gridsvc.geodata.demo.build import build_demo_city

    return build_demo_city(seed=TEST_DEMO_SEED, grids=TEST_DEMO_GRIDS)


@pytest.fixture(scope="session")
def loaded_demo_city(engine: Engine, demo_city):
    """The small demo city, committed into the test database once for the whole run."""
    load_committed(engine, demo_city)
    return demo_city


@pytest.fixture(scope="session")
def full_demo_city():  # DemoCity, imported lazily
    """The full-size demo city (6,702 grids): only for tests marked ``full_city``."""
    from gridsvc.geodata.demo.build import build_demo_city

    return build_demo_city(seed=TEST_DEMO_SEED)


@pytest.fixture(scope="session")
def full_city_database_url(settings: Settings, full_demo_city) -> str:
    """A second migrated test database with the full-size demo city committed."""
    url = migrated_database(settings, FULL_CITY_DATABASE)
    engine = create_engine(url)
    try:
        load_committed(engine, full_demo_city)
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="session")
def full_city_engine(full_city_database_url: str) -> Iterator[Engine]:
    engine = create_engine(full_city_database_url)
    yield engine
    engine.dispose()


def load_committed(engine: Engine, city) -> None:
    from gridsvc.geodata import city_loader

    with Session(engine) as session, session.begin():
        for _ in city_loader.load_city(session, city):
            pass


@pytest.fixture(scope="session")
def chromium() -> str:
    """The path of Debian's chromium, or a skip when it is not installed.

    For tests whose Chromium runs in the code under test (PDF bulletins, map export);
    tests that drive pages themselves take :func:`browser`.
    """
    from gridsvc.common.browser import chromium_path

    try:
        return chromium_path()
    except ValueError:
        pytest.skip("Debian's chromium is not installed (make test installs it)")


@pytest.fixture(scope="session")
def browser(chromium: str) -> Iterator[object]:
    """Headless Debian chromium.

    One for the whole run, here at the root: Playwright's sync API allows one running
    instance per thread, so every browser test (maps, residents, bulletins) shares it.
    """
    from gridsvc.common.browser import launch_chromium

    with launch_chromium() as running:
        yield running
