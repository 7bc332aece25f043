"""The ``gridsvc db`` commands: the project's own PostGIS cluster and its migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from sqlalchemy.engine import make_url

from gridsvc.cluster import service
from gridsvc.cluster.databases import is_unreachable
from gridsvc.cluster.home import ClusterError
from gridsvc.cluster.service import ClusterStatus
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
    libpq: bool = typer.Option(
        False, "--libpq", help="A postgresql:// URL for psql, QGIS and other libpq clients."
    ),
) -> None:
    """Print the SQLAlchemy URL of the project's database (password included)."""
    with user_errors():
        found = service.database_url(get_settings(), database)
    if libpq:  # psql and QGIS know no "+psycopg" driver part
        found = make_url(found).set(drivername="postgresql").render_as_string(hide_password=False)
    typer.echo(found)


def project_database_url() -> str:
    """Return the project's database URL; the embedded cluster must be running."""
    settings = get_settings()
    with user_errors():
        if not settings.database_url and not service.status(settings).running:
            raise ClusterError("The cluster is not running: run `gridsvc db start` first.")
        return service.database_url(settings)


@app.command()
def migrate(
    revision: str = typer.Option("head", help="Alembic revision to upgrade to."),
) -> None:
    """Upgrade the project's database to the newest schema (Alembic)."""
    from alembic.util import CommandError
    from sqlalchemy.exc import OperationalError, SQLAlchemyError

    from gridsvc.cluster import migrations

    database_url = project_database_url()
    shown = make_url(database_url).render_as_string(hide_password=True)
    try:
        migrations.migrate(database_url, revision)
    except (CommandError, SQLAlchemyError) as error:
        if isinstance(error, OperationalError) and is_unreachable(error):
            raise  # the top command says it in one line
        typer.secho(f"Migrating {shown} failed: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{shown} is at revision {revision}.")


@app.command()
def downgrade(
    revision: str = typer.Argument(..., help="Alembic revision to go down to ('base': nothing)."),
    force: bool = typer.Option(
        False, "--force", help="Drop tables even if they hold rows (their data is lost)."
    ),
) -> None:
    """Downgrade the project's database; refuses to drop tables holding rows unless --force."""
    from alembic.util import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from gridsvc.cluster import migrations

    database_url = project_database_url()
    shown = make_url(database_url).render_as_string(hide_password=True)
    try:
        migrations.downgrade(database_url, revision, force=force)
    except (CommandError, SQLAlchemyError) as error:
        typer.secho(f"Downgrading {shown} failed: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{shown} is at revision {revision}.")


def progress_line(message: str) -> None:
    """Print one progress line on standard error."""
    typer.echo(message, err=True)


@app.command()
def backup(
    file: Path = typer.Argument(..., help="The tar to write (database dump and photo files)."),
) -> None:
    """Back up the project's database (pg_dump) and its photo files into one tar FILE."""
    from gridsvc.cluster import backup as backups

    project_database_url()  # says what to do when the cluster is not running
    with user_errors():
        backups.backup(get_settings(), file, progress_line)


@app.command()
def restore(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="A `db backup` tar."),
    force: bool = typer.Option(
        False, "--force", help="Replace the project's database even if it holds data."
    ),
) -> None:
    """Restore a `gridsvc db backup` FILE into an empty database (or replace it with --force)."""
    from gridsvc.cluster import backup as backups

    project_database_url()
    with user_errors():
        backups.restore(get_settings(), file, force, progress_line)
