from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from typer.testing import CliRunner

from gridsvc.auth.roles import Role
from gridsvc.auth.tokens import (
    InvalidTokenError,
    Principal,
    issue_token,
    read_token,
    signing_secret,
)
from gridsvc.cli import app
from gridsvc.config import get_settings

SECRET = "a-test-secret-of-at-least-32-bytes!!"
runner = CliRunner()


def test_round_trip_keeps_role_and_scope() -> None:
    principal = Principal(Role.GRID_WORKER, "w1", grids=("150602001001001", "150602001001002"))
    assert read_token(issue_token(principal, SECRET, timedelta(minutes=5)), SECRET) == principal
    supervisor = Principal(Role.SUPERVISOR, "s", district="150602")
    assert read_token(issue_token(supervisor, SECRET, timedelta(minutes=5)), SECRET) == supervisor


@pytest.mark.parametrize(
    ("principal", "message"),
    [
        (Principal(Role.GRID_WORKER, "w"), "--grid"),
        (Principal(Role.DEPARTMENT, "d"), "--department"),
        (Principal(Role.ADMIN, "a", district="150602"), "only for supervisors"),
        (Principal(Role.SUPERVISOR, "s", district="15"), "6 digits"),
        (Principal(Role.SYSTEM, "x"), "system"),
    ],
)
def test_scope_must_fit_the_role(principal, message) -> None:
    with pytest.raises(ValueError, match=message):
        issue_token(principal, SECRET, timedelta(minutes=5))


def test_expired_forged_and_garbled_tokens_are_refused() -> None:
    principal = Principal(Role.ADMIN, "a")
    with pytest.raises(InvalidTokenError, match="expired"):
        read_token(issue_token(principal, SECRET, timedelta(seconds=-1)), SECRET)
    with pytest.raises(InvalidTokenError, match="invalid"):
        read_token(
            issue_token(principal, "another-test-secret-of-32-bytes-or-more", timedelta(minutes=5)),
            SECRET,
        )
    with pytest.raises(InvalidTokenError):
        read_token("not.a.token", SECRET)
    forged = jwt.encode({"iss": "gridsvc", "sub": "x", "role": "emperor", "exp": 2**40}, SECRET)
    with pytest.raises(InvalidTokenError):
        read_token(forged, SECRET)


def test_cli_prints_a_token_the_api_accepts(database_url, monkeypatch) -> None:
    monkeypatch.setenv("GRIDSVC_DATABASE_URL", database_url)  # it checks the department exists
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["token", "--role", "department", "--department", "transport"])
    finally:
        monkeypatch.delenv("GRIDSVC_DATABASE_URL")
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    principal = read_token(result.stdout.strip(), signing_secret(get_settings()))
    assert principal.role is Role.DEPARTMENT and principal.department == "transport"


def test_cli_errors_are_one_line_exit_1() -> None:
    result = runner.invoke(app, ["token", "--role", "emperor"])
    assert result.exit_code == 1 and "unknown role" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["token", "--role", "grid_worker"])
    assert result.exit_code == 1 and "--grid" in result.output


def test_unset_secret_is_random_per_home_and_kept(tmp_path) -> None:
    from gridsvc.config import Settings

    settings = Settings(home=tmp_path, token_secret=None)
    first = signing_secret(settings)
    assert len(first) >= 32 and signing_secret(settings) == first
    assert (tmp_path / "token-secret").stat().st_mode & 0o777 == 0o600
    assert signing_secret(Settings(home=tmp_path / "other")) != first
