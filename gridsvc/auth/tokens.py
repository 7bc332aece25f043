"""Bearer tokens (signed JWT, HS256) and the principal they carry: a role and its scope.

Scopes: a grid worker acts on own grids, department staff on their department's cases, a
supervisor on the whole city or on one district; an admin on everything. A reporter is
anonymous (no token: the report's secret only) or registered (a token whose subject owns the
reports made with it).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt

from gridsvc.auth.roles import Role
from gridsvc.common.errors import PermissionDeniedError, UnauthenticatedError
from gridsvc.config import Settings

ALGORITHM = "HS256"
SECRET_FILE = "token-secret"
ISSUER = "gridsvc"


class InvalidTokenError(UnauthenticatedError):
    """The bearer token is missing, malformed, expired or badly signed."""


class ForbiddenError(PermissionDeniedError):
    """The principal's role may not use this endpoint at all."""


@dataclass(frozen=True)
class Principal:
    """Who makes a request: role, subject and scope."""

    role: Role
    subject: str
    grids: tuple[str, ...] = field(default_factory=tuple)
    department: str | None = None
    district: str | None = None

    @property
    def anonymous(self) -> bool:
        """Whether nobody signed in (a reporter without a token)."""
        return self.subject == ANONYMOUS_SUBJECT


ANONYMOUS_SUBJECT = "anonymous"
ANONYMOUS = Principal(role=Role.REPORTER, subject=ANONYMOUS_SUBJECT)
SYSTEM = Principal(role=Role.SYSTEM, subject="system")


def check_scope(principal: Principal) -> None:
    """Raise ValueError unless the role carries the scope it needs (and no other)."""
    role = principal.role
    if role is Role.SYSTEM:
        raise ValueError("no token is issued for the 'system' role")
    if role is Role.GRID_WORKER and not principal.grids:
        raise ValueError("a grid worker's token needs at least one --grid CODE")
    if role is Role.DEPARTMENT and not principal.department:
        raise ValueError("department staff's token needs --department CODE")
    bad_grids = [code for code in principal.grids if len(code) != 15 or not code.isdigit()]
    if bad_grids:
        raise ValueError(f"a grid code has 15 digits: {', '.join(bad_grids)}")
    district = principal.district
    if district is not None and (len(district) != 6 or not district.isdigit()):
        raise ValueError(f"a district code has 6 digits, not '{district}'")
    if principal.grids and role is not Role.GRID_WORKER:
        raise ValueError("--grid is only for grid workers")
    if principal.department and role is not Role.DEPARTMENT:
        raise ValueError("--department is only for department staff")
    if principal.district and role is not Role.SUPERVISOR:
        raise ValueError("--district is only for supervisors")


def signing_secret(settings: Settings) -> str:
    """Return the configured signing key, or this checkout's own random one (made once)."""
    if settings.token_secret:
        return settings.token_secret
    path = Path(settings.home) / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def issue_token(principal: Principal, secret: str, ttl: timedelta) -> str:
    """Return a signed token for ``principal``, valid for ``ttl``."""
    check_scope(principal)
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": principal.subject,
        "role": principal.role.value,
        "iat": now,
        "exp": now + ttl,
    }
    if principal.grids:
        claims["grids"] = list(principal.grids)
    if principal.department:
        claims["department"] = principal.department
    if principal.district:
        claims["district"] = principal.district
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read_token(token: str, secret: str) -> Principal:
    """Return the principal of a valid token; InvalidTokenError says what is wrong."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], issuer=ISSUER, options={"require": ["exp"]}
        )
        principal = Principal(
            role=Role(claims["role"]),
            subject=str(claims["sub"]),
            grids=tuple(claims.get("grids", ())),
            department=claims.get("department"),
            district=claims.get("district"),
        )
        check_scope(principal)
    except jwt.ExpiredSignatureError:
        raise InvalidTokenError("the bearer token has expired") from None
    except (jwt.InvalidTokenError, KeyError, ValueError) as error:
        raise InvalidTokenError(f"invalid bearer token: {error}") from None
    return principal
