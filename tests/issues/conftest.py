"""Tokens for every role, scoped to the lattice test city."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
import uvicorn
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from gridsvc.auth.tokens import Principal, issue_token, signing_secret
from gridsvc.config import get_settings
from gridsvc.db import get_session, transaction_per_request
from gridsvc.issues.workflow import Role
from gridsvc.main import create_app

GRID_A = "150699001001001"  # south-west corner cell of the lattice city
GRID_B = "150699001001002"  # its eastern neighbour


def bearer(role: str, subject: str | None = None, **scope) -> dict[str, str]:
    principal = Principal(role=Role(role), subject=subject or role, **scope)
    token = issue_token(principal, signing_secret(get_settings()), timedelta(hours=1))
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def headers() -> Callable[..., dict[str, str]]:
    return bearer


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(engine: Engine) -> Iterator[str]:
    """The app on a real uvicorn server on loopback, committing into the test database."""
    app = create_app()
    factory = sessionmaker(bind=engine, expire_on_commit=False)

    def committing_session() -> Iterator[Session]:
        yield from transaction_per_request(factory)

    app.dependency_overrides[get_session] = committing_session
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    uvicorn_server = uvicorn.Server(config)
    thread = threading.Thread(target=uvicorn_server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uvicorn_server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    uvicorn_server.should_exit = True
    thread.join(10)
