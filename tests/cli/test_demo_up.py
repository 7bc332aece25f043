"""`gridsvc demo up`: make demo's steps in one process, in order, stopping at a failed one."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from gridsvc import cli

runner = CliRunner()


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    calls: list[dict] = []
    monkeypatch.setattr(cli, "serve", lambda **options: calls.append(options))
    return calls


def test_demo_up_runs_each_step_then_serves(monkeypatch, served) -> None:
    monkeypatch.setattr(cli, "DEMO_STEPS", (("coverage", "circles"), ("db", "url", "--libpq")))
    result = runner.invoke(cli.app, ["demo", "up", "--port", "8123"])
    assert result.exit_code == 0, result.output
    # Each step's own output, in order, with its time; then the server with the options.
    circles = result.stdout.index("living_10min")
    assert circles < result.stdout.index("postgresql://")
    assert result.stderr.count(" s\n") == 2 and "demo ready in" in result.stderr
    assert served == [{"host": None, "port": 8123, "workers": None}]


def test_a_failed_step_stops_demo_up_before_serving(monkeypatch, served) -> None:
    steps = (("demo", "build", "--grids", "3"), ("coverage", "circles"))
    monkeypatch.setattr(cli, "DEMO_STEPS", steps)
    result = runner.invoke(cli.app, ["demo", "up"])
    assert result.exit_code == 2 and "--grids" in result.output  # click's usage error
    assert "living_10min" not in result.stdout and served == []
