"""Storing issue photos on disk (under the photos folder) and their rows in the database."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridsvc.auth.tokens import Principal
from gridsvc.common.errors import NotFoundError
from gridsvc.config import get_settings
from gridsvc.issues import photo_files, reporter, service
from gridsvc.issues.models import Issue, IssuePhoto
from gridsvc.issues.photos import clean_photo


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


def add_photo(
    session: Session,
    principal: Principal,
    issue_id: int,
    data: bytes,
    secret: str | None = None,
) -> dict[str, Any]:
    """Check, clean and store one photo of an issue; return its description."""
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
    )
    session.add(row)
    session.flush()
    photo_files.place_file(session, Path(settings.photos_dir) / relative, photo.content)
    return photo_body(row)


def photo_body(row: IssuePhoto) -> dict[str, Any]:
    """Return a stored photo's description."""
    return {
        "id": row.id,
        "issue_id": row.issue_id,
        "media_type": row.media_type,
        "size_bytes": row.size_bytes,
        "width": row.width,
        "height": row.height,
        "sha256": row.sha256,
        "published": bool(row.published),
    }


def list_photos(
    session: Session, principal: Principal, issue_id: int, secret: str | None = None
) -> list[dict[str, Any]]:
    """Return the photos of an issue the caller may see, oldest first."""
    issue = issue_for_upload(session, principal, issue_id, secret)
    rows = session.scalars(
        select(IssuePhoto).where(IssuePhoto.issue_id == issue.id).order_by(IssuePhoto.id)
    )
    return [photo_body(row) for row in rows]


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
    if row is None or row.issue_id != issue.id or path is None or not path.is_file():
        raise NotFoundError(f"issue {issue_id} has no photo {photo_id}")
    return path, row.media_type
