"""The command line for GIS analysts: a libpq URL psql accepts, exports that keep files."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gridsvc.cli import app
from tests.conftest import TEST_DATABASE

runner = CliRunner()


@pytest.mark.skipif(shutil.which("psql") is None, reason="needs psql")
def test_db_url_libpq_is_what_psql_accepts(database_url: str) -> None:
    result = runner.invoke(app, ["db", "url", "--libpq", "--database", TEST_DATABASE])
    assert result.exit_code == 0, result.output
    url = result.output.strip()
    assert url.startswith("postgresql://") and "+psycopg" not in url
    done = subprocess.run(
        ["psql", url, "-Atc", "SELECT current_database()"],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    assert done.stdout.strip() == TEST_DATABASE


def test_export_refuses_to_overwrite_without_the_option(tmp_path: Path) -> None:
    target = tmp_path / "grids.gpkg"
    target.write_bytes(b"precious")
    result = runner.invoke(app, ["export", "grids", str(target)])
    assert result.exit_code == 1 and "--overwrite" in result.output
    assert target.read_bytes() == b"precious"
    shifted = tmp_path / "grids-gcj02.gpkg"
    shifted.write_bytes(b"precious too")
    result = runner.invoke(app, ["export", "grids", str(target), "--crs", "gcj02"])
    assert result.exit_code == 1 and "grids-gcj02.gpkg" in result.output


def test_export_help_names_the_new_options() -> None:
    result = runner.invoke(app, ["export", "--help"])
    assert result.exit_code == 0
    for option in ("--overwrite", "--district", "--crs"):
        assert option in result.output
