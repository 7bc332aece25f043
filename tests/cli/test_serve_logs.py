"""`gridsvc serve` as a real process: no token or secret in its log, no server banner."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from gridsvc.auth.roles import Role
from gridsvc.auth.tokens import Principal, issue_token, signing_secret
from gridsvc.config import Settings
from tests.conftest import TEST_DATABASE

REPORTER_SECRET = "reporter-secret-d41d8cd98f"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_listening(port: int, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"gridsvc serve exited: {log.read_text()}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    pytest.fail(f"gridsvc serve did not listen within 60 s: {log.read_text()}")


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`gridsvc serve` on a free port against the test database; its output goes to a file."""
    port, log = free_port(), tmp_path / "serve.log"
    environment = {**os.environ, "GRIDSVC_DATABASE_NAME": TEST_DATABASE, "GRIDSVC_PORT": str(port)}
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gridsvc.cli", "serve"],
            stdout=output, stderr=subprocess.STDOUT, env=environment,
        )  # fmt: skip
    try:
        wait_until_listening(port, process, log)
        yield f"http://127.0.0.1:{port}", log
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_serve_logs_no_credentials_and_sends_no_banner(
    server: tuple[str, Path], settings: Settings
) -> None:
    base, log = server
    principal = Principal(role=Role.SUPERVISOR, subject="log-check")
    token = issue_token(principal, signing_secret(settings), timedelta(minutes=5))
    with httpx.Client(base_url=base, follow_redirects=False) as http:
        moved = http.get("/maps/issues", params={"token": token})
        assert moved.status_code == 303  # the token was real, and checked
        assert "server" not in moved.headers
        open311 = http.get(
            "/open311/v2/requests.json", params={"api_key": token, "jurisdiction_id": "x"}
        )
        assert "server" not in open311.headers
        http.get("/api/v1/track", params={"secret": REPORTER_SECRET})
        http.get(
            "/api/v1/issues",
            headers={"Authorization": f"Bearer {token}", "X-Reporter-Secret": REPORTER_SECRET},
        )
    time.sleep(0.5)  # the access log is written after each response
    text = log.read_text()
    assert "/maps/issues?token=***" in text and "api_key=***" in text
    assert "secret=***" in text and "GET /api/v1/issues HTTP/1.1" in text
    assert token not in text and token.split(".")[-1] not in text
    assert REPORTER_SECRET not in text
