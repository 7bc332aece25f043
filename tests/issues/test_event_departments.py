"""The audit trail keeps every department a case was sent to, whatever happened after."""

from __future__ import annotations

from datetime import timedelta

from gridsvc.auth.roles import Role
from gridsvc.auth.tokens import ANONYMOUS, Principal
from gridsvc.issues import actions, service
from gridsvc.issues.schemas import ActionRequest
from tests.issues.test_deadlines_service import SUPERVISOR, WORKER, at, submission
from tests.issues.test_workflow_api import ADMIN

URBAN = Principal(role=Role.DEPARTMENT, subject="u", department="urban_management")


def dispatch_decline_close_reopen(session, start) -> int:
    """Dispatch to sanitation, whistle to urban management, which declines; close; reopen."""
    issue_id = service.submit(session, submission(), ANONYMOUS, now=start)["id"]  # transport
    steps = (
        (WORKER, "register", None),
        (WORKER, "dispatch", ["sanitation"]),
        (WORKER, "whistle", ["urban_management"]),
        (URBAN, "decline", None),
        (WORKER, "accept", None),
        (WORKER, "resolve", None),
        (WORKER, "verify", None),
        (SUPERVISOR, "close", None),
        (SUPERVISOR, "reopen", None),
    )
    for hour, (principal, action, departments) in enumerate(steps, start=1):
        note = "理由" if action in actions.NEEDS_REASON else None
        request = ActionRequest(action=action, departments=departments, note=note)
        actions.act(session, principal, issue_id, request, start + timedelta(hours=hour))
    return issue_id


def test_statistics_by_department_survive_decline_and_reopen(client, db_session, city) -> None:
    start = at("2025-11-03", "09:00")
    issue_id = dispatch_decline_close_reopen(db_session, start)
    assert service.issue_events(db_session, issue_id)[-1].action == "reopen"
    response = client.get("/api/v1/stats/issues?period=month&by=department", headers=ADMIN)
    assert response.status_code == 200, response.text
    rows = {
        row["department"]: row["total"]
        for row in response.json()["rows"]
        if row["period_start"] == "2025-11-01"
    }
    assert rows == {"transport": 1, "sanitation": 1, "urban_management": 1}


def test_every_event_records_the_departments_it_named(db_session, city) -> None:
    issue_id = dispatch_decline_close_reopen(db_session, at("2025-11-03", "09:00"))
    named = {
        event.action: (event.details or {}).get("departments")
        for event in service.issue_events(db_session, issue_id)
    }
    assert named["dispatch"] == ["sanitation"]
    assert named["whistle"] == ["urban_management"]
    assert named["decline"] == ["urban_management"]
    # Reopening released the department still holding the case; the event says which.
    assert named["reopen"] == ["sanitation"]
