"""The ``gridsvc db`` commands: the project's own PostGIS cluster and its migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from sqlalchemy.engine import make_url

from gridsvc.cluster import service
from gridsvc.cluster.service import ClusterError, ClusterStatus
from gridsvc.common.cli import is_unreachable
from gridsvc.config import get_settings

# pg_ctl's exit code for "no server running".
STOPPED_EXIT_CODE = 3

app = typer.Typer(
    help="Run the project's own PostGIS cluster (under .gridsvc/, on its own port), "
    "or use the server in GRIDSVC_DATABASE_URL.",
    no_args_is_help=True,
)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a ClusterError into a red message and exit code 1, without a traceback."""
    try:
        yield
    except ClusterError as error:
        typer.secho(str(error), fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None


@app.command()
def start() -> None:
    """Start the cluster (created on first use) and create the project's database in it."""
    with user_errors():
        typer.echo(service.start(get_settings()).message)


@app.command()
def stop() -> None:
    """Stop the cluster; its data stays for the next start."""
    with user_errors():
        typer.echo(service.stop(get_settings()).message)


def describe(current: ClusterStatus) -> list[str]:
    """Say what ``status`` prints, one line per fact."""
    if current.external:
        return [
            f"external database: {'running' if current.running else 'unreachable'}",
            current.message,
        ]
    state = "running" if current.running else current.message
    lines = [f"state:    {state}", f"port:     {current.port or '-'}"]
    lines += [f"data dir: {current.data_dir}", f"pid:      {current.pid or '-'}"]
    return [*lines, f"log:      {current.log_file}"]


@app.command()
def status() -> None:
    """Print whether the database server runs, its port, data dir and PID (exit 3 if stopped)."""
    with user_errors():
        current = service.status(get_settings())
    for line in describe(current):
        typer.echo(line)
    raise typer.Exit(0 if current.running else STOPPED_EXIT_CODE)


@app.command()
def url(
    database: str = typer.Option(None, help="Another database on the same server."),
) -> None:
    """Print the SQLAlchemy URL of the project's database (password included)."""
    with user_errors():
        typer.echo(service.database_url(get_settings(), database))


@app.command()
def migrate(
    revision: str = typer.Option("head", help="Alembic revision to upgrade to."),
) -> None:
    """Upgrade the project's database to the newest schema (Alembic)."""
    from alembic.util import CommandError
    from sqlalchemy.exc import OperationalError, SQLAlchemyError

    from gridsvc import db

    settings = get_settings()
    with user_errors():
        if not settings.database_url and not service.status(settings).running:
            raise ClusterError("The cluster is not running: run `gridsvc db start` first.")
        database_url = service.database_url(settings)
    shown = make_url(database_url).render_as_string(hide_password=True)
    try:
        db.migrate(database_url, revision)
    except (CommandError, SQLAlchemyError) as error:
        if isinstance(error, OperationalError) and is_unreachable(error):
            raise  # the top command says it in one line
        typer.secho(f"Migrating {shown} failed: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{shown} is at revision {revision}.")
