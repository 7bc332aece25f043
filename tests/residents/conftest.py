"""A real gridsvc over the test database with the demo city, and a phone in headless Chromium.

The phone is 390x844 with touch, in Chinese, its geolocation set inside a grid of
Dongsheng (东胜区). Every request it makes, its service worker's included, is recorded;
anything not on the loopback is refused and fails the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from tests.maps.conftest import (
    ARTIFACTS,
    WatchedPage,
    is_local,
    serve_app,
)

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
}
RESIDENTS_ARTIFACTS = ARTIFACTS / "residents"


@pytest.fixture(scope="session")
def photos_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("residents-photos")


@pytest.fixture(scope="session")
def site(database_url: str, loaded_demo_city, photos_dir: Path) -> Iterator[str]:
    """Base URL of a gridsvc server (uvicorn subprocess) committing into the test database."""
    settings = {
        "GRIDSVC_DATABASE_URL": database_url,
        "GRIDSVC_MAP_TILES": "none",
        "GRIDSVC_PHOTOS_DIR": str(photos_dir),
    }
    yield from serve_app(settings, RESIDENTS_ARTIFACTS / "server.log")


@pytest.fixture(scope="session")
def dongsheng_point(loaded_demo_city) -> tuple[str, float, float]:
    """A grid of Dongsheng and a point well inside it: (grid code, lon, lat)."""
    grids = loaded_demo_city.grids
    grid = grids[grids["code"].str.startswith("150602")].iloc[5]
    inside = grid.geometry.representative_point()
    return grid["code"], inside.x, inside.y


class Phone(WatchedPage):
    """A watched page in a phone context, with every request the context made."""

    def screenshot(self, name: str) -> Path:
        RESIDENTS_ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = RESIDENTS_ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def phone(browser, dongsheng_point) -> Iterator[Phone]:
    """A fresh phone page; requests off the loopback are refused and recorded."""
    _, lon, lat = dongsheng_point
    context = browser.new_context(
        **PHONE, geolocation={"longitude": lon, "latitude": lat, "accuracy": 8},
        permissions=["geolocation"],
    )  # fmt: skip
    page = context.new_page()
    watched = Phone(page)

    def guard(route, request) -> None:
        if is_local(request.url):
            route.continue_()
        else:
            watched.outside_requests.append(request.url)
            route.abort()

    context.route("**/*", guard)
    context.on(
        "request",
        lambda request: (
            None if is_local(request.url) else watched.outside_requests.append(request.url)
        ),
    )
    page.on(
        "console",
        lambda message: (
            watched.console_errors.append(message.text) if message.type == "error" else None
        ),
    )
    page.on("pageerror", lambda error: watched.console_errors.append(str(error)))
    watched.context = context
    yield watched
    context.close()


def remove_reports(engine: Engine, public_ids: list[str]) -> None:
    """Delete the reports a browser test committed, with their photos, events and keys."""
    with engine.begin() as connection:
        ids = [row[0] for row in connection.execute(
            text("SELECT id FROM issues WHERE public_id = ANY(:p)"), {"p": public_ids}
        )]  # fmt: skip
        connection.execute(text("DELETE FROM issue_photos WHERE issue_id = ANY(:i)"), {"i": ids})
        connection.execute(
            text("ALTER TABLE issue_events DISABLE TRIGGER issue_events_append_only")
        )
        connection.execute(text("DELETE FROM issue_events WHERE issue_id = ANY(:i)"), {"i": ids})
        connection.execute(text("ALTER TABLE issue_events ENABLE TRIGGER issue_events_append_only"))
        connection.execute(text("DELETE FROM issues WHERE id = ANY(:i)"), {"i": ids})
        connection.execute(
            text("DELETE FROM idempotency_keys WHERE response->>'public_id' = ANY(:p)"),
            {"p": public_ids},
        )
