"""The command line: help everywhere, the demo build into a database of its own, idempotence."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyogrio
import pytest
from sqlalchemy import create_engine, text
from typer.main import get_command
from typer.testing import CliRunner

from gridsvc.cli import app
from gridsvc.cluster import service as cluster_service
from gridsvc.config import Settings, get_settings
from tests.conftest import TEST_DATABASE

CLI_DATABASE = f"{TEST_DATABASE}_cli"
runner = CliRunner()


def all_command_paths() -> list[list[str]]:
    paths: list[list[str]] = []

    def walk(command, prefix: list[str]) -> None:
        paths.append(prefix)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*prefix, name])

    walk(get_command(app), [])
    return paths


@pytest.mark.parametrize("path", all_command_paths(), ids=lambda p: " ".join(p) or "gridsvc")
def test_every_command_has_help(path: list[str]) -> None:
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


@pytest.fixture
def cli_database(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    cluster_service.drop_database(settings, CLI_DATABASE)
    url = cluster_service.ensure_database(settings, CLI_DATABASE)
    monkeypatch.setenv("GRIDSVC_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()
    cluster_service.drop_database(settings, CLI_DATABASE)


def counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as connection:
        found = {
            table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("districts", "grids", "facilities", "population_points")
        }
    engine.dispose()
    return found


def test_demo_build_loads_the_city_and_writes_a_geopackage(cli_database: str, tmp_path: Path):
    gpkg = tmp_path / "city.gpkg"
    result = runner.invoke(app, ["demo", "build", "--grids", "300", "--gpkg", str(gpkg)])
    assert result.exit_code == 0, result.output
    loaded = counts(cli_database)
    assert loaded["districts"] == 9
    assert loaded["grids"] == 300
    layers = dict(pyogrio.list_layers(gpkg))
    assert set(layers) >= {"districts", "grids", "facilities", "population", "network_edges"}
    assert pyogrio.read_info(gpkg, layer="grids")["features"] == 300

    again = runner.invoke(app, ["demo", "build", "--grids", "300", "--gpkg", str(gpkg)])
    assert again.exit_code == 0
    assert "already in the database" in again.output
    assert counts(cli_database) == loaded

    replaced = runner.invoke(
        app, ["demo", "build", "--grids", "200", "--replace", "--gpkg", str(gpkg)]
    )
    assert replaced.exit_code == 0, replaced.output
    assert counts(cli_database)["grids"] == 200


def test_serve_refuses_a_port_in_use(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = runner.invoke(app, ["serve", "--port", str(port)])
    assert result.exit_code == 1
    assert "already in use" in result.output


def test_demo_build_without_a_cluster_says_what_to_do(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("GRIDSVC_DATABASE_URL", raising=False)
    monkeypatch.setenv("GRIDSVC_HOME", str(tmp_path / "nowhere"))
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["demo", "build", "--grids", "50"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "gridsvc db start" in result.output
