"""吹哨报到: what a whistle's summoned departments may do, read from the case's events.

The whistle in force is the case's latest ``whistle`` event not followed by a
``close_whistle`` (nor by the case's closing or reopening); a department that declined
since is no longer summoned. Each department it names signs in (``sign_in``) and then
reports its part (``report_part``); the case can be resolved only when every summoned
department other than the resolver has reported, or once the lead department (the case's
responsible one) closed the whistle with a reason.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridsvc.auth.tokens import Principal
from gridsvc.common.errors import InvalidParameterError
from gridsvc.issues.models import Issue, IssueEvent
from gridsvc.issues.workflow import Action

# What ends a whistle: its closing by the lead department, the case's closing or reopening.
ENDS = {Action.CLOSE_WHISTLE.value, Action.CLOSE.value, Action.REOPEN.value}


class WhistleRefused(Exception):
    """The step does not fit the whistle in force (the handler answers 409)."""


def whistle_in_force(session: Session, issue: Issue) -> tuple[list[IssueEvent], set[str]]:
    """Return the events since the latest open whistle and the departments it summoned."""
    events = list(
        session.scalars(
            select(IssueEvent)
            .where(IssueEvent.issue_id == issue.id)
            .order_by(IssueEvent.created_at, IssueEvent.id)
        )
    )
    last = max((i for i, e in enumerate(events) if e.action == Action.WHISTLE.value), default=None)
    if last is None:
        return [], set()
    since = events[last + 1 :]
    if any(e.action in ENDS for e in since):
        return [], set()
    summoned = set((events[last].details or {}).get("departments") or [])
    declined = {d for e in since if e.action == Action.DECLINE.value for d in departments(e)}
    return since, summoned - declined


def departments(event: IssueEvent) -> list[str]:
    """Return the departments an event's details name."""
    return (event.details or {}).get("departments") or []


def done_by(events: list[IssueEvent], action: Action) -> set[str]:
    """Departments that took ``action`` among ``events``."""
    return {(e.details or {}).get("department") for e in events if e.action == action.value}


def check_step(
    session: Session, principal: Principal, issue: Issue, action: Action, note: str | None
) -> dict[str, Any]:
    """Check a sign-in, report or closing of the whistle; return what its event keeps."""
    since, summoned = whistle_in_force(session, issue)
    department = principal.department
    if not summoned:
        raise WhistleRefused(f"case {issue.id} has no whistle in force")
    if action is Action.CLOSE_WHISTLE:
        if department != issue.department_code:
            raise WhistleRefused(f"only the lead department {issue.department_code} closes it")
        if not (note or "").strip():
            raise InvalidParameterError("note", "closing a whistle needs a reason", "body")
        return {
            "department": department,
            "missing": sorted(summoned - done_by(since, Action.REPORT_PART)),
        }
    if department not in summoned:
        raise WhistleRefused(f"{department} is not summoned: {', '.join(sorted(summoned))} are")
    signed = done_by(since, Action.SIGN_IN)
    if action is Action.SIGN_IN and department in signed:
        raise WhistleRefused(f"{department} has signed in already")
    if action is Action.REPORT_PART:
        if department not in signed:
            raise WhistleRefused(f"{department} must sign in (报到) before reporting")
        if department in done_by(since, Action.REPORT_PART):
            raise WhistleRefused(f"{department} has reported its part already")
    return {"department": department}


def check_resolve(session: Session, principal: Principal, issue: Issue) -> None:
    """Refuse to resolve while a summoned department (not the resolver) has not reported."""
    since, summoned = whistle_in_force(session, issue)
    waiting = summoned - done_by(since, Action.REPORT_PART) - {principal.department}
    if waiting:
        raise WhistleRefused(
            f"waiting for the parts of {', '.join(sorted(waiting))}; or the lead department "
            "closes the whistle (close_whistle) with a reason"
        )
