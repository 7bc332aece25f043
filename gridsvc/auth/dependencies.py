"""FastAPI dependencies that read the bearer token and check the caller's role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Cookie, Depends, Query
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gridsvc.auth.roles import Role
from gridsvc.auth.tokens import (
    ANONYMOUS,
    ForbiddenError,
    InvalidTokenError,
    Principal,
    read_token,
    signing_secret,
)
from gridsvc.common.headers import TOKEN_COOKIE
from gridsvc.config import get_settings

bearer = HTTPBearer(auto_error=False, description="A token from `gridsvc token --role ROLE`.")


async def current_principal(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """Return the caller: the token's principal, or the anonymous reporter without a token.

    Async: checking a signature is quick work that need not wait for a thread of the pool.
    """
    if credentials is None:
        return ANONYMOUS
    return read_token(credentials.credentials, signing_secret(get_settings()))


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Callable[[Principal], Principal]:
    """Return a dependency admitting only callers with one of ``roles`` (401 without a token)."""

    def check(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            if principal.anonymous:
                raise InvalidTokenError("this endpoint needs a bearer token")
            allowed = ", ".join(role.value for role in roles)
            raise ForbiddenError(f"this endpoint is for {allowed}, not {principal.role.value}")
        return principal

    return check


STAFF = (Role.GRID_WORKER, Role.DEPARTMENT, Role.SUPERVISOR, Role.ADMIN)
StaffDep = Annotated[Principal, Depends(require_roles(*STAFF))]
SupervisorDep = Annotated[Principal, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN))]
AdminDep = Annotated[Principal, Depends(require_roles(Role.ADMIN))]


BROWSER_TOKEN_HELP = (
    "this page needs a token: send 'Authorization: Bearer TOKEN', or open it once with "
    "?token=TOKEN (from 'gridsvc token --role supervisor'); the browser then keeps it"
)


def browser_principal(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    token: Annotated[
        str | None,
        Query(
            description="A bearer token, for a page opened in a browser: it is moved "
            "into an HttpOnly cookie and the page reloads without it."
        ),
    ] = None,
    cookie: Annotated[str | None, Cookie(alias=TOKEN_COOKIE, include_in_schema=False)] = None,
) -> Principal:
    """Return the caller of a page: the ``token`` parameter, the bearer token or the cookie."""
    value = token or (credentials.credentials if credentials else None) or cookie
    if not value:
        raise InvalidTokenError(BROWSER_TOKEN_HELP)
    return read_token(value, signing_secret(get_settings()))


def browser_staff(principal: Annotated[Principal, Depends(browser_principal)]) -> Principal:
    """Admit staff only, as :data:`StaffDep` does, whichever way the page got its token."""
    return require_roles(*STAFF)(principal)


BrowserStaffDep = Annotated[Principal, Depends(browser_staff)]
