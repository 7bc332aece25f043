"""The command centre's indicators, each recomputed here from the raw event rows.

A scenario of cases driven through the workflow (on time, late, sent back, extended,
escalated, whistled, rejected, reopened, suspended, rated) at known local times; the answer
of ``GET /api/v1/stats/indicators`` is compared with a plain-Python count over
``issue_events``, for every group, period and role.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from gridsvc.auth.roles import Role
from gridsvc.auth.tokens import Principal
from gridsvc.issues.models import Issue
from tests.issues.conftest import GRID_A, bearer
from tests.issues.indicator_cases import (
    ADMIN,
    NORTH_GRID,
    NOVEMBER,
    URL,
    check_rows,
    departments_of,
    expected_counts,
    handle,
    report,
    steps,
)
from tests.issues.test_deadlines_service import at


@pytest.mark.parametrize("by", ["district", "street", "community", "grid", "category"])
def test_every_indicator_by_area_matches_the_events(client, cases, by) -> None:
    response = client.get(f"{URL}?{NOVEMBER}&by={by}&period=month", headers=ADMIN)
    assert response.status_code == 200, response.text
    body = response.json()
    now = datetime.fromisoformat(body["counted_at"])
    code = "category_code" if by == "category" else f"{by}_code"
    expected = expected_counts(
        cases, now, lambda issue, _: {getattr(issue, code)}, date(2025, 11, 1), date(2025, 11, 30)
    )
    check_rows(body["rows"], expected)
    if by == "district":
        (row,) = body["rows"]
        assert row["name"] and row["period_start"] == "2025-11-01"
        counts = row["counts"]
        # The scenario reaches every count the indicators divide.
        assert all(counts[key] > 0 for key in counts), counts
        assert counts["reports"] == 13 and counts["due"] < counts["registered"]


def test_by_department_and_grid_worker_count_everyone_involved(client, cases) -> None:
    start, end = date(2025, 11, 1), date(2025, 11, 30)
    body = client.get(f"{URL}?{NOVEMBER}&by=department", headers=ADMIN).json()
    now = datetime.fromisoformat(body["counted_at"])
    check_rows(body["rows"], expected_counts(cases, now, departments_of, start, end))
    assert {row["code"]: row["name"] for row in body["rows"]}.keys() >= {"transport", "sanitation"}
    body = client.get(f"{URL}?{NOVEMBER}&by=grid_worker", headers=ADMIN).json()

    def workers(issue, history):
        return {e.actor for e in history if e.actor_role == "grid_worker"} or {"(none)"}

    check_rows(body["rows"], expected_counts(cases, now, workers, start, end))


def test_local_days_and_periods(client, cases) -> None:
    last_day = client.get(f"{URL}?from=2025-11-30&to=2025-11-30&period=day", headers=ADMIN)
    (row,) = last_day.json()["rows"]
    assert row["period_start"] == "2025-11-30" and row["counts"]["reports"] == 1
    first_day = client.get(f"{URL}?from=2025-12-01&to=2025-12-01&period=day", headers=ADMIN)
    (row,) = first_day.json()["rows"]
    assert row["period_start"] == "2025-12-01" and row["counts"]["reports"] == 1
    query = "from=2025-11-04&to=2025-11-30&period=week"
    weeks = client.get(f"{URL}?{query}", headers=ADMIN).json()["rows"]
    # ISO weeks start on Monday; the first row starts at 'from' (a Tuesday).
    starts = ["2025-11-04", "2025-11-10", "2025-11-17", "2025-11-24"]
    assert [row["period_start"] for row in weeks] == starts
    assert sum(row["counts"]["reports"] for row in weeks) == 13 - 2  # two on Monday 3rd
    year = client.get(f"{URL}?from=2025-01-01&to=2025-12-31&period=year", headers=ADMIN).json()
    assert [r["counts"]["reports"] for r in year["rows"]] == [14]


@pytest.mark.parametrize(
    ("token", "keep", "only"),
    [
        (bearer("department", "d", department="transport"), "transport", "transport"),
        (bearer("department", "s", department="sanitation"), "sanitation", "sanitation"),
        (bearer("grid_worker", "w", grids=(GRID_A,)), GRID_A, "w"),
        (bearer("grid_worker", "w-north", grids=(NORTH_GRID,)), NORTH_GRID, "w-north"),
        (bearer("supervisor", "c", district="150699"), None, None),
        (bearer("supervisor", "o", district="150602"), "nothing", None),
    ],
)
def test_each_role_sees_its_own_figures(client, cases, token, keep, only) -> None:
    start, end = date(2025, 11, 1), date(2025, 11, 30)

    def mine(issue, history):
        if keep is None:
            return True
        return issue.grid_code == keep or keep in departments_of(issue, history)

    body = client.get(f"{URL}?{NOVEMBER}&by=street", headers=token).json()
    now = datetime.fromisoformat(body["counted_at"])
    expected = expected_counts(cases, now, lambda i, _: {i.street_code}, start, end, mine)
    check_rows(body["rows"], expected)
    assert (body["rows"] == []) is (keep == "nothing")
    if only is not None:
        by = "grid_worker" if only.startswith("w") else "department"
        rows = client.get(f"{URL}?{NOVEMBER}&by={by}", headers=token).json()["rows"]
        assert {row["code"] for row in rows} == {only}


def test_reporters_are_refused(client, cases) -> None:
    assert client.get(URL).status_code == 401
    assert client.get(URL, headers=bearer("reporter", "someone")).status_code == 403


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("from=2025-11-30&to=2025-11-01", "to"),
        ("from=2000-01-01&to=2025-11-01", "to"),
        ("from=2025-13-01", "from"),
        ("by=planet", "by"),
        ("period=fortnight", "period"),
        ("format=pdf", "format"),
        ("colour=red", "colour"),
    ],
)
def test_bad_parameters_are_named(client, city, query, name) -> None:
    response = client.get(f"{URL}?{query}", headers=ADMIN)
    assert response.status_code == 422, response.text
    assert name in response.json()["detail"]


def test_a_deadline_still_to_come_is_not_due(db_session, city) -> None:
    from gridsvc.issues.indicators import service as indicator_service

    start = at("2025-11-03", "09:00")
    issue_id = report(db_session, start)
    steps(db_session, issue_id, start, timedelta(minutes=10), *handle()[:3])
    admin = Principal(role=Role.ADMIN, subject="admin")
    day = date(2025, 11, 3)

    def counts(now):
        rows = indicator_service.indicator_rows(db_session, admin, day, day, "district", "day", now)
        return rows[0]["counts"]

    issue = db_session.get(Issue, issue_id)
    assert counts(issue.deadline_at - timedelta(minutes=1))["due"] == 0
    assert counts(issue.deadline_at + timedelta(minutes=1))["due"] == 1


@pytest.mark.parametrize(
    "query", ["from=0001-01-01&to=0001-01-02", "from=9999-12-30&to=9999-12-31"]
)
def test_the_ends_of_the_calendar(client, city, query) -> None:
    for path in (URL, "/api/v1/stats/league", "/api/v1/stats/hotspots"):
        response = client.get(f"{path}?{query}", headers=ADMIN)
        assert response.status_code == 422, (path, response.text)
        assert "1900-01-01" in response.json()["detail"]
