"""The ``gridsvc region`` commands: many cities at once on Dask."""

from __future__ import annotations

from pathlib import Path

import typer

from gridsvc.common.cli import fail
from gridsvc.config import get_settings

app = typer.Typer(
    help="Region scale on Dask: many cities' coverage, points joined to grids.",
    no_args_is_help=True,
)

SCHEDULER = typer.Option(
    None, help="Dask scheduler tcp://HOST:PORT [default: GRIDSVC_REGION_SCHEDULER; none: local]."
)
WORKERS = typer.Option(
    None, min=0, help="Local cluster workers [default: GRIDSVC_REGION_WORKERS; 0: one per core]."
)
ROOT = typer.Argument(..., help="Region folder (GeoParquet layers and region.json).")


def _client(scheduler: str | None, workers: int | None):  # a context manager
    from gridsvc.region.driver import region_client

    settings = get_settings()
    return region_client(
        scheduler or settings.region_scheduler,
        settings.region_workers if workers is None else workers,
        settings.region_worker_memory,
        echo=lambda line: typer.echo(line, err=True),
    )


@app.command("build")
def build_command(
    root: Path = ROOT,
    cities: int = typer.Option(3, min=1, max=99, help="Number of cities."),
    grids: int = typer.Option(6702, min=20, help="Grids per city (6702: Ordos size)."),
    seed: int = typer.Option(20240601, help="Seed of the first city; city i uses seed + i."),
    scheduler: str | None = SCHEDULER,
    workers: int | None = WORKERS,
) -> None:
    """Build a synthetic region of demo cities (different seeds, placed apart)."""
    from gridsvc.region.driver import build_region

    with _client(scheduler, workers) as client:
        entries = build_region(client, root, cities, seed, grids)
    residents = sum(entry.residents for entry in entries)
    grid_count = sum(entry.grids for entry in entries)
    typer.echo(
        f"Region {root}: {len(entries)} cities, {grid_count} grids, {residents:,} residents."
    )


@app.command("export")
def export_command(
    root: Path = ROOT,
    code: str = typer.Option("db", help="Code of the city in the region."),
    name: str = typer.Option("", help="Name of the city [default: its code]."),
) -> None:
    """Export the database's current city (grids, residents, facilities, network) to a region."""
    from gridsvc.db import session_scope
    from gridsvc.region.export import export_city

    with session_scope() as session:
        try:
            entry = export_city(session, root, code, name)
        except ValueError as error:
            raise fail(str(error)) from None
    typer.echo(f"Exported city {entry.code}: {entry.grids} grids, {entry.residents:,} residents.")


def _circles(codes: list[str] | None) -> list:
    from gridsvc.coverage.circles import UnknownCircleError, get_circle, load_circles

    try:
        return [get_circle(code) for code in codes] if codes else list(load_circles().values())
    except UnknownCircleError as error:
        raise fail(str(error)) from None


@app.command("coverage")
def coverage_command(
    root: Path = ROOT,
    out: Path = typer.Option(..., help="Folder for the results (coverage/city=CODE/...)."),
    circle: list[str] | None = typer.Option(None, help="Only these circles [default: all]."),
    store: bool = typer.Option(
        False, help="Also write the results of cities exported from the database into it."
    ),
    scheduler: str | None = SCHEDULER,
    workers: int | None = WORKERS,
    part_grids: int | None = typer.Option(
        None,
        min=1,
        help="About how many grids one task takes; larger districts are cut into runs of "
        "whole communities [default: GRIDSVC_REGION_PART_GRIDS, 1700].",
    ),
) -> None:
    """Compute every city's coverage for every circle in both modes, one task per part."""
    from gridsvc.region import layout
    from gridsvc.region.coverage import region_coverage

    circles = _circles(circle)
    try:
        cities = layout.read_manifest(root)
    except FileNotFoundError as error:
        raise fail(str(error)) from None
    buffer_m = get_settings().service_area_buffer_m
    with _client(scheduler, workers) as client:
        summaries = region_coverage(client, root, out, circles, buffer_m, part_grids=part_grids)
    for summary in summaries:
        typer.echo(
            f"{summary['city']}: {summary['grids']} grids, {summary['seconds']} s, "
            f"peak {summary['peak_memory_mb']:.0f} MiB"
        )
    if store:
        _store(out, [city for city in cities if city.source == "database"], circles)


def _store(out: Path, cities: list, circles: list) -> None:
    from gridsvc.db import session_scope
    from gridsvc.region.store import store_city_coverage

    for city in cities:
        with session_scope() as session:
            rows = store_city_coverage(session, out, city, circles)
        typer.echo(f"{city.code}: {rows} coverage rows stored in the database.")


@app.command("points")
def points_command(
    root: Path = ROOT,
    out: Path = typer.Option(..., help="Folder for the points (GeoParquet, EPSG:4326)."),
    count: int = typer.Option(12345, min=1, help="How many points."),
    seed: int = typer.Option(1, help="Random seed."),
    scheduler: str | None = SCHEDULER,
    workers: int | None = WORKERS,
) -> None:
    """Draw synthetic report points where the region's residents live."""
    from gridsvc.region.driver import region_points

    try:
        with _client(scheduler, workers) as client:
            written = region_points(client, root, out, count, seed)
    except FileNotFoundError as error:
        raise fail(str(error)) from None
    typer.echo(f"{written} points written to {out}.")


@app.command("join")
def join_command(
    root: Path = ROOT,
    points: Path = typer.Option(..., help="GeoParquet points (EPSG:4326) with a point_id."),
    out: Path = typer.Option(..., help="Folder for the joined points (joined/...)."),
    partitions: int | None = typer.Option(None, min=1, help="Spatial partitions of the points."),
    scheduler: str | None = SCHEDULER,
    workers: int | None = WORKERS,
) -> None:
    """Join points to the region's grids on Dask (dask-geopandas, Hilbert-shuffled)."""
    from gridsvc.region.driver import join_points

    if not points.exists():
        raise fail(f"--points {points}: no such file or folder")
    try:
        with _client(scheduler, workers) as client:
            counts = join_points(client, root, points, out, partitions)
    except FileNotFoundError as error:
        raise fail(str(error)) from None
    typer.echo(
        f"{counts['points']} points: {counts['in_grids']} in grids, {counts['outside']} outside; "
        f"{counts['seconds']} s."
    )
