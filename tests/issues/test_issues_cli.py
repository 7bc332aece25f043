from __future__ import annotations

import pytest
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


def test_bulletin_writes_the_page_and_its_csv(database_url, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("GRIDSVC_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        arguments = ["bulletin", "--period", "month", "--date", "2025-11-15"]
        result = runner.invoke(app, [*arguments, "--output", str(tmp_path)])
        bad = runner.invoke(app, ["bulletin", "--period", "fortnight"])
    finally:
        monkeypatch.delenv("GRIDSVC_DATABASE_URL")
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    page = tmp_path / "bulletin-month-2025-11-01.html"
    assert "全市网格化管理2025年11月通报" in page.read_text(encoding="utf-8")
    table = (tmp_path / "bulletin-month-2025-11-01.csv").read_bytes()
    assert table.startswith(b"\xef\xbb\xbf") and b"table,period_start,code" in table
    assert bad.exit_code != 0 and "--period" in bad.output


@pytest.mark.parametrize(
    ("scope", "refusal"),
    [
        (["--role", "department", "--department", "nowhere"], "no department 'nowhere'"),
        (["--role", "grid_worker", "--grid", "150699099099099"], "no current grid"),
        (["--role", "supervisor", "--district", "150600"], "no current district '150600'"),
    ],
)
def test_token_refuses_a_scope_that_does_not_exist(database_url, monkeypatch, scope, refusal):
    monkeypatch.setenv("GRIDSVC_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        refused = runner.invoke(app, ["token", *scope])
        known = runner.invoke(app, ["token", "--role", "department", "--department", "transport"])
    finally:
        monkeypatch.delenv("GRIDSVC_DATABASE_URL")
        get_settings.cache_clear()
    assert refused.exit_code == 1 and refusal in refused.output, refused.output
    assert "Traceback" not in refused.output and refused.stdout.strip() == ""
    assert known.exit_code == 0 and known.stdout.count(".") == 2  # a JWT
