"""Engine, sessions, the declarative Base, and the request's session dependency."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Annotated

import anyio
from fastapi import Depends
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from gridsvc.cluster.databases import database_url
from gridsvc.config import Settings, get_settings


class Base(DeclarativeBase):
    """Base of every mapped table; the schema itself comes from Alembic only."""


def resolve_database_url() -> str:
    """Return the configured server's URL, or the embedded cluster's (which must be running)."""
    return database_url(get_settings())


@lru_cache
def engine_for(url: str) -> Engine:
    """One pooled engine per URL for the process, sized by GRIDSVC_DB_POOL_SIZE/MAX_OVERFLOW."""
    settings = get_settings()
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )


def get_engine() -> Engine:
    """Return the engine of the configured database."""
    return engine_for(resolve_database_url())


def session_factory(engine: Engine | None = None) -> sessionmaker[Session]:
    """Return a session factory bound to ``engine`` (default: the configured database)."""
    return sessionmaker(bind=engine or get_engine(), expire_on_commit=False)


# The requests' session factory and the settings it was made for: resolving the URL parses
# it, or reads the embedded cluster's port and password files, which is not for every request.
_request_factory: tuple[Settings, sessionmaker[Session]] | None = None


def request_session_factory() -> sessionmaker[Session]:
    """Return the session factory of the configured database, made again when settings change."""
    global _request_factory
    settings = get_settings()
    if _request_factory is None or _request_factory[0] is not settings:
        _request_factory = (settings, session_factory())
    return _request_factory[1]


def transaction_per_request(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Yield a session of ``factory``; commit on success, roll back on error, then close."""
    session = factory()
    try:
        yield session
    except BaseException:
        _roll_back_and_close(session)
        raise
    _commit_and_close(session)


@contextmanager
def session_scope() -> Iterator[Session]:
    """One transaction per command, as per request: commit on success, roll back on error."""
    yield from transaction_per_request(session_factory())


async def get_session() -> AsyncIterator[Session]:
    """One transaction per request: commit on success, roll back on error.

    Made on the event loop, since a new session does no I/O (its connection is taken at
    its first statement, in the route's thread); only the end, commit or rollback and
    close, goes to the thread pool. One hop from the event loop to a thread fewer per
    request than a plain generator, whose start would take a hop of its own.
    """
    session = request_session_factory()()
    try:
        yield session
    except BaseException:
        with anyio.CancelScope(shield=True):  # a request cancelled still gives its connection back
            await run_in_threadpool(_roll_back_and_close, session)
        raise
    with anyio.CancelScope(shield=True):
        await run_in_threadpool(_commit_and_close, session)


def _commit_and_close(session: Session) -> None:
    try:
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _roll_back_and_close(session: Session) -> None:
    try:
        session.rollback()
    finally:
        session.close()


# scope="function": the commit runs when the route returns, before the response is sent,
# so a 2xx is only ever sent for committed work and a failed commit becomes an error
# answer. (FastAPI's default "request" scope runs the exit after the response is sent.)
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
