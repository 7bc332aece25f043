from __future__ import annotations

import csv
import io
from datetime import timedelta

from gridsvc.auth.tokens import ANONYMOUS
from gridsvc.issues import actions, service
from gridsvc.issues.schemas import ActionRequest
from tests.issues.test_deadlines_service import (
    DEPARTMENT,
    SUPERVISOR,
    WORKER,
    at,
    submission,
)
from tests.issues.test_workflow_api import ADMIN, OTHER_DISTRICT, WORKER_A


def close_case(session, start, step: timedelta) -> int:
    issue_id = service.submit(session, submission(), ANONYMOUS, now=start)["id"]
    moment = start
    for principal, action in (
        (WORKER, "register"),
        (WORKER, "dispatch"),
        (DEPARTMENT, "accept"),
        (DEPARTMENT, "resolve"),
        (WORKER, "verify"),
        (SUPERVISOR, "close"),
    ):
        moment += step
        actions.act(session, principal, issue_id, ActionRequest(action=action), moment)
    return issue_id


def test_statistics_by_district_month(client, db_session, city) -> None:
    start = at("2025-11-03", "09:00")  # a Monday
    close_case(db_session, start, timedelta(minutes=30))  # every step well in time
    close_case(db_session, start, timedelta(days=6))  # every step late
    service.submit(db_session, submission(), ANONYMOUS, now=start)  # open, long overdue
    response = client.get("/api/v1/stats/issues?period=month&by=district", headers=ADMIN)
    assert response.status_code == 200, response.text
    rows = [r for r in response.json()["rows"] if r["district"] == "150699"]
    assert len(rows) == 1
    row = rows[0]
    assert row["period_start"] == "2025-11-01"
    assert (row["total"], row["closed"], row["reported"]) == (3, 2, 1)
    assert row["closed_on_time"] == 1 and row["on_time_rate"] == 0.5
    assert row["median_hours_to_close"] == (3 + 6 * 6 * 24) / 2
    assert row["overdue"] == 1

    text = client.get("/api/v1/stats/issues?period=week&by=grid&format=csv", headers=ADMIN)
    assert text.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(text.text)))
    assert table[0]["period_start"] == "2025-11-03" and table[0]["grid"] == WORKER.grids[0]
    assert sum(int(r["total"]) for r in table) == 3

    assert client.get("/api/v1/stats/issues", headers=WORKER_A).status_code == 403
    other = client.get("/api/v1/stats/issues", headers=OTHER_DISTRICT).json()
    assert other["rows"] == []
    bad = client.get("/api/v1/stats/issues?by=planet", headers=ADMIN)
    assert bad.status_code == 422 and "by" in bad.json()["detail"]


def test_by_department_counts_every_department_involved(client, db_session, city) -> None:
    start = at("2025-11-03", "09:00")
    whistled = service.submit(db_session, submission(), ANONYMOUS, now=start)["id"]
    for action, departments in (("register", None), ("whistle", ["sanitation", "transport"])):
        request = ActionRequest(action=action, departments=departments)
        actions.act(db_session, WORKER, whistled, request, start + timedelta(hours=1))
    service.submit(db_session, submission(), ANONYMOUS, now=start)  # transport only
    response = client.get("/api/v1/stats/issues?period=month&by=department", headers=ADMIN)
    rows = {
        row["department"]: row["total"]
        for row in response.json()["rows"]
        if row["period_start"] == "2025-11-01"
    }
    # The routed department once per case; the whistled one too; never twice for one case.
    assert rows == {"transport": 2, "sanitation": 1}
