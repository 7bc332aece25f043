"""What every ``gridsvc`` command shares: how it fails, and its words for a database down."""

from __future__ import annotations

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from gridsvc.config import get_settings

# SQLSTATEs of a server that is there but not accepting work: shutting down, starting up.
_UNAVAILABLE_STATES = {"57P01", "57P02", "57P03"}


def fail(message: str) -> typer.Exit:
    """Print ``message`` in red on stderr; the caller raises the returned Exit(1)."""
    typer.secho(message, fg=typer.colors.RED, err=True)
    return typer.Exit(1)


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
