"""Engine, sessions, the declarative Base, and the request's session dependency."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Annotated

from fastapi import Depends
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from gridsvc.cluster.databases import database_url
from gridsvc.config import get_settings


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


def transaction_per_request(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Yield a session of ``factory``; commit on success, roll back on error, then close."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def session_scope() -> Iterator[Session]:
    """One transaction per command, as per request: commit on success, roll back on error."""
    yield from transaction_per_request(session_factory())


def get_session() -> Iterator[Session]:
    """One transaction per request: commit on success, roll back on error."""
    yield from transaction_per_request(session_factory())


# scope="function": the commit runs when the route returns, before the response is sent,
# so a 2xx is only ever sent for committed work and a failed commit becomes an error
# answer. (FastAPI's default "request" scope runs the exit after the response is sent.)
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
