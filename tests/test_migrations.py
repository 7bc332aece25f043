"""The schema comes from Alembic only: up, down to nothing, and up again, matching the models."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine, inspect, text

import gridsvc.models  # noqa: F401 - registers the tables
from gridsvc.cluster import migrations
from gridsvc.cluster import service as cluster_service
from gridsvc.cluster.migrations import downgrade, migrate
from gridsvc.config import Settings
from gridsvc.db import Base
from tests.conftest import TEST_DATABASE

MIGRATIONS_DATABASE = f"{TEST_DATABASE}_migrations"
TABLES = {
    "departments",
    "issue_categories",
    "category_deadlines",
    "department_routes",
    "issues",
    "issue_events",
    "idempotency_keys",
    "issue_photos",
    "districts",
    "streets",
    "communities",
    "grids",
    "facility_types",
    "facilities",
    "population_points",
    "network_nodes",
    "network_edges",
    "service_areas",
    "grid_coverage",
    "coverage_refreshes",
    "coverage_facilities",
    "city_metric_crs",
    "rate_limits",
    "issued_bulletins",
    "data_versions",
}

# Issue tables without a geometry (issues itself has one, with its GiST index).
ISSUE_TABLES_WITHOUT_GEOMETRY = {
    "departments",
    "issue_categories",
    "category_deadlines",
    "department_routes",
    "issue_events",
    "idempotency_keys",
    "issue_photos",
    "issued_bulletins",
}


@pytest.fixture(scope="module")
def empty_database_url(settings: Settings) -> Iterator[str]:
    cluster_service.start(settings)
    cluster_service.drop_database(settings, MIGRATIONS_DATABASE)
    yield cluster_service.ensure_database(settings, MIGRATIONS_DATABASE)
    cluster_service.drop_database(settings, MIGRATIONS_DATABASE)


def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"spatial_ref_sys", "alembic_version"}
    finally:
        engine.dispose()


def schema_differences(url: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={"include_object": alembic_helpers.include_object, "compare_type": True},
            )
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def gist_indexed_tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT tablename FROM pg_indexes WHERE indexdef LIKE '%USING gist (geom)%'")
            )
            return {row[0] for row in rows}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(empty_database_url: str) -> None:
    url = empty_database_url
    migrate(url)
    assert table_names(url) == TABLES
    assert schema_differences(url) == []
    downgrade(url, "base")
    assert table_names(url) == set()
    migrate(url)
    assert table_names(url) == TABLES
    assert schema_differences(url) == []


def test_every_geometry_has_a_gist_index(empty_database_url: str) -> None:
    migrate(empty_database_url)
    assert (
        gist_indexed_tables(empty_database_url)
        == TABLES
        - {"facility_types", "coverage_refreshes", "coverage_facilities", "rate_limits"}
        - {"city_metric_crs"}
        - {"data_versions"}
        - ISSUE_TABLES_WITHOUT_GEOMETRY
    )


def compression_of(url: str, table: str) -> str:
    """The compression method set on ``table``'s geometry ('' is the server's default)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.scalar(
                text(
                    "SELECT attcompression FROM pg_attribute "
                    "WHERE attrelid = CAST(:table AS regclass) AND attname = 'geom'"
                ),
                {"table": table},
            )
    finally:
        engine.dispose()


def test_coverage_geometries_are_compressed_with_lz4_and_back(empty_database_url: str) -> None:
    url = empty_database_url
    migrate(url)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            choices = connection.scalar(
                text("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")
            )
    finally:
        engine.dispose()
    assert "lz4" in choices  # Debian's PostgreSQL 15 is built with it
    tables = ("grid_coverage", "service_areas")
    assert [compression_of(url, table) for table in tables] == ["l", "l"]
    assert compression_of(url, "grids") == ""
    downgrade(url, "0012_city_metric_crs")
    assert [compression_of(url, table) for table in tables] == ["", ""]
    migrate(url)
    assert [compression_of(url, table) for table in tables] == ["l", "l"]


def test_migrate_if_behind_upgrades_a_behind_database_and_leaves_a_current_one(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = empty_database_url
    downgrade(url, "base")
    engine = create_engine(url)
    try:
        migrations.migrate_if_behind(engine)  # from nothing
        assert table_names(url) == TABLES
        downgrade(url, "-1")
        migrations.migrate_if_behind(engine)  # one revision behind
        with engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
        assert current == migrations.head_revisions() != set()
        calls: list[str] = []
        monkeypatch.setattr(migrations, "migrate", lambda *args: calls.append(args[0]))
        migrations.migrate_if_behind(engine)  # current: alembic is not run
        assert calls == []
        downgrade(url, "-1")
        migrations.migrate_if_behind(engine)
        assert len(calls) == 1
    finally:
        engine.dispose()
        migrate(url)
