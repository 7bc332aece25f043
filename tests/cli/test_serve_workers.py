"""`gridsvc serve` as a real process: its workers, and pools fitted to max_connections."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
from sqlalchemy import Engine, text

from gridsvc.common import serving
from tests.cli.test_serve_logs import free_port, wait_until_listening
from tests.conftest import TEST_DATABASE


def test_connection_limits_are_the_servers(engine: Engine, database_url: str) -> None:
    with engine.connect() as connection:
        expected = (
            int(connection.execute(text("SHOW max_connections")).scalar_one()),
            int(connection.execute(text("SHOW superuser_reserved_connections")).scalar_one()),
        )
    assert serving.connection_limits(database_url) == expected
    assert serving.connection_limits("postgresql+psycopg://nobody:x@127.0.0.1:1/none") is None


def test_serve_runs_the_workers_with_pools_that_fit(engine: Engine, tmp_path: Path) -> None:
    limits = serving.connection_limits(engine.url.render_as_string(hide_password=False))
    assert limits is not None
    # Leave six connections for two workers: three each, none on top.
    reserved = limits[0] - limits[1] - 6
    port, log = free_port(), tmp_path / "serve.log"
    environment = {**os.environ, "GRIDSVC_DATABASE_NAME": TEST_DATABASE, "GRIDSVC_PORT": str(port),
                   "GRIDSVC_WORKERS": "2", "GRIDSVC_DB_RESERVED_CONNECTIONS": str(reserved),
                   "GRIDSVC_SCHEDULER": "false"}  # fmt: skip
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gridsvc.cli", "serve"],
            stdout=output, stderr=subprocess.STDOUT, env=environment,
        )  # fmt: skip
    try:
        wait_until_listening(port, process, log)
        answers = [httpx.get(f"http://127.0.0.1:{port}/api/v1/districts") for _ in range(4)]
        assert all(answer.status_code == 200 for answer in answers)
        children = psutil.Process(process.pid).children()
        workers = [c for c in children if "spawn_main" in " ".join(c.cmdline())]
        assert len(workers) == 2
    finally:
        process.terminate()
        process.wait(timeout=30)
    time.sleep(0.1)
    printed = log.read_text()
    assert "runs 2 workers, each with a pool of 3 database connections (+0 under load)" in printed
    assert f"max_connections {limits[0]}" in printed
