"""The reporter's side: a case's status and history by tracking code; rating and reopening.

The tracking code is the reporter's key: anyone holding it sees the status and the steps
taken, never names or contacts, and may rate the closed case or ask to reopen it. A
merged report follows its survivor: its page shows the survivor's status and steps.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridsvc.auth.tokens import Principal
from gridsvc.common.errors import InvalidParameterError, NotFoundError
from gridsvc.issues import handling, service
from gridsvc.issues.models import Issue
from gridsvc.issues.schemas import ActionRequest, ReporterAction
from gridsvc.issues.workflow import Action, Role

MAX_MERGE_CHAIN = 20


def find_by_tracking_code(session: Session, code: str) -> Issue:
    """Return the issue with this tracking code, or a 404."""
    issue = session.scalars(
        select(Issue).where(Issue.tracking_code == code.strip().upper())
    ).first()
    if issue is None:
        raise NotFoundError(f"no issue has the tracking code '{code}'")
    return issue


def survivor_of(session: Session, issue: Issue) -> Issue:
    """Follow merges to the case that survives."""
    for _ in range(MAX_MERGE_CHAIN):
        if issue.survivor_id is None:
            return issue
        survivor = session.get(Issue, issue.survivor_id)
        assert survivor is not None
        issue = survivor
    return issue


def track(session: Session, code: str) -> dict[str, Any]:
    """Return the public view of a case: status and history, no personal data."""
    reported = find_by_tracking_code(session, code)
    issue = survivor_of(session, reported)
    history = service.issue_events(session, reported.id)
    if issue.id != reported.id:
        history += service.issue_events(session, issue.id)
    return {
        "tracking_code": reported.tracking_code,
        "status": issue.status,
        "category": issue.category_code,
        "district": issue.district_code,
        "deadline": service.local(issue.deadline_at),
        "rating": reported.rating,
        "merged_into": issue.tracking_code if issue.id != reported.id else None,
        "history": [
            {
                "action": event.action,
                "to_status": event.to_status,
                "at": service.local(event.created_at),
            }
            for event in history
        ],
    }


def reporter_action(
    session: Session, code: str, request: ReporterAction, now: datetime | None = None
) -> dict[str, Any]:
    """Rate a closed case or ask to reopen it, as the holder of its tracking code."""
    if request.rating is None and not request.reopen:
        raise InvalidParameterError("rating", "give a rating (1-5) or reopen: true", "body")
    now = now or datetime.now(UTC)
    issue = find_by_tracking_code(session, code)
    # The tracking code stands for the reporter, registered or not.
    principal = Principal(role=Role.REPORTER, subject=issue.reporter_subject or f"tracking:{code}")
    actions = []
    if request.rating is not None:
        actions.append(ActionRequest(action=Action.RATE, rating=request.rating, note=request.note))
    if request.reopen:
        actions.append(ActionRequest(action=Action.REOPEN, note=request.note))
    for action in actions:
        handling.act(session, principal, issue.id, action, now, by_tracking_code=True)
    return track(session, code)
