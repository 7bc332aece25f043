"""A real gridsvc server over the test database, and headless Chromium to look at its maps.

The server is uvicorn in a subprocess on a free loopback port, pointed at the test
database with the demo city committed. The browser is Debian's ``chromium`` driven by
Playwright; every request to anything but the loopback is recorded and refused, so a test
can assert that a page loads nothing from the internet.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import urlopen

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridsvc.config import get_settings
from tests.maps.helpers import CIRCLE

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            with urlopen(url, timeout=2) as response:  # loopback only
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server did not answer {url} within {timeout:.0f} s")


def serve_app(settings: dict[str, str], log_path: Path) -> Iterator[str]:
    """Run gridsvc under uvicorn (a subprocess) with ``settings``; yield its base URL."""
    port = free_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "gridsvc.main:app", "--host", "127.0.0.1"]
        + ["--port", str(port), "--log-level", "warning"],
        env={**os.environ, **settings},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/health", process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


@pytest.fixture
def test_database_settings(database_url: str, monkeypatch) -> Iterator[None]:
    """The CLI's settings (and so :func:`gridsvc.db.get_engine`) point at the test database."""
    monkeypatch.setenv("GRIDSVC_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def server_url(database_url: str, loaded_demo_city) -> Iterator[str]:
    """Base URL of a gridsvc server serving the test database with the demo city."""
    settings = {"GRIDSVC_DATABASE_URL": database_url, "GRIDSVC_MAP_TILES": "none"}
    yield from serve_app(settings, ARTIFACTS / "server.log")


@pytest.fixture(scope="session")
def full_city_server_url(full_city_database_url: str) -> Iterator[str]:
    """Base URL of a gridsvc server over the full-size demo city (tests marked full_city)."""
    settings = {"GRIDSVC_DATABASE_URL": full_city_database_url, "GRIDSVC_MAP_TILES": "none"}
    yield from serve_app(settings, ARTIFACTS / "server-full-city.log")


@dataclass
class WatchedPage:
    """A page with what it asked for beyond the loopback and what its console reported."""

    page: object
    outside_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.outside_requests == [], f"requests left localhost: {self.outside_requests}"
        assert self.console_errors == [], f"console errors: {self.console_errors}"

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path


def is_local(url: str) -> bool:
    parsed = urlparse(url)
    if parsed.scheme in ("file", "data", "blob", "about"):
        return True
    return parsed.hostname in LOCAL_HOSTS


@pytest.fixture
def watched_page(browser) -> Iterator[WatchedPage]:
    """A fresh page, 1280x800, refusing and recording every request off the loopback."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    watched = WatchedPage(page)

    def guard(route, request) -> None:
        if is_local(request.url):
            route.continue_()
        else:
            watched.outside_requests.append(request.url)
            route.abort()

    page.route("**/*", guard)
    page.on(
        "console",
        lambda message: (
            watched.console_errors.append(message.text) if message.type == "error" else None
        ),
    )
    page.on("pageerror", lambda error: watched.console_errors.append(str(error)))
    yield watched
    context.close()


@pytest.fixture(scope="module")
def stored_district(engine, loaded_demo_city) -> Iterator[str]:
    """A district's stored coverage of CIRCLE, committed for the server; removed after.

    Module-scoped: the maps of other modules draw live coverage (GeoJSON) while none is stored.
    """
    from gridsvc.coverage import refresh

    code = loaded_demo_city.districts["code"].iloc[3]
    with Session(engine) as session, session.begin():
        refresh.refresh(session, district=code, circle_codes=[CIRCLE])
    yield code
    with Session(engine) as session, session.begin():
        session.execute(
            text("DELETE FROM grid_coverage WHERE circle = :c AND district_code = :d"),
            {"c": CIRCLE, "d": code},
        )
