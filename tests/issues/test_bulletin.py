"""定期通报: periods, the page and its CSV against the indicators, scope, and Chromium."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from gridsvc.auth.tokens import SYSTEM
from gridsvc.issues import actions
from gridsvc.issues.bulletins import document as bulletin
from tests.issues.conftest import bearer
from tests.issues.indicator_cases import ADMIN, URL, scenario
from tests.maps.conftest import ARTIFACTS, is_local

BULLETIN = "/api/v1/bulletins"


@pytest.mark.parametrize(
    ("period", "day", "first", "last", "title"),
    [
        ("week", date(2025, 11, 5), date(2025, 11, 3), date(2025, 11, 9), "2025年第45周"),
        ("week", date(2025, 12, 31), date(2025, 12, 29), date(2026, 1, 4), "2026年第1周"),
        ("month", date(2025, 12, 31), date(2025, 12, 1), date(2025, 12, 31), "2025年12月"),
        ("month", date(2024, 2, 10), date(2024, 2, 1), date(2024, 2, 29), "2024年2月"),
        ("quarter", date(2025, 11, 5), date(2025, 10, 1), date(2025, 12, 31), "2025年第4季度"),
        ("quarter", date(2025, 3, 31), date(2025, 1, 1), date(2025, 3, 31), "2025年第1季度"),
    ],
)
def test_periods(period, day, first, last, title) -> None:
    assert bulletin.period_range(period, day) == (first, last)
    assert bulletin.period_title(period, first) == title
    before = bulletin.period_range(period, bulletin.previous_day(period, day))
    assert (before[1] - first).days == -1


@pytest.fixture
def cases(db_session, city):
    scenario(db_session)
    return db_session


def test_bulletin_shows_the_indicators_league_and_overdue(client, cases) -> None:
    response = client.get(f"{BULLETIN}/month?date=2025-11-15", headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "全市网格化管理2025年11月通报" in page
    month = client.get(f"{URL}?from=2025-11-01&to=2025-11-30&by=district", headers=ADMIN).json()
    (district,) = month["rows"]
    for key in ("closing_rate", "on_time_closing_rate", "rework_rate", "registration_rate"):
        figure = district["indicators"][key]
        shown = f"{figure['value'] * 100:.1f}% ({figure['numerator']:g}/{figure['denominator']:g})"
        assert shown in page, key
    assert "红榜" in page or "样本不足" in page
    overdue = actions.list_overdue(cases, SYSTEM)
    assert overdue and all(case["public_id"] in page for case in overdue)
    assert f"超期未结案件 {len(overdue)} 件" in page
    assert "道路破损" in page.split("五、")[-1]  # categories by name, not code


def test_bulletin_csv_adds_up(client, cases) -> None:
    response = client.get(f"{BULLETIN}/month?date=2025-11-15&format=csv", headers=ADMIN)
    assert response.status_code == 200 and response.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    by_table: dict[str, list] = {}
    for line in table:
        by_table.setdefault(line["table"], []).append(line)
    assert set(by_table) == {"total", "district", "department"}
    (total,) = by_table["total"]
    for key in ("registration_rate", "closing_rate"):
        for part in ("numerator", "denominator"):
            column = f"{key}_{part}"
            assert float(total[column]) == sum(float(r[column]) for r in by_table["district"])


def test_district_bulletin_and_scope(client, cases) -> None:
    response = client.get(f"{BULLETIN}/week?date=2025-11-05&district=150699", headers=ADMIN)
    assert response.status_code == 200
    assert "2025年第45周通报" in response.text and "各街道情况" in response.text
    own = bearer("supervisor", "c", district="150699")
    assert client.get(f"{BULLETIN}/week?date=2025-11-05", headers=own).status_code == 200
    other = bearer("supervisor", "o", district="150602")
    refused = client.get(f"{BULLETIN}/week?district=150699", headers=other)
    assert refused.status_code == 403 and "150602" in refused.json()["detail"]
    assert client.get(f"{BULLETIN}/week?district=150698", headers=ADMIN).status_code == 404
    bad = client.get(f"{BULLETIN}/week?district=15", headers=ADMIN)
    assert bad.status_code == 422 and "district" in bad.json()["detail"]
    assert client.get(f"{BULLETIN}/fortnight", headers=ADMIN).status_code == 422
    worker = bearer("grid_worker", "w", grids=("150699001001001",))
    assert client.get(f"{BULLETIN}/week", headers=worker).status_code == 403


def test_bulletin_renders_in_chromium_offline(client, cases, browser) -> None:
    page_html = client.get(f"{BULLETIN}/month?date=2025-11-15", headers=ADMIN).text
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "bulletin-month.html"
    path.write_text(page_html, encoding="utf-8")
    outside, errors = [], []
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()

    def guard(route, request) -> None:
        if is_local(request.url):
            route.continue_()
        else:
            outside.append(request.url)
            route.abort()

    page.route("**/*", guard)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(path.as_uri())
    headings = page.locator("h2").all_inner_texts()
    rows = page.locator("table").nth(3).locator("tr").count()  # the league table
    grids = page.locator("div.map svg path").count()
    page.screenshot(path=str(ARTIFACTS / "bulletin-month.png"), full_page=True)
    pdf = page.pdf(format="A4", landscape=True)
    context.close()
    assert outside == [] and errors == []
    assert headings[0] == "一、总体情况" and len(headings) == 6
    assert grids == 2  # the scenario's cases lie in two grids
    assert rows > 1 and pdf.startswith(b"%PDF")


def test_an_empty_period_shows_dashes_not_rates(client, city) -> None:
    response = client.get(f"{BULLETIN}/month?date=2025-11-15", headers=ADMIN)
    assert response.status_code == 200 and "本期无案件" in response.text
    assert "%" not in response.text.split("一、总体情况")[1].split("二、")[0]


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_a_period_off_the_calendar_is_refused(client, city, day) -> None:
    response = client.get(f"{BULLETIN}/quarter?date={day}", headers=ADMIN)
    assert response.status_code == 422 and "date" in response.json()["detail"]
