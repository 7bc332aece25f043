"""The reporter's secret and what a reporter may do with it.

A report has two names: its public id (``GS…``, what staff, lists and Open311 show, never a
credential) and the reporter's secret, returned once in the 201 and kept only as its
SHA-256. The secret alone finds the report: it is needed to see one's own full report, add
photos, rate and ask to reopen.

A submission with an ``Idempotency-Key`` gets a secret derived from the server's key and
the caller's key (HMAC): a retry that lost the first answer gets the same secret back
without the secret ever being stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridsvc.auth.tokens import Principal, signing_secret
from gridsvc.common.errors import ConflictError, NotFoundError
from gridsvc.config import get_settings
from gridsvc.issues.models import Issue, IssueEvent
from gridsvc.issues.workflow import Action

SECRET_HEX_DIGITS = 32  # 128 bits
MAX_SECRET_LENGTH = 64


class ReporterActionRefused(ConflictError):
    """A rating or reopening the case's state no longer allows."""


def hash_secret(secret: str) -> str:
    """Return the SHA-256 hex digest under which a secret is kept.

    A plain hash suffices: secrets are 128 random bits, not passwords to be guessed.
    """
    return hashlib.sha256(secret.strip().encode()).hexdigest()


def new_secret(idempotency_scope: str | None = None, key: str | None = None) -> str:
    """Return a reporter's secret: random, or derived from (scope, Idempotency-Key)."""
    if idempotency_scope is None or key is None:
        return secrets.token_hex(SECRET_HEX_DIGITS // 2)
    message = f"reporter-secret\0{idempotency_scope}\0{key}".encode()
    digest = hmac.new(signing_secret(get_settings()).encode(), message, hashlib.sha256)
    return digest.hexdigest()[:SECRET_HEX_DIGITS]


def idempotency_scope(principal: Principal, device_id: str | None, address: str | None) -> str:
    """Return whose Idempotency-Keys these are.

    A signed-in caller owns its keys, per device when it names one (an Open311 app reports
    for many phones). Anonymous callers share no principal: their keys are scoped to the
    device id the page or app sends and to the client address, so two phones that send the
    same key and body never receive each other's answer.
    """
    if not principal.anonymous:
        return f"{principal.subject}:{device_id}" if device_id else principal.subject
    return f"anonymous:{device_id or '-'}:{address or '-'}"


def find_by_secret(session: Session, secret: str, *, for_update: bool = False) -> Issue:
    """Return the report this secret belongs to, or a 404 that says nothing more."""
    if not secret or len(secret) > MAX_SECRET_LENGTH or not secret.isprintable():
        raise NotFoundError("no report has this secret")
    statement = select(Issue).where(Issue.secret_hash == hash_secret(secret))
    if for_update:
        statement = statement.with_for_update()
    issue = session.scalars(statement).first()
    if issue is None:
        raise NotFoundError("no report has this secret")
    return issue


def check_rating(session: Session, issue: Issue) -> None:
    """Refuse a second rating of the same closing (409); a case closed again may be rated."""
    last_close = session.scalar(
        select(IssueEvent.id)
        .where(IssueEvent.issue_id == issue.id, IssueEvent.action == Action.CLOSE.value)
        .order_by(IssueEvent.id.desc())
        .limit(1)
    )
    rated = session.scalar(
        select(IssueEvent.id)
        .where(
            IssueEvent.issue_id == issue.id,
            IssueEvent.action == Action.RATE.value,
            IssueEvent.id > (last_close or 0),
        )
        .limit(1)
    )
    if rated is not None:
        raise ReporterActionRefused("this case was already rated since it was closed")


def check_reopen_window(issue: Issue, now: datetime) -> None:
    """Refuse a reporter's reopening once the window after closing has passed (409)."""
    days = get_settings().reopen_window_days
    if issue.closed_at is not None and now > issue.closed_at + timedelta(days=days):
        raise ReporterActionRefused(
            f"a case can be reopened within {days:g} days of closing; this one closed on "
            f"{issue.closed_at.date().isoformat()}: report the problem again"
        )
