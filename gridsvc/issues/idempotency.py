"""``Idempotency-Key``: a retried submission gets the first answer, never a second issue.

The key row is inserted in the submission's own transaction before the issue is (an
expired one is taken over in the same statement). A concurrent request with the same key
blocks on that insert until the first transaction ends: after a commit it finds the stored
answer, after a rollback it goes ahead itself.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from gridsvc.common.errors import InvalidParameterError, UnprocessableError
from gridsvc.config import get_settings
from gridsvc.issues.models import IdempotencyKey

MAX_KEY_LENGTH = 255


class IdempotencyKeyReused(UnprocessableError):
    """The key was used before with another body."""


def body_hash(body: dict[str, Any]) -> str:
    """Return a hash of the request body that ignores key order and whitespace."""
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str) -> str:
    """Return the key if usable as an Idempotency-Key, else raise a 422 naming the header."""
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidParameterError(
            "Idempotency-Key", f"must be 1-{MAX_KEY_LENGTH} printable characters", "header"
        )
    return key


def stored_response(session: Session, principal: str, key: str, digest: str) -> tuple[int, Any]:
    """Return the status and body first given for the key, if the body is the same."""
    stored = session.scalars(
        select(IdempotencyKey).where(
            IdempotencyKey.principal == principal, IdempotencyKey.key == key
        )
    ).one()
    if stored.request_hash != digest:
        raise IdempotencyKeyReused(
            f"Idempotency-Key '{key}' was already used with a different body; "
            "use a new key for a new report"
        )
    assert stored.response is not None and stored.status_code is not None
    return stored.status_code, stored.response


#: Claim a key: a new row, or an expired one taken over as if new. A key in use (or being
#: used by a transaction not yet ended, on whose row this waits) returns no row.
CLAIM = text(
    "INSERT INTO idempotency_keys AS kept (principal, key, request_hash)"
    " VALUES (:principal, :key, :digest)"
    " ON CONFLICT (principal, key) DO UPDATE SET request_hash = excluded.request_hash,"
    " status_code = NULL, response = NULL, created_at = now()"
    " WHERE kept.created_at < :expired"
    " RETURNING key"
)
#: Keep the first answer given for a key.
STORE = text(
    "UPDATE idempotency_keys SET response = :response, status_code = :status"
    " WHERE principal = :principal AND key = :key"
).bindparams(bindparam("response", type_=JSONB))


def once(
    session: Session,
    principal: str,
    key: str,
    body: dict[str, Any],
    create: Callable[[], Any],
    status_code: int = 201,
) -> tuple[int, Any, bool]:
    """Run ``create`` once per (principal, key); return (status, response, replayed).

    Raises
    ------
    IdempotencyKeyReused
        If the key was used with another body.
    """
    check_key(key)
    digest = body_hash(body)
    expired_before = datetime.now(UTC) - timedelta(hours=get_settings().idempotency_ttl_hours)
    inserted = session.connection().scalar(
        CLAIM, {"principal": principal, "key": key, "digest": digest, "expired": expired_before}
    )
    if inserted is None:
        return (*stored_response(session, principal, key, digest), True)
    response = create()
    session.connection().execute(
        STORE, {"principal": principal, "key": key, "response": response, "status": status_code}
    )
    return status_code, response, False
