"""The residents' pages on a phone (headless Chromium, 390x844, touch) against a real gridsvc."""

from __future__ import annotations

import io
import time
import uuid
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import Engine, text

from tests.issues.conftest import bearer
from tests.residents.conftest import Phone, remove_reports
from tests.residents.photos import MAKER, camera_photo

SUPERVISOR = bearer("supervisor", "city-centre")


@pytest.fixture
def committed(engine: Engine):
    """Public ids of reports a test committed; removed afterwards."""
    public_ids: list[str] = []
    yield public_ids
    remove_reports(engine, public_ids)


def open_report_page(phone: Phone, site: str) -> None:
    page = phone.page
    page.goto(f"{site}/report")
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_function(
        "() => navigator.serviceWorker && navigator.serviceWorker.controller !== null"
    )


def fill_report(phone: Phone, marker: str, photo: bytes | None) -> None:
    """Choose road damage, locate, add the photo, describe: as a resident's thumb would."""
    page = phone.page
    page.get_by_text("道路破损").tap()
    page.locator("#locate").tap()
    if photo is not None:
        page.set_input_files(
            "#album", files=[{"name": "IMG_0001.JPG", "mimeType": "image/jpeg", "buffer": photo}]
        )
        page.wait_for_selector("#thumbs li")
    page.fill("#description", f"路面坑洼 {marker}")


def report_rows(engine: Engine, marker: str) -> list:
    with engine.connect() as connection:
        return list(connection.execute(
            text("SELECT id, public_id, grid_code FROM issues WHERE description LIKE :m"),
            {"m": f"%{marker}%"},
        ))  # fmt: skip


def photo_rows(engine: Engine, issue_id: int) -> list:
    with engine.connect() as connection:
        return list(connection.execute(
            text("SELECT path, width, height, size_bytes FROM issue_photos WHERE issue_id = :i"),
            {"i": issue_id},
        ))  # fmt: skip


def test_full_report_with_photo(phone, site, engine, dongsheng_point, photos_dir, committed):
    grid_code, _, _ = dongsheng_point
    marker = uuid.uuid4().hex
    open_report_page(phone, site)
    page = phone.page
    photo = camera_photo()
    fill_report(phone, marker, photo)
    page.wait_for_function(
        f"() => document.getElementById('place').textContent.includes('{grid_code}')"
    )
    phone.screenshot("report-filled")
    page.locator("#send").tap()
    page.wait_for_selector("#mine li[data-public-id]", timeout=30_000)
    (row,) = report_rows(engine, marker)
    committed.append(row.public_id)
    assert row.grid_code == grid_code
    assert page.locator("#mine li").first.get_attribute("data-public-id") == row.public_id
    (stored,) = photo_rows(engine, row.id)
    assert max(stored.width, stored.height) == 1600 and stored.size_bytes < len(photo) / 5
    content = (Path(photos_dir) / stored.path).read_bytes()
    assert MAKER.encode() not in content
    assert not Image.open(io.BytesIO(content)).getexif()
    phone.screenshot("report-sent")
    phone.assert_clean()


def lose_first_answer(phone: Phone, pattern: str) -> list[int]:
    """Let the first matching POST reach the server, then cut the line before its answer."""
    lost: list[int] = []

    def handler(route, request) -> None:
        if request.method == "POST" and not lost:
            response = route.fetch()
            lost.append(response.status)
            route.abort("connectionreset")
        else:
            route.fallback()

    phone.page.route(pattern, handler)
    return lost


def test_offline_report_arrives_once(phone, site, engine, committed) -> None:
    marker = uuid.uuid4().hex
    open_report_page(phone, site)
    page = phone.page
    phone.context.set_offline(True)
    fill_report(phone, marker, camera_photo((2000, 1500)))
    page.locator("#send").tap()
    page.wait_for_selector("#outbox li[data-state=waiting]")
    assert page.locator("#network").is_visible()
    page.reload()  # the page comes from the service worker; the draft from IndexedDB
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_selector("#outbox li[data-state=waiting]")
    phone.screenshot("report-offline-waiting")
    assert report_rows(engine, marker) == []
    # Back online, but the first answers of the issue and of its photo are lost on the way.
    issue_lost = lose_first_answer(phone, "**/api/v1/issues")
    photo_lost = lose_first_answer(phone, "**/api/v1/issues/*/photos")
    phone.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    deadline = time.monotonic() + 60
    while not page.locator("#mine li[data-public-id]").count() and time.monotonic() < deadline:
        page.evaluate("Outbox.sendAll()")  # retries as the page's timer would, sooner
        page.wait_for_timeout(300)
    assert issue_lost == [201] and photo_lost == [201]
    rows = report_rows(engine, marker)
    committed.extend(row.public_id for row in rows)
    assert len(rows) == 1
    assert len(photo_rows(engine, rows[0].id)) == 1
    assert page.locator("#outbox li[data-state]").count() == 0
    phone.screenshot("report-offline-sent")
    # Chromium logs each request refused while offline or cut by the test: those are the
    # test's doing (the page itself catches them); any other error still fails.
    expected = ("net::ERR_INTERNET_DISCONNECTED", "net::ERR_FAILED", "net::ERR_CONNECTION_RESET")
    phone.console_errors = [
        error
        for error in phone.console_errors
        if not (error.startswith("Failed to load resource") and error.endswith(expected))
    ]
    phone.assert_clean()


def test_photo_and_category_alone_make_a_report(phone, site, engine, committed) -> None:
    open_report_page(phone, site)
    page = phone.page
    page.get_by_text("道路破损").tap()
    page.locator("#locate").tap()
    page.set_input_files(
        "#album",
        files=[{"name": "IMG_0002.JPG", "mimeType": "image/jpeg", "buffer": camera_photo()}],
    )
    page.wait_for_selector("#thumbs li")
    page.wait_for_selector("#place:has-text('150602')")
    page.locator("#send").tap()
    page.wait_for_selector("#mine li[data-public-id]", timeout=30_000)
    public_id = page.locator("#mine li").first.get_attribute("data-public-id")
    committed.append(public_id)
    with engine.connect() as connection:
        issue_id, description = connection.execute(
            text("SELECT id, description FROM issues WHERE public_id = :p"), {"p": public_id}
        ).one()
    assert description == ""  # nothing invented in the reporter's name
    assert len(photo_rows(engine, issue_id)) == 1
    phone.assert_clean()


#: Every control's accessible name, as a screen reader would find it (label, aria, text).
UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea, button')]
  .filter((c) => c.type !== 'hidden' && !(c.labels && c.labels.length) &&
    !c.getAttribute('aria-label') && !c.getAttribute('aria-labelledby') &&
    !(c.textContent || '').trim())
  .map((c) => c.id || c.name || c.outerHTML.slice(0, 60))"""


def test_report_page_at_twice_the_text_size(phone, site) -> None:
    open_report_page(phone, site)
    page = phone.page
    assert page.evaluate(UNLABELLED) == []
    page.evaluate("document.documentElement.style.fontSize = '200%'")
    # Nothing runs off the side of a 390 px phone, and the send button is still reachable.
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{overflow} px wider than the screen at 200 % text"
    page.locator("#send").scroll_into_view_if_needed()
    assert page.locator("#send").is_visible()
    phone.screenshot("report-200-percent-text")
    phone.assert_clean()
