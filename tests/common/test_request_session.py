"""The request's session: committed before the answer, rolled back on error, and its
connection always given back, also when the request is cancelled (the client went away)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

import anyio
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from gridsvc import db


class Refused(Exception):
    """What a route raises in these tests."""


def run(request: Callable[[], Awaitable[None]]) -> None:
    """Run ``request`` on an event loop of its own, in a thread of its own: a test before it
    (Playwright's sync API) may have left a loop running in this one."""
    with ThreadPoolExecutor(1) as thread:
        thread.submit(anyio.run, request).result()


@pytest.fixture
def pool(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A pool of its own, so that its checked-out connections can be counted."""
    engine = create_engine(database_url, pool_size=2, max_overflow=0)
    monkeypatch.setattr(
        db, "request_session_factory", lambda: sessionmaker(bind=engine, expire_on_commit=False)
    )
    yield engine
    engine.dispose()


def count(engine: Engine, bucket: str) -> int:
    with engine.connect() as connection:
        return connection.scalar(
            text("SELECT count(*) FROM rate_limits WHERE bucket = :b"), {"b": bucket}
        )


def write(session: Session, bucket: str) -> None:
    session.execute(
        text("INSERT INTO rate_limits (bucket, window_start, hits) VALUES (:b, now(), 1)"),
        {"b": bucket},
    )


def remove(engine: Engine, bucket: str) -> None:
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM rate_limits WHERE bucket = :b"), {"b": bucket})


def test_a_request_that_returns_is_committed_when_its_session_ends(pool: Engine) -> None:
    bucket = f"test:{uuid.uuid4().hex}"

    async def request() -> None:
        sessions = db.get_session()
        session = await anext(sessions)
        await anyio.to_thread.run_sync(write, session, bucket)
        assert count(pool, bucket) == 0  # not yet: the route has not returned
        with pytest.raises(StopAsyncIteration):
            await anext(sessions)  # the route returned: commit, then close

    try:
        run(request)
        assert count(pool, bucket) == 1
        assert pool.pool.checkedout() == 0
    finally:
        remove(pool, bucket)


def test_a_request_that_fails_is_rolled_back(pool: Engine) -> None:
    bucket = f"test:{uuid.uuid4().hex}"

    async def request() -> None:
        sessions = db.get_session()
        session = await anext(sessions)
        await anyio.to_thread.run_sync(write, session, bucket)
        with pytest.raises(Refused):
            await sessions.athrow(Refused())

    run(request)
    assert count(pool, bucket) == 0
    assert pool.pool.checkedout() == 0


def test_a_cancelled_request_gives_its_connection_back(pool: Engine) -> None:
    bucket = f"test:{uuid.uuid4().hex}"
    cancelled = []

    async def route() -> None:
        async with asynccontextmanager(db.get_session)() as session:
            await anyio.to_thread.run_sync(write, session, bucket)
            assert pool.pool.checkedout() == 1
            await anyio.sleep(30)  # the client goes away here

    async def server() -> None:
        with anyio.move_on_after(0.5) as scope:
            await route()
        cancelled.append(scope.cancelled_caught)

    run(server)
    assert cancelled == [True]
    assert count(pool, bucket) == 0
    assert pool.pool.checkedout() == 0
