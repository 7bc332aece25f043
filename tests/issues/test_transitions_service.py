"""Every (status, action, role) through the service agrees with the transition table."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gridsvc.auth.roles import Role
from gridsvc.auth.tokens import Principal
from gridsvc.issues import actions, service
from gridsvc.issues.actions import ActionRefused
from gridsvc.issues.models import Issue
from gridsvc.issues.schemas import ActionRequest
from gridsvc.issues.workflow import TRANSITIONS, Action, Status, TransitionNotAllowed, apply
from tests.issues.conftest import GRID_A, GRID_B
from tests.issues.test_deadlines_service import submission

PRINCIPALS = {
    Role.REPORTER: Principal(Role.REPORTER, "resident"),
    Role.GRID_WORKER: Principal(Role.GRID_WORKER, "worker", grids=(GRID_A, GRID_B)),
    Role.DEPARTMENT: Principal(Role.DEPARTMENT, "staff", department="transport"),
    Role.SUPERVISOR: Principal(Role.SUPERVISOR, "centre"),
    Role.ADMIN: Principal(Role.ADMIN, "admin"),
}
PAYLOAD = {
    Action.DISPATCH: {"departments": ["transport"]},
    Action.WHISTLE: {"departments": ["transport", "sanitation"]},
    Action.ROUTE: {"grid_code": GRID_B},
    Action.EXTEND: {"extension": "1d"},
    Action.REQUEST_EXTENSION: {"extension": "2d"},
    Action.RATE: {"rating": 4},
    Action.CLOSE_WHISTLE: {"note": "the rest is ours"},
    Action.PRIORITIZE: {"priority": "urgent"},
    **{action: {"note": "理由"} for action in actions.NEEDS_REASON},
}
# 吹哨报到 needs a whistle on record (and a sign-in before reporting a part).
WHISTLE_STEPS = {
    Action.SIGN_IN: ["whistle"],
    Action.REPORT_PART: ["whistle", "sign_in"],
    Action.CLOSE_WHISTLE: ["whistle"],
}


def record_whistle(session, issue: Issue, steps: list[str]) -> None:
    staff = PRINCIPALS[Role.DEPARTMENT]
    for step in steps:
        details = (
            {"departments": ["transport"]} if step == "whistle" else {"department": "transport"}
        )
        service.record_event(
            session, issue, step, issue.status, staff, datetime.now(UTC), None, details
        )
    session.flush()


def issue_in(session, status: Status) -> Issue:
    body = service.submit(session, submission(), PRINCIPALS[Role.REPORTER])
    issue = session.get(Issue, body["id"])
    if status is Status.SUSPENDED:  # resume needs the suspension on record
        actions.act(
            session,
            PRINCIPALS[Role.SUPERVISOR],
            issue.id,
            ActionRequest(action="suspend", note="理由"),
        )
    issue.status = status.value
    issue.departments = ["transport"]
    session.flush()
    return issue


def test_every_status_action_and_role(db_session, city) -> None:
    survivor = service.submit(db_session, submission(), PRINCIPALS[Role.REPORTER])["id"]
    allowed = refused = 0
    for status in Status:
        issue = issue_in(db_session, status)
        for action in Action:
            payload = dict(PAYLOAD.get(action, {}))
            if action is Action.MERGE:
                payload["survivor_id"] = survivor
            request = ActionRequest(action=action, **payload)
            for role, principal in PRINCIPALS.items():
                resume_to = Status.REPORTED if action is Action.RESUME else None
                try:
                    expected = apply(status, action, role, resume_to=resume_to).to_status
                except (TransitionNotAllowed, ValueError):
                    expected = None
                savepoint = db_session.begin_nested()
                record_whistle(db_session, issue, WHISTLE_STEPS.get(action, []))
                try:
                    if expected is None:
                        with pytest.raises(ActionRefused) as refusal:
                            actions.act(db_session, principal, issue.id, request)
                        exists = (status, action) in TRANSITIONS
                        assert refusal.value.status_code == (403 if exists else 409)
                        refused += 1
                    else:
                        after = actions.act(db_session, principal, issue.id, request)
                        assert after.status == expected.value, (status, action, role)
                        allowed += 1
                finally:
                    savepoint.rollback()
                    db_session.expire_all()
    assert allowed == sum(len(rule.roles - {Role.SYSTEM}) for rule in TRANSITIONS.values())
    assert refused == len(Status) * len(Action) * len(PRINCIPALS) - allowed
