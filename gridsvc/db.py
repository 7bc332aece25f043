"""Engine, sessions, the declarative Base, the request's session dependency, and migrations."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Annotated

from fastapi import Depends
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from gridsvc.config import get_settings, project_root


class Base(DeclarativeBase):
    """Base of every mapped table; the schema itself comes from Alembic only."""


def resolve_database_url() -> str:
    """Return the configured server's URL, or the embedded cluster's (which must be running)."""
    from gridsvc.cluster import service as cluster_service

    return cluster_service.database_url(get_settings())


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


def get_session() -> Iterator[Session]:
    """One transaction per request: commit on success, roll back on error."""
    yield from transaction_per_request(session_factory())


# scope="function": the commit runs when the route returns, before the response is sent,
# so a 2xx is only ever sent for committed work and a failed commit becomes an error
# answer. (FastAPI's default "request" scope runs the exit after the response is sent.)
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def alembic_config(url: str):  # alembic.config.Config, imported lazily
    """Return an Alembic configuration pointing at the project's ``alembic/`` folder and ``url``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(project_root() / "alembic"))
    # ConfigParser interpolation would choke on '%' in passwords.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str, revision: str = "head") -> None:
    """Upgrade the database at ``url`` to ``revision``."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str, force: bool = False) -> None:
    """Downgrade the database at ``url`` to ``revision`` (``base`` drops every table).

    A step that would drop tables holding rows refuses (alembic's CommandError) unless
    ``force``, which passes ``-x force=true`` as the alembic command line would.
    """
    from argparse import Namespace

    from alembic import command

    config = alembic_config(url)
    config.cmd_opts = Namespace(x=["force=true"] if force else [])
    command.downgrade(config, revision)
