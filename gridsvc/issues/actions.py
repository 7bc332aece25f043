"""Working an issue through the workflow: actions, their side effects and stage deadlines.

The transition table in ``workflow.py`` decides what is allowed; this module checks the
actor's scope, applies the action's own effects (departments summoned, grid chosen,
survivor of a merge...), moves the stage deadline and appends the event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridsvc.auth.roles import Role
from gridsvc.auth.tokens import SYSTEM, Principal
from gridsvc.common.errors import GridsvcError, InvalidParameterError
from gridsvc.grids import placing as grid_placing
from gridsvc.grids import service as grids_service
from gridsvc.issues import names, notify, priorities, service, whistles
from gridsvc.issues.catalog.calendar import load_cn_calendar
from gridsvc.issues.catalog.deadlines import DeadlineRule, overdue_hours, parse_rule
from gridsvc.issues.models import Department, Issue, IssueCategory, IssueEvent
from gridsvc.issues.photos import service as photos_service
from gridsvc.issues.reporters import secrets as reporter
from gridsvc.issues.schemas import ActionRequest
from gridsvc.issues.workflow import (
    TRANSITIONS,
    Action,
    DeadlineEffect,
    Status,
    Transition,
    TransitionNotAllowed,
    apply,
    is_open,
    stage_of,
)

# Steps that turn a case away or stop it: the centre requires the reason on record.
NEEDS_REASON = frozenset({Action.REJECT, Action.DECLINE, Action.SEND_BACK, Action.SUSPEND})


class ActionRefused(GridsvcError):
    """The action is not allowed for the caller's role (403) or in the issue's status (409)."""

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


def check_transition(issue: Issue, request: ActionRequest, principal: Principal) -> Transition:
    """Look the action up in the transition table, or raise ActionRefused saying why."""
    status = Status(issue.status)
    resume_to = suspended_from(issue) if request.action is Action.RESUME else None
    try:
        return apply(status, request.action, principal.role, resume_to=resume_to)
    except TransitionNotAllowed as refusal:
        # The action exists from this status but not for this role: forbidden; else conflict.
        exists = (status, request.action) in TRANSITIONS
        raise ActionRefused(str(refusal), 403 if exists else 409) from None


def suspended_from(issue: Issue) -> Status | None:
    """Return the status the issue held when last suspended."""
    session = Session.object_session(issue)
    assert session is not None
    from_status = session.scalar(
        select(IssueEvent.from_status)
        .where(IssueEvent.issue_id == issue.id, IssueEvent.action == Action.SUSPEND.value)
        .order_by(IssueEvent.id.desc())
        .limit(1)
    )
    return Status(from_status) if from_status else None


def act(
    session: Session,
    principal: Principal,
    issue_id: int,
    request: ActionRequest,
    now: datetime | None = None,
    *,
    by_secret: bool = False,
) -> Issue:
    """Take one workflow action on an issue in the caller's scope and record it.

    ``by_secret``: the caller proved to be the reporter with the report's secret.
    """
    now = now or datetime.now(UTC)
    if by_secret:
        issue = session.get(Issue, issue_id, with_for_update=True)
        assert issue is not None and principal.role is Role.REPORTER
    else:
        issue = service.find_issue(session, principal, issue_id, for_update=True)
    transition = check_transition(issue, request, principal)
    if request.action in NEEDS_REASON and not (request.note or "").strip():
        raise InvalidParameterError("note", f"'{request.action}' needs a reason in 'note'", "body")
    priority_details = priorities.set_priority(session, issue, request, now)
    details = {**apply_effects(session, principal, issue, request, transition, now)}
    details.update(priority_details)
    issue.status = transition.to_status.value
    move_deadline(session, issue, transition, request, now)
    if transition.to_status is Status.CLOSED:
        issue.closed_at = now
    service.record_event(
        session,
        issue,
        request.action.value,
        transition.from_status.value,
        principal,
        now,
        request.note,
        details or None,
    )
    if request.action in (Action.DISPATCH, Action.WHISTLE):
        notify.queue(session, request.action.value, issue, details["departments"])
    session.flush()
    return issue


def apply_effects(
    session: Session,
    principal: Principal,
    issue: Issue,
    request: ActionRequest,
    transition: Transition,
    now: datetime,
) -> dict[str, Any]:
    """Do what the action does beyond the status; return what the event should keep.

    ``issue.departments`` holds who is summoned now and is overwritten; every event that
    names departments keeps them under ``details["departments"]``, so history and the
    statistics by department come from the events.
    """
    action = transition.action
    if action in (Action.DISPATCH, Action.WHISTLE):
        summoned = check_departments(session, request.departments, issue, action)
        issue.departments = sorted(set(issue.departments or []) | set(summoned))
        return {"departments": summoned}
    if action is Action.DECLINE:
        issue.departments = [d for d in issue.departments if d != principal.department]
        return {"departments": [principal.department]}
    if action is Action.ROUTE:
        return route_by_hand(session, issue, request.grid_code)
    if action is Action.MERGE:
        return merge_into(session, principal, issue, request.survivor_id)
    if action is Action.REQUEST_EXTENSION:
        rule = extension_rule(request.extension)
        return {"extension": str(rule)}
    if action is Action.RATE:
        if request.rating is None:
            raise InvalidParameterError("rating", "rate needs a rating from 1 to 5", "body")
        reporter.check_rating(session, issue)
        issue.rating = request.rating
        return {"rating": request.rating}
    if action is Action.REOPEN:
        if principal.role is Role.REPORTER:
            reporter.check_reopen_window(issue, now)
        # The case goes back to be dispatched anew; who held it stays in this event.
        released, issue.departments = issue.departments or [], []
        issue.closed_at = None
        return {"departments": released} if released else {}
    if action is Action.ESCALATE:
        issue.escalated_at = now
    if action is Action.RESOLVE:
        photos_service.check_after_photo(session, issue)
    if action in (Action.SIGN_IN, Action.REPORT_PART, Action.CLOSE_WHISTLE, Action.RESOLVE):
        return whistle_step(session, principal, issue, action, request.note)
    return {}


def whistle_step(
    session: Session, principal: Principal, issue: Issue, action: Action, note: str | None
) -> dict[str, Any]:
    """Check a step of 吹哨报到 (or a resolve waiting for summoned departments): 409 if amiss."""
    try:
        if action is Action.RESOLVE:
            whistles.check_resolve(session, principal, issue)
            return {}
        return whistles.check_step(session, principal, issue, action, note)
    except whistles.WhistleRefused as refusal:
        raise ActionRefused(str(refusal), 409) from None


def check_departments(
    session: Session, codes: list[str] | None, issue: Issue, action: Action
) -> list[str]:
    """Return the department codes to summon; dispatch defaults to the routed department."""
    if not codes:
        if action is Action.DISPATCH and issue.department_code:
            return [issue.department_code]
        raise InvalidParameterError("departments", f"{action} needs department codes", "body")
    unknown = [code for code in codes if session.get(Department, code) is None]
    if unknown:
        raise InvalidParameterError("departments", f"unknown departments: {unknown}", "body")
    return list(dict.fromkeys(codes))


def route_by_hand(session: Session, issue: Issue, grid_code: str | None) -> dict[str, Any]:
    """Put the issue into the current grid ``grid_code`` (a supervisor's decision)."""
    if not grid_code:
        raise InvalidParameterError("grid_code", "route needs the code of a current grid", "body")
    grids_service.check_code("grid", grid_code, "grid_code", "body")
    placement = grid_placing.placement_of_grid(session, grid_code)
    if placement is None:
        raise InvalidParameterError("grid_code", f"no current grid '{grid_code}'", "body")
    service.place(session, issue, {**placement, "routing": "manual", "distance_m": None})
    category = session.get(IssueCategory, issue.category_code)
    assert category is not None
    issue.department_code = service.department_for(session, category, placement["district_code"])
    return service.routing_details(issue)


def merge_into(
    session: Session, principal: Principal, issue: Issue, survivor_id: int | None
) -> dict[str, Any]:
    """Mark the issue a duplicate of an open survivor the caller can see."""
    if survivor_id is None:
        raise InvalidParameterError("survivor_id", "merge needs the surviving issue's id", "body")
    if survivor_id == issue.id:
        raise InvalidParameterError("survivor_id", "an issue cannot be merged into itself", "body")
    survivor = service.find_issue(session, principal, survivor_id)
    if not is_open(Status(survivor.status)):
        raise InvalidParameterError(
            "survivor_id", f"issue {survivor_id} is '{survivor.status}', not open", "body"
        )
    issue.survivor_id = survivor.id
    return {"survivor_id": survivor.id, "survivor_public_id": survivor.public_id}


def move_deadline(
    session: Session, issue: Issue, transition: Transition, request: ActionRequest, now: datetime
) -> None:
    """Apply the transition's effect on the stage deadline."""
    calendar = load_cn_calendar()
    effect = transition.deadline
    if effect is DeadlineEffect.RESTART:
        issue.deadline_at = service.stage_deadline(
            session, issue.category_code, stage_of(transition.to_status), now, issue.priority
        )
        issue.escalated_at = None
    elif effect is DeadlineEffect.STOP:
        issue.deadline_at = None
    elif effect is DeadlineEffect.PAUSE:
        if issue.deadline_at is not None:
            issue.paused_hours = max(calendar.working_hours_between(now, issue.deadline_at), 0.0)
        issue.deadline_at = None
    elif effect is DeadlineEffect.RESUME:
        issue.deadline_at = calendar.add_working_hours(now, issue.paused_hours or 0.0)
        issue.paused_hours = None
    elif effect is DeadlineEffect.EXTEND:
        rule = extension_rule(request.extension or requested_extension(session, issue))
        issue.deadline_at = rule.due(calendar, max(issue.deadline_at or now, now))
        issue.escalated_at = None


def extension_rule(text: str | None) -> DeadlineRule:
    """Read an extension like '8h' or '2d', or raise a 422 naming the field."""
    if not text:
        raise InvalidParameterError(
            "extension", "give the extension, e.g. '8h' or '2d' (working hours/days)", "body"
        )
    try:
        return parse_rule(text)
    except ValueError as error:
        raise InvalidParameterError("extension", str(error), "body") from None


def requested_extension(session: Session, issue: Issue) -> str | None:
    """Return the extension a handler asked for since the last one granted, if any."""
    last = session.scalars(
        select(IssueEvent)
        .where(
            IssueEvent.issue_id == issue.id,
            IssueEvent.action.in_([Action.REQUEST_EXTENSION.value, Action.EXTEND.value]),
        )
        .order_by(IssueEvent.id.desc())
        .limit(1)
    ).first()
    if last is None or last.action != Action.REQUEST_EXTENSION.value or not last.details:
        return None
    return last.details.get("extension")


def escalate_overdue(
    session: Session,
    now: datetime | None = None,
    progress: Callable[[list[Issue]], Iterable[Issue]] | None = None,
) -> list[Issue]:
    """Put every open issue past its stage deadline and not yet escalated under supervision.

    ``progress`` wraps the cases to escalate (the command line passes a progress bar).
    """
    now = now or datetime.now(UTC)
    overdue = list(
        session.scalars(
            select(Issue)
            .where(Issue.deadline_at < now, Issue.escalated_at.is_(None))
            .order_by(Issue.deadline_at, Issue.id)
            .with_for_update(skip_locked=True)
        )
    )
    for issue in progress(overdue) if progress else overdue:
        hours = overdue_hours(load_cn_calendar(), issue.deadline_at, now)
        issue.escalated_at = now
        notify.queue(session, Action.ESCALATE.value, issue)
        service.record_event(
            session,
            issue,
            Action.ESCALATE.value,
            issue.status,
            SYSTEM,
            now,
            f"督办: {hours:.1f} working hours overdue",
            {"overdue_working_hours": round(hours, 2)},
        )
    session.flush()
    return overdue


def list_overdue(
    session: Session, principal: Principal, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Open issues in scope past their stage deadline, most overdue first, with names."""
    now = now or datetime.now(UTC)
    calendar = load_cn_calendar()
    issues = list(
        session.scalars(
            select(Issue)
            .where(service.visible_to(principal), Issue.deadline_at < now)
            .order_by(Issue.deadline_at, Issue.id)
        )
    )
    book = names.load_names(session, issues)
    return [
        {
            "id": issue.id,
            "public_id": issue.public_id,
            "status": issue.status,
            "priority": issue.priority,
            "category": issue.category_code,
            "category_name": book.category(issue.category_code),
            "grid_code": issue.grid_code,
            "grid_name": book.area("grid", issue.grid_code),
            "district_code": issue.district_code,
            "district_name": book.area("district", issue.district_code),
            "departments": issue.departments,
            "departments_named": book.named_departments(issue.departments or []),
            "deadline": service.local(issue.deadline_at),
            "overdue_working_hours": round(overdue_hours(calendar, issue.deadline_at, now), 2),
            "overdue_hours": round((now - issue.deadline_at).total_seconds() / 3600, 2),
            "escalated_at": service.local(issue.escalated_at),
        }
        for issue in issues
    ]
