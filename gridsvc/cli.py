"""The ``gridsvc`` command: database, demo city, tokens and API server."""

from __future__ import annotations

import socket
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
import typer
from sqlalchemy.exc import OperationalError
from typer.core import TyperGroup

from gridsvc.auth.roles import Role
from gridsvc.auth.tokens import Principal, issue_token, signing_secret
from gridsvc.cluster import cli as cluster_cli
from gridsvc.cluster.databases import is_unreachable, unreachable_message
from gridsvc.cluster.home import ClusterError
from gridsvc.common.cli import fail
from gridsvc.config import get_settings
from gridsvc.coverage import cli as coverage_cli
from gridsvc.geodata import cli as geodata_cli
from gridsvc.geodata import sources_cli as facilities_cli
from gridsvc.geodata.demo import DEFAULT_DEMO_SEED
from gridsvc.issues import cli as issues_cli
from gridsvc.maps import cli as maps_cli
from gridsvc.rebalancing import cli as rebalancing_cli
from gridsvc.region import cli as region_cli


class GridsvcGroup(TyperGroup):
    """The top command: a database that is down or not set up is one red line, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; turn an unreachable database or a cluster error into exit 1."""
        try:
            return super().invoke(ctx)
        except OperationalError as error:
            if not is_unreachable(error):
                raise
            raise fail(unreachable_message(error)) from None
        except ClusterError as error:
            raise fail(str(error)) from None


app = typer.Typer(
    cls=GridsvcGroup,
    help="gridsvc: grid management for a Chinese city (Ordos demo).",
    no_args_is_help=True,
)
app.add_typer(cluster_cli.app, name="db")
demo_app = typer.Typer(help="Build the Ordos demo city.", no_args_is_help=True)
app.add_typer(demo_app, name="demo")
app.add_typer(coverage_cli.app, name="coverage")
app.add_typer(geodata_cli.import_app, name="import")
app.command("export")(geodata_cli.export)
app.add_typer(facilities_cli.app, name="facilities")
app.add_typer(rebalancing_cli.app, name="grids")
app.add_typer(maps_cli.app, name="maps")
app.add_typer(issues_cli.app, name="issues")
app.add_typer(region_cli.app, name="region")
app.command("bulletin")(issues_cli.bulletin_command)

DEFAULT_DEMO_GRIDS = 6702


@demo_app.command("build")
def demo_build(
    seed: int = typer.Option(
        DEFAULT_DEMO_SEED, help="Random seed; the same seed builds the same city."
    ),
    grids: int = typer.Option(DEFAULT_DEMO_GRIDS, min=20, help="Number of grids in the city."),
    replace: bool = typer.Option(False, help="Replace a city that is already in the database."),
    gpkg: Path | None = typer.Option(
        None, help="GeoPackage copy to write [default: geodata/demo/ordos-demo.gpkg]."
    ),
) -> None:
    """Build the Ordos demo city into the database and write a GeoPackage copy."""
    from gridsvc.cluster.migrations import migrate_if_behind
    from gridsvc.common.memory import objects_frozen
    from gridsvc.db import get_engine, session_scope
    from gridsvc.geodata import city_loader
    from gridsvc.geodata.demo.build import build_demo_city
    from gridsvc.geodata.demo.outlines import OutlinesMissing
    from gridsvc.geodata.gpkg import write_city_geopackage

    try:
        migrate_if_behind(get_engine())  # a fresh database gets its schema first
    except ClusterError as error:
        raise fail(str(error)) from None
    with session_scope() as session:
        if city_loader.city_is_loaded(session) and not replace:
            typer.echo("A city is already in the database; use --replace to build it anew.")
            return
    started = time.perf_counter()
    with objects_frozen():  # millions of objects made and kept: fewer collector passes
        try:
            city = build_demo_city(seed=seed, grids=grids, progress=True)
        except OutlinesMissing as error:
            raise fail(error.message) from None
        with session_scope() as session:
            for step in city_loader.load_city(session, city):
                typer.echo(f"loaded {step}", err=True)
        target = gpkg or get_settings().geodata_dir / "demo" / "ordos-demo.gpkg"
        write_city_geopackage(city, target)
    typer.echo(
        f"Demo city (seed {seed}): {len(city.districts)} districts, {len(city.streets)} streets, "
        f"{len(city.communities)} communities, {len(city.grids)} grids, "
        f"{int(city.population['persons'].sum()):,} residents, {len(city.facilities)} facilities, "
        f"{len(city.network_edges)} walking edges; {time.perf_counter() - started:.1f} s. "
        f"GeoPackage: {target}"
    )


#: The roles a token can be issued for (the system role is the scheduler's own).
ROLES = [role.value for role in Role if role is not Role.SYSTEM]


