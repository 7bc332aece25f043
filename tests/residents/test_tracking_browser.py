"""Following a report on the phone while staff act through the API; the public map."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.issues.conftest import bearer
from tests.residents.conftest import RESIDENTS_ARTIFACTS, Phone, remove_reports

SUPERVISOR = bearer("supervisor", "city-centre")
CLOSING_STEPS = ["report", "register", "dispatch", "accept", "resolve", "verify", "close"]


@pytest.fixture
def report(site, engine: Engine, dongsheng_point):
    """A road-damage report in Dongsheng, made through the API; removed afterwards."""
    _, lon, lat = dongsheng_point
    body = {"lon": lon, "lat": lat, "category": "road_damage", "description": uuid.uuid4().hex}
    created = httpx.post(f"{site}/api/v1/issues", json=body, timeout=30)
    assert created.status_code == 201, created.text
    yield created.json()
    remove_reports(engine, [created.json()["public_id"]])


def act(site: str, issue_id: int, token: dict, action: str) -> None:
    response = httpx.post(
        f"{site}/api/v1/issues/{issue_id}/actions", json={"action": action}, headers=token
    )
    assert response.status_code == 200, response.text


def timeline(phone: Phone, site: str, secret: str) -> list[str]:
    page = phone.page
    page.goto("about:blank")  # a new load, not a jump within the same page
    page.goto(f"{site}/track#{secret}")
    page.wait_for_selector("body[data-loaded=true]")
    return [item.get_attribute("data-action") for item in page.locator("#timeline li").all()]


def rate(page, stars: int) -> str:
    page.locator(f"#stars input[value='{stars}']").check()
    page.locator("#rate button[type=submit]").tap()
    page.wait_for_selector("#action-message:not([hidden])")
    return page.locator("#action-message").inner_text()


def test_timeline_follows_staff_and_rating_once(phone, site, engine, report) -> None:
    issue_id, secret = report["id"], report["secret"]
    worker = bearer("grid_worker", "worker", grids=(report["grid"]["code"],))
    department = bearer("department", "staff", department=report["department"]["code"])
    assert timeline(phone, site, secret) == ["report"]
    assert "受理" in phone.page.locator("#timeline").inner_text()
    act(site, issue_id, worker, "register")
    act(site, issue_id, worker, "dispatch")
    assert timeline(phone, site, secret) == ["report", "register", "dispatch"]
    dispatched = phone.page.locator("#timeline li[data-action=dispatch]").inner_text()
    assert f"派遣至 {report['department']['name']}" in dispatched
    for token, action in [(department, "accept"), (department, "resolve"), (worker, "verify")]:
        act(site, issue_id, token, action)
    act(site, issue_id, SUPERVISOR, "close")
    published = httpx.put(
        f"{site}/api/v1/issues/{issue_id}/publication",
        json={"text": "已修补路面。Pothole filled."},
        headers=SUPERVISOR,
    )
    assert published.status_code == 200, published.text
    assert timeline(phone, site, secret) == [*CLOSING_STEPS, "publish"]
    page = phone.page
    page.wait_for_selector("#result:not([hidden])")
    assert "已修补路面" in page.locator("#result-text").inner_text()
    assert page.locator("#summary [data-status=closed]").inner_text() == "已结案"
    # A second tab, opened before the rating, still offers the form: the server refuses.
    other = phone.context.new_page()
    other.goto(f"{site}/track#{secret}")
    other.wait_for_selector("#rate:not([hidden])")
    assert "感谢" in rate(page, 4)
    phone.screenshot("track-closed-rated")
    refused = rate(other, 5)
    assert "不能重复评价" in refused
    other.screenshot(path=str(RESIDENTS_ARTIFACTS / "track-rated-twice.png"), full_page=True)
    with engine.connect() as connection:
        rating = connection.scalar(text("SELECT rating FROM issues WHERE id = :i"), {"i": issue_id})
    assert rating == 4
    phone.assert_clean()


def test_public_map_shows_published_reports_coarsely(phone, site, report) -> None:
    published = httpx.put(
        f"{site}/api/v1/issues/{report['id']}/publication",
        json={"text": "路面破损，已登记。"},
        headers=SUPERVISOR,
    )
    assert published.status_code == 200, published.text
    page = phone.page
    page.goto(f"{site}/reports")
    page.wait_for_selector("body[data-ready=true]")
    shown = page.evaluate("""() => {
        const found = [];
        document.querySelectorAll('.leaflet-marker-icon').forEach((m) => found.push(m.className));
        return found;
    }""")
    assert shown, "no marker or cluster on the map"
    assert "条上报" in page.locator("#count").inner_text()
    page.select_option("#category", "road_damage")
    page.wait_for_function("() => document.getElementById('count').textContent.length > 0")
    phone.screenshot("reports-map")
    phone.assert_clean()
