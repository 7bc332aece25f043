"""Storing issue photos on disk (under the photos folder) and their rows in the database.

Photos are tagged by stage: ``report`` (the reporter's, or staff's when reporting),
``before`` and ``after`` handling (处置前后照片, by the staff in scope who act). Staff in
scope see all of them; the reporter (by the secret) sees the report's own photos and the
photos after handling, as centres show the result to the reporter, never those before.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gridsvc.auth.roles import Role
from gridsvc.auth.tokens import Principal
from gridsvc.common.errors import ConflictError, InvalidParameterError, NotFoundError
from gridsvc.config import get_settings
from gridsvc.issues import service
from gridsvc.issues.models import Issue, IssueCategory, IssueEvent, IssuePhoto
from gridsvc.issues.photos import files as photo_files
from gridsvc.issues.photos.images import clean_photo
from gridsvc.issues.reporters import secrets as reporter


class PhotoStage(StrEnum):
    """When a photo was taken: with the report, before or after handling."""

    REPORT = "report"
    BEFORE = "before"  # 处置前
    AFTER = "after"  # 处置后


#: Stages the reporter sees by the secret.
REPORTER_STAGES = (PhotoStage.REPORT.value, PhotoStage.AFTER.value)


class AfterPhotoMissing(ConflictError):
    """Resolve needs a photo after handling first."""


def issue_for_upload(
    session: Session, principal: Principal, issue_id: int, secret: str | None
) -> Issue:
    """Return the issue if the caller may see its photos: in scope, or holding its secret."""
    if secret:
        issue = reporter.find_by_secret(session, secret)
        if issue.id == issue_id:
            return issue
        raise NotFoundError(f"no issue {issue_id} (or not within your scope)")
    return service.find_issue(session, principal, issue_id)


def check_stage(principal: Principal, stage: PhotoStage, secret: str | None) -> None:
    """Only staff in scope tag photos before or after handling (422 naming ``stage``)."""
    staff = principal.role is not Role.REPORTER and not principal.anonymous
    if stage is not PhotoStage.REPORT and (secret or not staff):
        raise InvalidParameterError(
            "stage", f"'{stage}' photos are taken by the staff handling the case", "query"
        )


def add_photo(
    session: Session,
    principal: Principal,
    issue_id: int,
    data: bytes,
    secret: str | None = None,
    stage: PhotoStage = PhotoStage.REPORT,
) -> dict[str, Any]:
    """Check, clean and store one photo of an issue; return its description."""
    check_stage(principal, stage, secret)
    issue = issue_for_upload(session, principal, issue_id, secret)
    settings = get_settings()
    photo = clean_photo(
        data, settings.max_photo_bytes, settings.max_photo_pixels, settings.photo_max_side_px
    )
    digest = hashlib.sha256(photo.content).hexdigest()
    # A random part keeps two uploads of the same image apart: rolling one back must
    # never remove the file of the other.
    relative = Path(str(issue.id)) / f"{digest[:16]}-{secrets.token_hex(4)}.{photo.extension}"
    row = IssuePhoto(
        issue_id=issue.id,
        path=str(relative),
        media_type=photo.media_type,
        size_bytes=len(photo.content),
        width=photo.width,
        height=photo.height,
        sha256=digest,
        stage=stage.value,
        uploaded_by=None if secret or principal.anonymous else principal.subject,
        uploaded_role=None if secret else principal.role.value,
        # The clock of the events, so 'since the last send_back' compares like with like.
        created_at=datetime.now(UTC),
    )
    session.add(row)
    session.flush()
    photo_files.place_file(session, Path(settings.photos_dir) / relative, photo.content)
    return photo_body(row)


def photo_body(row: IssuePhoto, *, staff: bool = True) -> dict[str, Any]:
    """Return a stored photo's description (who took it only to staff)."""
    return {
        "id": row.id,
        "issue_id": row.issue_id,
        "media_type": row.media_type,
        "size_bytes": row.size_bytes,
        "width": row.width,
        "height": row.height,
        "sha256": row.sha256,
        "published": bool(row.published),
        "stage": row.stage,
        "uploaded_by": row.uploaded_by if staff else None,
        "uploaded_role": row.uploaded_role if staff else None,
        "created_at": service.iso_local(row.created_at),
    }


def list_photos(
    session: Session, principal: Principal, issue_id: int, secret: str | None = None
) -> list[dict[str, Any]]:
    """Return the photos of an issue the caller may see, oldest first."""
    issue = issue_for_upload(session, principal, issue_id, secret)
    statement = select(IssuePhoto).where(IssuePhoto.issue_id == issue.id)
    if secret:
        statement = statement.where(IssuePhoto.stage.in_(REPORTER_STAGES))
    rows = session.scalars(statement.order_by(IssuePhoto.id))
    return [photo_body(row, staff=not secret) for row in rows]


def photo_file(
    session: Session,
    principal: Principal,
    issue_id: int,
    photo_id: int,
    secret: str | None = None,
) -> tuple[Path, str]:
    """Return the file and media type of one photo of an issue the caller may see."""
    issue = issue_for_upload(session, principal, issue_id, secret)
    row = session.get(IssuePhoto, photo_id)
    path = Path(get_settings().photos_dir) / row.path if row else None
    hidden = row is not None and bool(secret) and row.stage not in REPORTER_STAGES
    if row is None or hidden or row.issue_id != issue.id or path is None or not path.is_file():
        raise NotFoundError(f"issue {issue_id} has no photo {photo_id}")
    return path, row.media_type


def check_after_photo(session: Session, issue: Issue) -> None:
    """Refuse to resolve (409) when the category needs an 'after' photo and none is new.

    A photo counts when taken since the case was last sent back: a failed check needs
    fresh proof.
    """
    category = session.get(IssueCategory, issue.category_code)
    if category is None or not category.after_photo_required:
        return
    sent_back = session.scalar(
        select(func.max(IssueEvent.created_at)).where(
            IssueEvent.issue_id == issue.id, IssueEvent.action == "send_back"
        )
    )
    statement = select(func.count()).where(
        IssuePhoto.issue_id == issue.id, IssuePhoto.stage == PhotoStage.AFTER.value
    )
    if sent_back is not None:
        statement = statement.where(IssuePhoto.created_at > sent_back)
    if not session.scalar(statement):
        raise AfterPhotoMissing(
            f"category '{category.code}' needs a photo after handling before 'resolve': "
            f"POST /api/v1/issues/{issue.id}/photos?stage=after"
        )
