"""Tokens for every role, scoped to the lattice test city."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from gridsvc.auth.roles import Role
from gridsvc.auth.tokens import Principal, issue_token, signing_secret
from gridsvc.config import get_settings
from tests.servers import committing_server

GRID_A = "150699001001001"  # south-west corner cell of the lattice city
GRID_B = "150699001001002"  # its eastern neighbour


def bearer(role: str, subject: str | None = None, **scope) -> dict[str, str]:
    principal = Principal(role=Role(role), subject=subject or role, **scope)
    token = issue_token(principal, signing_secret(get_settings()), timedelta(hours=1))
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def headers() -> Callable[..., dict[str, str]]:
    return bearer


@pytest.fixture(scope="module")
def server(engine: Engine) -> Iterator[str]:
    """The app on a real uvicorn server on loopback, committing into the test database."""
    yield from committing_server(engine)


@pytest.fixture
def cases(db_session, city):
    """The indicators' scenario (tests/issues/indicator_cases.py) in the test's session."""
    from tests.issues.indicator_cases import scenario

    scenario(db_session)
    return db_session
