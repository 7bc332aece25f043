"""The README runs as written: its curl examples, and the commands they need, on a server.

Every ``curl`` line of the README's ``sh`` blocks runs with the real ``curl`` against a
gridsvc server on 127.0.0.1 over a demo city of its own (150 grids, coverage stored),
with the README's own token commands. A command left out is named in ``NOT_RUN`` with
its reason; an example that answers 4xx or 5xx fails the test.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from gridsvc.cluster import service as cluster_service
from gridsvc.config import Settings
from tests.conftest import TEST_DATABASE, TEST_DEMO_SEED, migrated_database
from tests.maps.conftest import ARTIFACTS, serve_app

ROOT = Path(__file__).resolve().parents[1]
GRIDSVC = Path(sys.executable).with_name("gridsvc")
README_DATABASE = f"{TEST_DATABASE}_readme"
# Enough for every example: all nine districts, the grid and the points the README names.
README_GRIDS = 150
# The documented subset: what is not run here, and why.
NOT_RUN = {
    "/api/v1/grids/rebalance/apply": "replaces the city's grids (tested in tests/grids)",
}
ASSIGNMENT = re.compile(r"^([A-Z_]+)=\$\((.*?)\)\s*(#.*)?$")
STATUS_MARK = "\n__status__"
SUBMIT = re.compile(r"-X POST \S+/api/v1/issues\s")


def readme_commands() -> list[str]:
    """The README's curl commands and the variable assignments before them, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    commands: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip()
            if line.startswith("curl ") or ASSIGNMENT.match(line):
                commands.append(line)
    return commands


@pytest.fixture(scope="module")
def readme_server(settings: Settings) -> Iterator[tuple[str, dict[str, str]]]:
    """A server over a small demo city with stored coverage, in a database of its own."""
    from gridsvc.coverage import refresh
    from gridsvc.geodata import city_loader
    from gridsvc.geodata.demo.build import build_demo_city

    url = migrated_database(settings, README_DATABASE)
    engine = create_engine(url)
    with Session(engine) as session, session.begin():
        city = build_demo_city(TEST_DEMO_SEED, grids=README_GRIDS)
        for _ in city_loader.load_city(session, city):
            pass
        refresh.refresh(session)
    engine.dispose()
    env = {"GRIDSVC_DATABASE_URL": url, "GRIDSVC_MAP_TILES": "none", "GRIDSVC_SCHEDULER": "false"}
    try:
        yield from ((base, env) for base in serve_app(env, ARTIFACTS / "readme-server.log"))
    finally:
        cluster_service.drop_database(settings, README_DATABASE)


def run(command: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", command], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_the_readme_has_examples_for_every_part() -> None:
    commands = readme_commands()
    for part in ("/api/v1/grids", "/api/v1/coverage", "/api/v1/issues", "/ogc/", "/open311/"):
        assert any(part in command for command in commands), part


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_every_curl_example_answers(readme_server, tmp_path: Path) -> None:
    base, server_env = readme_server
    env = {**os.environ, **server_env}
    host = base.removeprefix("http://")
    # The photo the README's upload example sends.
    Image.new("RGB", (64, 48), (120, 90, 60)).save(tmp_path / "pothole.jpg", "JPEG")
    issue: dict = {}
    ran = 0
    for command in readme_commands():
        command = command.replace(".venv/bin/gridsvc", str(GRIDSVC))
        command = command.replace("localhost:8000", host)
        if issue:
            command = command.replace("SECRET", issue["secret"])
            command = command.replace("/api/v1/issues/1/", f"/api/v1/issues/{issue['id']}/")
        if any(path in command for path in NOT_RUN):
            continue
        assignment = ASSIGNMENT.match(command)
        if assignment:
            result = run(assignment.group(2), env, tmp_path)
            assert result.returncode == 0, (command, result.stderr)
            env[assignment.group(1)] = result.stdout.strip()
            continue
        # The options go first: a README line may end in a comment.
        options = f"curl -sS -w '{STATUS_MARK}%{{http_code}}' "
        result = run(command.replace("curl ", options, 1), env, tmp_path)
        assert result.returncode == 0, (command, result.stderr)
        body, _, status = result.stdout.rpartition(STATUS_MARK)
        assert int(status) < 400, (command, status, body[:500])
        ran += 1
        if SUBMIT.search(command):
            issue = json.loads(body)
    assert issue, "the README's report example did not run"
    assert ran == sum(
        1
        for command in readme_commands()
        if command.startswith("curl ") and not any(path in command for path in NOT_RUN)
    )
