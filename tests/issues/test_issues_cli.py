from __future__ import annotations

from typer.testing import CliRunner

from gridsvc.cli import app
from gridsvc.config import get_settings

runner = CliRunner()


def test_escalate_runs_against_the_configured_database(database_url, monkeypatch) -> None:
    monkeypatch.setenv("GRIDSVC_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["issues", "escalate"])
    finally:
        monkeypatch.delenv("GRIDSVC_DATABASE_URL")
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "overdue case(s) escalated" in result.output
