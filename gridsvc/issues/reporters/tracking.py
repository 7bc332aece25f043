"""The reporter's side: one's own report by its secret; rating and asking to reopen.

The secret is the reporter's key: its holder sees the whole report (own text, contact,
exact position, photos) and the steps taken, never staff names, and may rate the closed
case once or ask to reopen it within the window. A merged report follows its survivor:
its page shows the survivor's status and steps.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridsvc.auth.roles import Role
from gridsvc.auth.tokens import Principal
from gridsvc.common.errors import InvalidParameterError
from gridsvc.issues import actions, service
from gridsvc.issues.models import Department, Issue, IssueCategory, IssuePhoto
from gridsvc.issues.photos.service import PhotoStage
from gridsvc.issues.reporters import secrets as reporter
from gridsvc.issues.schemas import ActionRequest, ReporterAction
from gridsvc.issues.workflow import Action

MAX_MERGE_CHAIN = 20


def survivor_of(session: Session, issue: Issue) -> Issue:
    """Follow merges to the case that survives."""
    for _ in range(MAX_MERGE_CHAIN):
        if issue.survivor_id is None:
            return issue
        survivor = session.get(Issue, issue.survivor_id)
        assert survivor is not None
        issue = survivor
    return issue


def named_departments(details: dict[str, Any] | None) -> list[str]:
    """Return the codes of the departments a step named: routed to, dispatched, whistled..."""
    details = details or {}
    codes = list(details.get("departments") or [])
    if details.get("department_code"):
        codes.append(details["department_code"])
    return codes


def history(session: Session, reported: Issue, issue: Issue) -> list[dict[str, Any]]:
    """Return the steps of the report and, once merged, of its survivor: no actors, no notes.

    Each step names the departments it concerned (organisations, not people).
    """
    events = service.issue_events(session, reported.id)
    if issue.id != reported.id:
        events += service.issue_events(session, issue.id)
    codes = {code for event in events for code in named_departments(event.details)}
    names = dict(
        session.execute(
            select(Department.code, Department.name).where(Department.code.in_(codes))
        ).all()
    )
    return [
        {
            "action": event.action,
            "to_status": event.to_status,
            "at": service.local(event.created_at),
            "departments": [
                service.named(code, names.get(code)) for code in named_departments(event.details)
            ],
        }
        for event in events
    ]


def track(session: Session, secret: str) -> dict[str, Any]:
    """Return the reporter's own report, whole, and where the case stands."""
    reported = reporter.find_by_secret(session, secret)
    issue = survivor_of(session, reported)
    category = session.get(IssueCategory, reported.category_code)
    department = session.get(Department, issue.department_code) if issue.department_code else None
    lon, lat = service.position(session, reported)
    photos = session.execute(
        select(IssuePhoto.id, IssuePhoto.stage)
        .where(IssuePhoto.issue_id == reported.id)
        .order_by(IssuePhoto.id)
    ).all()
    return {
        "id": reported.id,
        "public_id": reported.public_id,
        "status": issue.status,
        "category": service.named(reported.category_code, category.name if category else None),
        "description": reported.description,
        "reporter_contact": reported.reporter_contact,
        "lon": lon,
        "lat": lat,
        "grid_code": reported.grid_code,
        "district_code": reported.district_code,
        "department": service.named(department.code, department.name) if department else None,
        "deadline": service.local(issue.deadline_at),
        "rating": reported.rating,
        "created_at": service.local(reported.created_at),
        "closed_at": service.local(issue.closed_at),
        "published": reported.published_at is not None,
        "photos": [photo_id for photo_id, stage in photos if stage == PhotoStage.REPORT],
        "handling_photos": [photo_id for photo_id, stage in photos if stage == PhotoStage.AFTER],
        "merged_into": issue.public_id if issue.id != reported.id else None,
        "history": history(session, reported, issue),
    }


def reporter_action(
    session: Session, secret: str, request: ReporterAction, now: datetime | None = None
) -> dict[str, Any]:
    """Rate a closed case (once per closing) or ask to reopen it, as the secret's holder."""
    if request.rating is None and not request.reopen:
        raise InvalidParameterError("rating", "give a rating (1-5) or reopen: true", "body")
    now = now or datetime.now(UTC)
    issue = reporter.find_by_secret(session, secret)
    subject = issue.reporter_subject or f"reporter:{issue.public_id}"
    principal = Principal(role=Role.REPORTER, subject=subject)
    steps = []
    if request.rating is not None:
        steps.append(ActionRequest(action=Action.RATE, rating=request.rating, note=request.note))
    if request.reopen:
        steps.append(ActionRequest(action=Action.REOPEN, note=request.note))
    for action in steps:
        actions.act(session, principal, issue.id, action, now, by_secret=True)
    return track(session, secret)
