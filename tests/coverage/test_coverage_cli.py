"""``gridsvc coverage``: a report per district or grid, a CSV, clear errors."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gridsvc.cli import app
from gridsvc.config import get_settings

runner = CliRunner()


@pytest.fixture
def cli_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("GRIDSVC_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_unknown_circle_is_a_red_message_and_exit_1(cli_env: None) -> None:
    result = runner.invoke(app, ["coverage", "report", "--circle", "nope"])
    assert result.exit_code == 1
    assert "unknown circle 'nope'" in result.output and "culture_5min" in result.output


def test_circles_lists_every_circle() -> None:
    result = runner.invoke(app, ["coverage", "circles"])
    assert result.exit_code == 0
    assert "consumption_10min" in result.output and "500 m" in result.output


def test_report_per_grid_to_csv(cli_env: None, loaded_demo_city, tmp_path: Path) -> None:
    counts = loaded_demo_city.grids["community_code"].str[:6].value_counts()
    district = str(counts.idxmin())
    target = tmp_path / "coverage.csv"
    arguments = ["coverage", "report", "--circle", "consumption_10min", "--mode", "euclidean"]
    arguments += ["--level", "grid", "--district", district, "--csv", str(target)]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 0, result.output
    with target.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == counts[district]
    assert {"code", "coverage", "residents", "uncovered_residents"} <= set(rows[0])
    assert all(0 <= float(row["coverage"]) <= 1 for row in rows)
    district_total = runner.invoke(app, [*arguments[:6], "--district", district])
    assert district in district_total.output
