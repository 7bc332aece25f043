"""What the public sees of reports: only what staff published, and never exactly where.

A report is public once a supervisor (or admin) publishes it, as FixMyStreet's moderation
does. Public views give the public id, category, status, dates, the text staff chose to
publish (never the reporter's own text unless staff publish it), the photos published with
it, the grid and a location rounded to 0.001° (about 100 m). Contact, secret and exact
position never leave through here. An unpublished report is absent from every public list
and answers 404, like one that does not exist.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from gridsvc.auth.tokens import Principal
from gridsvc.common.errors import InvalidParameterError, NotFoundError
from gridsvc.config import get_settings
from gridsvc.issues import service
from gridsvc.issues.models import Issue, IssueCategory, IssueEvent, IssuePhoto
from gridsvc.issues.workflow import OPEN_STATUSES, Status, is_open

#: Public positions are rounded to this many decimals of a degree (0.001° ≈ 85-111 m here).
PUBLIC_DECIMALS = 3
PUBLISH, UNPUBLISH = "publish", "unpublish"


def publish(
    session: Session,
    principal: Principal,
    issue_id: int,
    text: str | None,
    photo_ids: list[int],
    now: datetime | None = None,
) -> Issue:
    """Make a report public with the text and photos staff chose; recorded as an event."""
    now = now or datetime.now(UTC)
    issue = service.find_issue(session, principal, issue_id, for_update=True)
    own = set(session.scalars(select(IssuePhoto.id).where(IssuePhoto.issue_id == issue.id)))
    strangers = sorted(set(photo_ids) - own)
    if strangers:
        raise InvalidParameterError("photos", f"issue {issue_id} has no photos {strangers}", "body")
    set_published_photos(session, issue.id, set(photo_ids))
    issue.published_at = now
    issue.published_text = text
    details = {"text": text, "photos": sorted(set(photo_ids))}
    service.record_event(session, issue, PUBLISH, issue.status, principal, now, None, details)
    session.flush()
    return issue


def unpublish(
    session: Session, principal: Principal, issue_id: int, now: datetime | None = None
) -> Issue:
    """Take a report out of every public view again; recorded as an event."""
    now = now or datetime.now(UTC)
    issue = service.find_issue(session, principal, issue_id, for_update=True)
    set_published_photos(session, issue.id, set())
    issue.published_at = None
    issue.published_text = None
    service.record_event(session, issue, UNPUBLISH, issue.status, principal, now)
    session.flush()
    return issue


def set_published_photos(session: Session, issue_id: int, photo_ids: set[int]) -> None:
    """Mark exactly ``photo_ids`` of the issue as published."""
    session.execute(
        update(IssuePhoto)
        .where(IssuePhoto.issue_id == issue_id)
        .values(published=IssuePhoto.id.in_(photo_ids) if photo_ids else False)
    )


def coarse(value: float) -> float:
    """Round a public coordinate to about 100 m."""
    return round(value, PUBLIC_DECIMALS)


def published_report(session: Session, public_id: str) -> Issue:
    """Return the published report with this public id; anything else is a 404."""
    issue = session.scalars(
        select(Issue).where(Issue.public_id == public_id, Issue.published_at.is_not(None))
    ).first()
    if issue is None:
        raise NotFoundError(f"no published report '{public_id}'")
    return issue


def published_photo_ids(session: Session, issue: Issue) -> list[int]:
    """Return the ids of the photos published with the report, oldest first."""
    return list(
        session.scalars(
            select(IssuePhoto.id)
            .where(IssuePhoto.issue_id == issue.id, IssuePhoto.published)
            .order_by(IssuePhoto.id)
        )
    )


def public_body(session: Session, issue: Issue) -> dict[str, Any]:
    """One published report as anyone may see it (a GeoJSON Feature)."""
    lon, lat = service.position(session, issue)
    category = session.get(IssueCategory, issue.category_code)
    updated = session.scalar(
        select(func.max(IssueEvent.created_at)).where(IssueEvent.issue_id == issue.id)
    )
    return {
        "type": "Feature",
        "id": issue.public_id,
        "geometry": {"type": "Point", "coordinates": [coarse(lon), coarse(lat)]},
        "properties": {
            "public_id": issue.public_id,
            "category": service.named(issue.category_code, category.name if category else None),
            "status": issue.status,
            "open": is_open(Status(issue.status)),
            "text": issue.published_text,
            "grid_code": issue.grid_code,
            "district_code": issue.district_code,
            "created_at": service.local(issue.created_at),
            "updated_at": service.local(updated or issue.created_at),
            "closed_at": service.local(issue.closed_at),
            "photos": [
                f"/api/v1/reports/{issue.public_id}/photos/{photo_id}"
                for photo_id in published_photo_ids(session, issue)
            ],
        },
    }


def list_published(
    session: Session,
    *,
    category: str | None = None,
    open_only: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> dict[str, Any]:
    """Return published reports, newest first, as a GeoJSON FeatureCollection."""
    conditions = [Issue.published_at.is_not(None)]
    if category is not None:
        conditions.append(Issue.category_code == category)
    if open_only is not None:
        opened = Issue.status.in_(OPEN_STATUSES)
        conditions.append(opened if open_only else ~opened)
    matched = session.scalar(select(func.count()).select_from(Issue).where(*conditions)) or 0
    issues = session.scalars(
        select(Issue).where(*conditions).order_by(Issue.id.desc()).limit(limit).offset(offset)
    )
    features = [public_body(session, issue) for issue in issues]
    return {
        "type": "FeatureCollection",
        "numberMatched": matched,
        "numberReturned": len(features),
        "features": features,
    }


def published_photo(session: Session, public_id: str, photo_id: int) -> tuple[Path, str]:
    """Return the file and media type of a photo published with a published report."""
    issue = published_report(session, public_id)
    photo = session.get(IssuePhoto, photo_id)
    path = Path(get_settings().photos_dir) / photo.path if photo else None
    if photo is None or photo.issue_id != issue.id or not photo.published or not path.is_file():
        raise NotFoundError(f"report '{public_id}' has no published photo {photo_id}")
    return path, photo.media_type
