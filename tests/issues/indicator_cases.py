"""The indicators' scenario and the independent count its answers are checked against.

A scenario of cases driven through the workflow (on time, late, sent back, extended,
escalated, whistled, rejected, reopened, suspended, rated) at known local times, and a
plain-Python count over ``issue_events`` for any grouping (used by test_indicators_*.py).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from gridsvc.auth.roles import Role
from gridsvc.auth.tokens import ANONYMOUS, Principal
from gridsvc.issues import actions, service
from gridsvc.issues.catalog.calendar import SHANGHAI
from gridsvc.issues.models import Issue, IssueEvent
from gridsvc.issues.schemas import ActionRequest, IssueSubmission
from tests.factories import ORIGIN, STEP_LAT, STEP_LON
from tests.issues.conftest import bearer
from tests.issues.test_deadlines_service import DEPARTMENT, SUPERVISOR, WORKER, at

NORTH_GRID = "150699002001001"  # first cell of street 002 (row 3 of the lattice)
NORTH_WORKER = Principal(role=Role.GRID_WORKER, subject="w-north", grids=(NORTH_GRID,))
SANITATION = Principal(role=Role.DEPARTMENT, subject="s", department="sanitation")
REPORTER = Principal(role=Role.REPORTER, subject="anonymous")
ADMIN = bearer("admin")
URL = "/api/v1/stats/indicators"

# Independent of the code under test: the actions that are no step of the handling.
NOT_STEPS = {"escalate", "rate", "extend", "request_extension"}
OPEN = {"unrouted", "reported", "registered", "dispatched", "in_progress", "resolved"}
OPEN |= {"verified", "suspended"}


def report(session, moment: datetime, north: bool = False, category="road_damage") -> int:
    column, row = (0.5, 3.5) if north else (0.5, 0.5)
    body = IssueSubmission(
        lon=ORIGIN[0] + STEP_LON * column,
        lat=ORIGIN[1] + STEP_LAT * row,
        category=category,
        description="坑",
    )
    return service.submit(session, body, ANONYMOUS, now=moment)["id"]


def steps(session, issue_id: int, start: datetime, gap: timedelta, *plan) -> datetime:
    """Take each (principal, action[, fields]) of ``plan``, ``gap`` apart; return the last time."""
    moment = start
    for principal, action, *fields in plan:
        moment += gap
        fields = dict(fields[0]) if fields else {}
        if action in actions.NEEDS_REASON:
            fields.setdefault("note", "理由")
        request = ActionRequest(action=action, **fields)
        actions.act(session, principal, issue_id, request, moment, by_secret=principal is REPORTER)
    return moment


def handle(worker=WORKER, department=DEPARTMENT) -> list[tuple]:
    return [
        (worker, "register"),
        (worker, "dispatch"),
        (department, "accept"),
        (department, "resolve"),
        (worker, "verify"),
        (SUPERVISOR, "close"),
    ]


def scenario(session) -> None:
    """Cases in November 2025 (and two either side of the month's end, local time)."""
    quick, slow = timedelta(minutes=30), timedelta(days=6)
    day = at("2025-11-03", "09:00")  # a Monday
    on_time = report(session, day)
    steps(session, on_time, day, quick, *handle(), (REPORTER, "rate", {"rating": 5}))
    late = report(session, day)
    steps(session, late, day, slow, *handle(), (REPORTER, "rate", {"rating": 2}))
    sent_back = report(session, day + timedelta(days=1))
    plan = handle()[:4] + [(WORKER, "send_back"), (DEPARTMENT, "resolve")] + handle()[4:]
    steps(session, sent_back, day + timedelta(days=1), quick, *plan)
    steps(session, sent_back, day + timedelta(days=2), quick, (REPORTER, "rate", {"rating": 4}))
    extended = report(session, day + timedelta(days=2))
    plan = [*handle()[:3], (DEPARTMENT, "request_extension", {"extension": "2d"})]
    plan += [(SUPERVISOR, "extend"), *handle()[3:]]
    steps(session, extended, day + timedelta(days=2), quick, *plan)
    escalated = report(session, at("2025-11-10", "10:00"))
    actions.escalate_overdue(session, at("2025-11-14", "10:00"))
    steps(session, escalated, at("2025-11-14", "11:00"), quick, *handle())
    rejected = report(session, at("2025-11-11", "09:00"), north=True)
    steps(session, rejected, at("2025-11-11", "09:00"), quick, (NORTH_WORKER, "reject"))
    reopened = report(session, at("2025-11-12", "09:00"), north=True)
    plan = [*handle(NORTH_WORKER), (SUPERVISOR, "reopen")]
    steps(session, reopened, at("2025-11-12", "09:00"), quick, *plan)
    by_grid = report(session, at("2025-11-13", "09:00"), north=True)
    plan = [(NORTH_WORKER, "register"), (NORTH_WORKER, "accept"), (NORTH_WORKER, "resolve")]
    plan += [(NORTH_WORKER, "verify"), (SUPERVISOR, "close")]
    steps(session, by_grid, at("2025-11-13", "09:00"), quick, *plan)
    whistled = report(session, at("2025-11-17", "09:00"))
    plan = [(WORKER, "register"), (WORKER, "whistle", {"departments": ["sanitation"]})]
    plan += [(SANITATION, "accept"), (SANITATION, "resolve"), (WORKER, "verify")]
    steps(session, whistled, at("2025-11-17", "09:00"), quick, *plan, (SUPERVISOR, "close"))
    suspended = report(session, at("2025-11-18", "09:00"))
    steps(session, suspended, at("2025-11-18", "09:00"), quick, *handle()[:1])
    steps(session, suspended, at("2025-11-18", "10:00"), quick, (SUPERVISOR, "suspend"))
    report(session, at("2025-11-19", "09:00"), category="environmental_sanitation")  # never touched
    # Rejected a day late, reopened, then registered at once: the first answer was late.
    late_reply = report(session, at("2025-11-20", "09:00"), north=True)
    plan = [(NORTH_WORKER, "reject"), (SUPERVISOR, "reopen")]
    moment = steps(session, late_reply, at("2025-11-20", "09:00"), timedelta(days=1), *plan)
    steps(session, late_reply, moment, timedelta(minutes=10), (NORTH_WORKER, "register"))
    # Either side of local midnight at the month's end: 15:30 and 16:10 UTC on 30 Nov.
    last = report(session, datetime(2025, 11, 30, 23, 30, tzinfo=SHANGHAI))
    steps(session, last, at("2025-12-01", "09:00"), quick, (WORKER, "register"))
    report(session, datetime(2025, 12, 1, 0, 10, tzinfo=SHANGHAI))
    session.flush()


def expected_counts(session, now: datetime, group_of, start: date, end: date, keep=None):
    """Count every indicator's numerator and denominator from the event rows, in Python."""
    events = defaultdict(list)
    for event in session.scalars(select(IssueEvent).order_by(IssueEvent.id)):
        events[event.issue_id].append(event)
    rows: dict[tuple, dict] = {}
    for issue in session.scalars(select(Issue)):
        history = sorted(events[issue.id], key=lambda e: (e.created_at, e.id))
        local_day = history[0].created_at.astimezone(SHANGHAI).date()
        if not start <= local_day <= end or (keep and not keep(issue, history)):
            continue
        flags = case_flags(history, now)
        for code in group_of(issue, history):
            row = rows.setdefault((local_day.replace(day=1), code), defaultdict(float, reports=0))
            for key, value in flags.items():
                row[key] += value
    return rows


def case_flags(history: list[IssueEvent], now: datetime) -> dict[str, float]:
    actions = [event.action for event in history]
    last = history[-1]
    registered = "register" in actions
    closed = last.to_status == "closed"
    overdue = last.to_status in OPEN - {"suspended"} and last.deadline_at and last.deadline_at < now
    due = registered and (closed or bool(overdue))
    late = any(
        e.action not in NOT_STEPS and p.deadline_at and e.created_at > p.deadline_at
        for p, e in zip(history, history[1:], strict=False)
    )
    responses = [i for i, e in enumerate(history) if e.action in ("register", "reject")]
    on_time_response = bool(responses) and (
        history[responses[0] - 1].deadline_at is None
        or history[responses[0]].created_at <= history[responses[0] - 1].deadline_at
    )
    ratings = [e.details["rating"] for e in history if e.action == "rate"]
    escalated = "escalate" in actions
    first_register = next((e.created_at for e in history if e.action == "register"), None)
    dispatched = any(
        e.action in ("dispatch", "whistle")
        or (e.action == "accept" and e.from_status == "registered")
        for e in history
    )
    return {
        "reports": 1,
        "registered": registered,
        "dispatched": registered and dispatched,
        "due": due,
        "closed": closed,
        "closed_on_time": closed and not late,
        "reworked": due and bool({"send_back", "reopen"} & set(actions)),
        "extended": due and "extend" in actions,
        "resolved": closed and "reopen" not in actions,
        "responded_on_time": on_time_response,
        "rated": closed and bool(ratings),
        "satisfied": closed and bool(ratings) and ratings[-1] >= 4,
        "escalated": escalated,
        "escalated_closed": escalated and closed,
        "hours_to_register": (
            (first_register - history[0].created_at).total_seconds() / 3600 if first_register else 0
        ),
    }


def departments_of(issue: Issue, history: list[IssueEvent]) -> set[str]:
    named = set()
    for event in history:
        details = event.details or {}
        named |= {details["department_code"]} if details.get("department_code") else set()
        named |= set(details.get("departments") or [])
    return named or {"(none)"}


def check_rows(answer: list[dict], expected: dict[tuple, dict]) -> None:
    """Every answered row equals the independent count, and nothing is missing."""
    got = {
        (date.fromisoformat(row["period_start"]).replace(day=1), row["code"]): row for row in answer
    }
    assert set(got) == set(expected)
    for key, counts in expected.items():
        row = got[key]
        for name, value in counts.items():
            assert row["counts"][name] == pytest.approx(value, abs=0.01), (key, name)
        for figure in row["indicators"].values():
            numerator, denominator = figure["numerator"], figure["denominator"]
            want = round(numerator / denominator, 4) if denominator else None
            assert figure["value"] == pytest.approx(want, abs=0.01), (key, figure)


NOVEMBER = "from=2025-11-01&to=2025-11-30"
