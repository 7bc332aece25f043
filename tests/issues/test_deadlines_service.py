"""Stage deadlines across weekends and holidays, escalation (督办) and the overdue list."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from gridsvc.auth.roles import Role
from gridsvc.auth.tokens import ANONYMOUS, Principal
from gridsvc.issues import actions, service
from gridsvc.issues.catalog.calendar import SHANGHAI
from gridsvc.issues.catalog.deadlines import DeadlineRule, default_categories, parse_rule
from gridsvc.issues.models import IssueEvent
from gridsvc.issues.schemas import ActionRequest, IssueSubmission
from gridsvc.issues.workflow import Stage
from tests.factories import ORIGIN, STEP_LAT, STEP_LON
from tests.issues.conftest import GRID_A

WORKER = Principal(role=Role.GRID_WORKER, subject="w", grids=(GRID_A,))
DEPARTMENT = Principal(role=Role.DEPARTMENT, subject="d", department="transport")
SUPERVISOR = Principal(role=Role.SUPERVISOR, subject="s")


def at(day: str, clock: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(clock), tzinfo=SHANGHAI)


def submission() -> IssueSubmission:
    return IssueSubmission(
        lon=ORIGIN[0] + STEP_LON / 2,
        lat=ORIGIN[1] + STEP_LAT / 2,
        category="road_damage",
        description="坑",
    )


def test_parse_rule() -> None:
    assert parse_rule("4h") == DeadlineRule(4, "hours")
    assert parse_rule(" 3D ") == DeadlineRule(3, "days")
    for bad in ("", "3", "h", "-1h", "1.5d", "2w"):
        with pytest.raises(ValueError, match="deadline"):
            parse_rule(bad)


def test_every_default_category_has_every_stage() -> None:
    categories = default_categories()
    assert len(categories) >= 8
    assert all(set(category.deadlines) == set(Stage) for category in categories)


def test_deadlines_cross_national_day_and_make_up_saturday(db_session, city) -> None:
    # Tuesday 30 Sep 2025, 17:00: 1 office hour left, then 1-8 Oct are holidays.
    body = service.submit(db_session, submission(), ANONYMOUS, now=at("2025-09-30", "17:00"))
    assert datetime.fromisoformat(body["deadline"]) == at("2025-10-09", "09:30")
    issue_id = body["id"]
    register = ActionRequest(action="register")
    actions.act(db_session, WORKER, issue_id, register, at("2025-10-09", "09:00"))
    actions.act(
        db_session, WORKER, issue_id, ActionRequest(action="dispatch"), at("2025-10-09", "09:10")
    )
    # Accepted Friday 10 Oct; 3 working days for handling: Sat 11 Oct is a make-up workday.
    issue = actions.act(
        db_session, DEPARTMENT, issue_id, ActionRequest(action="accept"), at("2025-10-10", "10:00")
    )
    assert issue.deadline_at == at("2025-10-14", "18:00")


def test_escalate_marks_overdue_once_and_lists_by_how_much(db_session, city) -> None:
    body = service.submit(db_session, submission(), ANONYMOUS, now=at("2025-09-30", "17:00"))
    late = at("2025-10-09", "15:30")  # deadline 09:30: 2.5 h before noon + 1 h after
    escalated = actions.escalate_overdue(db_session, late)
    assert [issue.id for issue in escalated] == [body["id"]]
    assert actions.escalate_overdue(db_session, late) == []
    events = db_session.query(IssueEvent).filter_by(issue_id=body["id"], action="escalate").all()
    assert len(events) == 1 and events[0].actor_role == "system"
    assert events[0].details == {"overdue_working_hours": 3.5}
    overdue = actions.list_overdue(db_session, SUPERVISOR, late)
    assert [(o["id"], o["overdue_working_hours"]) for o in overdue] == [(body["id"], 3.5)]
    assert overdue[0]["escalated_at"] == late
    other_district = Principal(role=Role.SUPERVISOR, subject="x", district="150602")
    assert actions.list_overdue(db_session, other_district, late) == []
    # Registering restarts the clock and clears the escalation.
    issue = actions.act(db_session, WORKER, body["id"], ActionRequest(action="register"), late)
    assert issue.escalated_at is None and issue.deadline_at > late


def test_event_table_is_append_only(db_session, city) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import ProgrammingError

    body = service.submit(db_session, submission(), ANONYMOUS)
    with pytest.raises(ProgrammingError, match="append-only"), db_session.begin_nested():
        db_session.execute(
            text("UPDATE issue_events SET note = 'x' WHERE issue_id = :i"), {"i": body["id"]}
        )
    with pytest.raises(ProgrammingError, match="append-only"), db_session.begin_nested():
        db_session.execute(text("DELETE FROM issue_events WHERE issue_id = :i"), {"i": body["id"]})
