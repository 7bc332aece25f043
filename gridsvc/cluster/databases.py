"""Databases on the server in use: their URLs, whether it answers, creating and dropping them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from gridsvc.cluster.home import (
    DRIVER,
    HOST,
    SUPERUSER,
    ClusterError,
    ClusterPaths,
    read_password,
    remembered_port,
)
from gridsvc.config import Settings, get_settings

EXTENSIONS = ("postgis", "pgrouting")
PROTECTED_DATABASES = {"postgres", "template0", "template1"}


def database_url(settings: Settings, database: str | None = None) -> str:
    """Return the SQLAlchemy URL of ``database`` (default: the project's) on the server in use."""
    if settings.database_url:
        url = make_url(settings.database_url)
        if url.drivername in ("postgres", "postgresql"):
            url = url.set(drivername=DRIVER)
        if database:
            url = url.set(database=database)
        return url.render_as_string(hide_password=False)
    paths = ClusterPaths(settings.home)
    port, password = remembered_port(paths), read_password(paths)
    if port is None or password is None:
        raise ClusterError(
            f"The embedded cluster in {paths.home} is not set up yet: run `gridsvc db start` "
            "(or set GRIDSVC_DATABASE_URL to use another server)."
        )
    database = database or settings.database_name
    url = URL.create(DRIVER, SUPERUSER, password, HOST, port, database)
    return url.render_as_string(hide_password=False)


@contextmanager
def autocommit_connection(url: str) -> Iterator[Connection]:
    """Connect outside any transaction (as CREATE DATABASE needs); errors become ClusterError."""
    engine = create_engine(
        url, isolation_level="AUTOCOMMIT", poolclass=NullPool, connect_args={"connect_timeout": 10}
    )
    try:
        with engine.connect() as connection:
            yield connection
    except SQLAlchemyError as error:
        shown = make_url(url).render_as_string(hide_password=True)
        reason = str(getattr(error, "orig", None) or error).strip()
        raise ClusterError(f"{shown}: {reason}") from None
    finally:
        engine.dispose()


def database_exists(settings: Settings, name: str) -> bool:
    """Whether database ``name`` exists on the server in use."""
    with autocommit_connection(database_url(settings, "postgres")) as connection:
        found = connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        )
    return found is not None


def ensure_database(settings: Settings, name: str) -> str:
    """Create database ``name`` with PostGIS and pgRouting unless there; return its URL."""
    if not database_exists(settings, name):
        with autocommit_connection(database_url(settings, "postgres")) as connection:
            quoted = connection.dialect.identifier_preparer.quote(name)
            connection.execute(text(f"CREATE DATABASE {quoted}"))
    url = database_url(settings, name)
    try:
        with autocommit_connection(url) as connection:
            for extension in EXTENSIONS:
                connection.execute(text(f"CREATE EXTENSION IF NOT EXISTS {extension} CASCADE"))
    except ClusterError as error:
        raise ClusterError(
            f"{error}\nThe server needs PostGIS 3 and pgRouting (Debian: postgresql-15-postgis-3, "
            "postgresql-15-pgrouting) and a user allowed to create extensions."
        ) from None
    return url


def drop_database(settings: Settings, name: str) -> None:
    """Drop database ``name`` if it exists, ending its open sessions."""
    if name in PROTECTED_DATABASES:
        raise ClusterError(f"Refusing to drop the server's own database {name}.")
    with autocommit_connection(database_url(settings, "postgres")) as connection:
        quoted = connection.dialect.identifier_preparer.quote(name)
        connection.execute(text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))


# SQLSTATEs of a server that is there but not accepting work: shutting down, starting up.
_UNAVAILABLE_STATES = {"57P01", "57P02", "57P03"}


def is_unreachable(error: OperationalError) -> bool:
    """Whether ``error`` means the database cannot be reached, not that a statement failed.

    A failed connection has no SQLSTATE (the client gave up) or one of class 08; a server
    shutting down or starting answers 57P01-57P03. Deadlocks and timeouts, also
    OperationalErrors, are the statement's business and keep their traceback.
    """
    state = getattr(error.orig, "sqlstate", None)
    return (
        error.connection_invalidated
        or state is None
        or state.startswith("08")
        or (state in _UNAVAILABLE_STATES)
    )


def unreachable_message(error: OperationalError) -> str:
    """One line: which database does not answer, why in a few words, and what to run."""
    lines = str(error.orig).strip().splitlines() or ["no answer"]
    reason = lines[0].rsplit(" failed: ", 1)[-1].rstrip(".")
    settings = get_settings()
    if not settings.database_url:
        return (
            f"The database is not running ({reason}): start gridsvc's own cluster in "
            f"{settings.home} with `gridsvc db start`."
        )
    url = make_url(settings.database_url)
    where = f"{url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"
    return (
        f"The database at {where} (GRIDSVC_DATABASE_URL) does not answer ({reason}): start "
        "that server, or unset GRIDSVC_DATABASE_URL and run `gridsvc db start` to use "
        "gridsvc's own."
    )
