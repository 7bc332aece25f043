"""Every command that needs the database, with the database down: one line, exit 1.

Never the shared cluster: the external case points GRIDSVC_DATABASE_URL at a port where
nothing listens; the embedded case points GRIDSVC_HOME at a folder with no cluster, or
with a remembered port where no server runs (a cluster set up, then stopped).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gridsvc.cli import app
from gridsvc.config import get_settings

ROOT = Path(__file__).resolve().parents[2]
NOWHERE_URL = "postgresql+psycopg://x@127.0.0.1:1/x"
POINT = '{"type":"FeatureCollection","features":[]}'

# Every command that reads or writes the database, with the arguments it needs.
DATABASE_COMMANDS = [
    ["db", "migrate"],
    ["demo", "build", "--grids", "20"],
    ["coverage", "refresh"],
    ["coverage", "report", "--circle", "living_15min"],
    *[["import", layer, "{file}"] for layer in ("districts", "grids", "facilities", "population")],
    ["import", "osm", "{file}"],
    ["export", "grids", "{out}"],
    ["facilities", "sources"],
    ["facilities", "withdraw", "osm"],
    ["maps", "render", "--out", "{folder}"],
    ["issues", "escalate"],
    ["bulletin", "--output", "{folder}"],
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stopped_cluster_home(folder: Path) -> Path:
    """A home whose cluster was set up (port and password remembered) but does not run."""
    folder.mkdir()
    (folder / "port").write_text(str(free_port()))
    (folder / "password").write_text("secret")
    return folder


DOWN = {
    "external": lambda tmp: {"GRIDSVC_DATABASE_URL": NOWHERE_URL, "GRIDSVC_HOME": str(tmp)},
    "embedded, not set up": lambda tmp: {"GRIDSVC_HOME": str(tmp / "empty")},
    "embedded, stopped": lambda tmp: {"GRIDSVC_HOME": str(stopped_cluster_home(tmp / "home"))},
}


@pytest.fixture(params=list(DOWN), ids=list(DOWN))
def down(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch) -> Iterator[dict[str, str]]:
    """Environment of a database that does not answer, set for in-process runs too."""
    environment = DOWN[request.param](tmp_path)
    monkeypatch.delenv("GRIDSVC_DATABASE_URL", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield environment
    get_settings.cache_clear()


def assert_one_line_saying_what_to_do(output: str) -> None:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert "gridsvc db start" in lines[0]
    assert "Traceback" not in output and "secret" not in output


@pytest.mark.parametrize("command", DATABASE_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_every_database_command_says_start_the_database(
    down: dict[str, str], tmp_path: Path, command: list[str]
) -> None:
    empty = tmp_path / "empty.geojson"
    empty.write_text(POINT)
    places = {"file": empty, "out": tmp_path / "out.gpkg", "folder": tmp_path / "maps"}
    args = [part.format(**places) for part in command]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert_one_line_saying_what_to_do(result.output)


def test_the_installed_command_prints_one_line(down: dict[str, str]) -> None:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **down}
    if "GRIDSVC_DATABASE_URL" not in down:
        environment.pop("GRIDSVC_DATABASE_URL", None)
    run = subprocess.run(
        [sys.executable, "-m", "gridsvc.cli", "coverage", "refresh"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1, run.stderr
    assert run.stdout == ""
    assert_one_line_saying_what_to_do(run.stderr)