@app.command("token")
def token(
    role: str = typer.Option(..., help=f"One of: {', '.join(ROLES)}."),
    grid: list[str] = typer.Option(
        [], help="A grid worker's grid code (15 digits); repeat for several grids."
    ),
    department: str | None = typer.Option(None, help="Department staff's department code."),
    district: str | None = typer.Option(
        None, help="A supervisor's district code (6 digits); none: the whole city."
    ),
    subject: str | None = typer.Option(None, help="Who the token is for (default: the role)."),
    hours: float | None = typer.Option(
        None, min=0.01, help="Validity in hours (default: GRIDSVC_TOKEN_TTL_HOURS)."
    ),
) -> None:
    """Print a signed bearer token for ROLE with its scope."""
    settings = get_settings()
    if role not in ROLES:
        typer.secho(f"unknown role '{role}'; one of: {', '.join(ROLES)}", fg="red", err=True)
        raise typer.Exit(1)
    try:
        principal = Principal(
            role=Role(role),
            subject=subject or role,
            grids=tuple(grid),
            department=department,
            district=district,
        )
        ttl = timedelta(hours=hours or settings.token_ttl_hours)
        token_text = issue_token(principal, signing_secret(settings), ttl)
        check_scope_exists(principal)
        typer.echo(token_text)
    except ValueError as error:
        typer.secho(str(error), fg="red", err=True)
        raise typer.Exit(1) from None


def check_scope_exists(principal: Principal) -> None:
    """Raise ValueError if the token's department, grids or district do not exist (now)."""
    if not (principal.grids or principal.department or principal.district):
        return
    from gridsvc.common.errors import NotFoundError
    from gridsvc.db import session_scope
    from gridsvc.grids import placing as grid_placing
    from gridsvc.grids import service as grids_service
    from gridsvc.issues import service as issues_service

    with session_scope() as session:
        problems = []
        if principal.department and issues_service.unknown_departments(
            session, [principal.department]
        ):
            problems.append(f"no department '{principal.department}'")
        missing = [g for g in principal.grids if grid_placing.placement_of_grid(session, g) is None]
        problems += [f"no current grid '{code}'" for code in missing]
        if principal.district:
            try:
                grids_service.get_district_name(session, principal.district)
            except NotFoundError:
                problems.append(f"no current district '{principal.district}'")
    if problems:
        raise ValueError("; ".join(problems))


def port_in_use(host: str, port: int) -> bool:
    """Whether something already accepts connections on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


@app.command()
def serve(
    host: str = typer.Option(
        None, help="Address to listen on [default: GRIDSVC_HOST or 127.0.0.1]."
    ),
    port: int = typer.Option(None, help="Port [default: GRIDSVC_PORT or 8000]."),
    workers: int = typer.Option(
        None, min=1, help="Worker processes [default: GRIDSVC_WORKERS, or one per core]."
    ),
) -> None:
    """Serve the API (OpenAPI docs at /docs)."""
    import os

    import uvicorn

    from gridsvc.common import serving

    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    if workers:
        settings = settings.model_copy(update={"workers": workers})
    if port_in_use(host, port):
        raise fail(
            f"http://{host}:{port} is already in use: is gridsvc (make demo) already running? "
            f"Open http://{host}:{port}/docs, or stop it first, or set GRIDSVC_PORT."
        )
    try:
        plan = serving.plan(settings, database_limits())
    except ValueError as error:
        raise fail(str(error)) from None
    # The workers read their settings from the environment: they get the fitted pools.
    os.environ["GRIDSVC_DB_POOL_SIZE"] = str(plan.pool_size)
    os.environ["GRIDSVC_DB_MAX_OVERFLOW"] = str(plan.max_overflow)
    get_settings.cache_clear()
    typer.echo(f"gridsvc serves on http://{host}:{port} (docs: http://{host}:{port}/docs)")
    typer.echo(f"gridsvc runs {plan.describe()}")
    uvicorn.run(
        "gridsvc.main:app", host=host, port=port, **serving.uvicorn_options(settings, plan.workers)
    )


#: What `make demo` runs before serving, each step a no-op when its work is already done.
DEMO_STEPS = (
    ("db", "start"),
    ("db", "migrate"),
    ("demo", "build"),
    ("coverage", "refresh", "--if-stale"),
    ("maps", "render", "--if-stale"),
)


@demo_app.command("up")
def demo_up(
    host: str = typer.Option(
        None, help="Address to listen on [default: GRIDSVC_HOST or 127.0.0.1]."
    ),
    port: int = typer.Option(None, help="Port [default: GRIDSVC_PORT or 8000]."),
    workers: int = typer.Option(
        None, min=1, help="Worker processes [default: GRIDSVC_WORKERS, or one per core]."
    ),
) -> None:
    """Start PostGIS, migrate, build the demo city if none is loaded, refresh and serve.

    The steps of `make demo` in one process (the commands' own start-up paid once):
    db start, db migrate, demo build, coverage refresh --if-stale, maps render --if-stale,
    serve. A second run finds everything current and serves within seconds.
    """
    started = time.perf_counter()
    command = typer.main.get_command(app)
    for step in DEMO_STEPS:
        begun = time.perf_counter()
        typer.echo(f"gridsvc {' '.join(step)}", err=True)
        try:
            command.main(list(step), prog_name="gridsvc", standalone_mode=False)
        except click.exceptions.Exit as stop:
            if stop.exit_code:
                raise typer.Exit(stop.exit_code) from None
        typer.echo(f"  {time.perf_counter() - begun:.1f} s", err=True)
    typer.echo(f"demo ready in {time.perf_counter() - started:.1f} s; serving", err=True)
    serve(host=host, port=port, workers=workers)


def database_limits() -> tuple[int, int] | None:
    """Return the database server's connection limits, or None while it is unreachable."""
    from gridsvc.common import serving
    from gridsvc.db import resolve_database_url

    try:
        return serving.connection_limits(resolve_database_url())
    except ClusterError:  # the embedded cluster is not running yet
        return None


if __name__ == "__main__":
    app()
