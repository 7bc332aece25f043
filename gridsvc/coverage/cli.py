"""The ``gridsvc coverage`` commands: refresh stored coverage, report it per district or grid."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from gridsvc.common.cli import fail
from gridsvc.common.errors import GridsvcError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

app = typer.Typer(help="Coverage of living circles: refresh, report.", no_args_is_help=True)


def warn_metric_crs(session: Session) -> None:
    """Print a warning when a named GRIDSVC_METRIC_CRS is not the loaded city's own zone."""
    from gridsvc.grids import service as grids_service

    warning = grids_service.metric_crs_warning(session)
    if warning is not None:
        typer.secho(f"warning: {warning}", err=True, fg=typer.colors.YELLOW)


@app.command("refresh")
def refresh_command(
    district: str | None = typer.Option(None, help="Only this district (6-digit code)."),
    if_stale: bool = typer.Option(
        False, "--if-stale", help="Do nothing when the stored coverage is current."
    ),
) -> None:
    """Compute and store every facility's service areas and every grid's coverage."""
    from gridsvc.cluster.home import ClusterError
    from gridsvc.coverage import refresh
    from gridsvc.db import session_scope

    try:
        with session_scope() as session:
            warn_metric_crs(session)
            if if_stale and refresh.is_fresh(session, district):
                typer.echo("Stored coverage is current: nothing to refresh.")
                return
            summary = refresh.refresh(session, district=district, progress=True)
    except (GridsvcError, ClusterError) as error:
        raise fail(str(error)) from None
    typer.echo(
        f"Coverage refreshed: {summary['grids']} grids, {summary['circles']} circles in both "
        f"modes, {summary['service_areas']} service areas; {summary['seconds']} s."
    )


@app.command("report")
def report(
    circle: str | None = typer.Option(
        None, help="Circle code (gridsvc coverage circles lists them)."
    ),
    types: str | None = typer.Option(
        None, help="Facility type codes, comma-separated, instead of a circle."
    ),
    threshold: float | None = typer.Option(None, help="Metres, with --types."),
    mode: str = typer.Option("network", help="network or euclidean."),
    weight: str = typer.Option("population", help="population or area."),
    level: str = typer.Option("district", help="grid, community, street, district or city."),
    district: str | None = typer.Option(None, help="Only this district (6-digit code)."),
    csv_file: Path | None = typer.Option(None, "--csv", help="Write the table to this CSV."),
) -> None:
    """Print coverage of a circle per district (or other level); optionally write a CSV."""
    from gridsvc.cluster.home import ClusterError
    from gridsvc.coverage import service
    from gridsvc.db import session_scope

    try:
        with session_scope() as session:
            warn_metric_crs(session)
            codes = [code.strip() for code in types.split(",")] if types else None
            chosen = service.resolve_circle(session, circle, codes, threshold)
            result = service.grid_coverage(session, chosen, mode, district)
            rows = service.summary_rows(result.table, level, weight)
    except (GridsvcError, ClusterError) as error:
        raise fail(str(error)) from None
    if csv_file is not None:
        with csv_file.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["code"])
            writer.writeheader()
            writer.writerows(rows)
    typer.echo(f"{chosen.name} ({chosen.code}, {chosen.threshold_m:g} m, {mode}, {weight})")
    typer.echo(f"{'code':<16}{'coverage':>10}{'residents':>12}{'uncovered':>12}")
    for row in rows[:50] if level == "grid" else rows:
        typer.echo(
            f"{row['code']:<16}{100 * row['coverage']:>9.1f}%{row['residents']:>12,}"
            f"{row['uncovered_residents']:>12,}"
        )
    if csv_file is not None:
        typer.echo(f"{len(rows)} rows written to {csv_file}", err=True)
    sys.stdout.flush()


@app.command("circles")
def circles() -> None:
    """List the living circles: threshold, minutes, facility types."""
    from gridsvc.coverage.circles import load_circles

    for item in load_circles().values():
        typer.echo(
            f"{item.code:<18} {item.threshold_m:>6g} m  {item.minutes:>4g} min  "
            f"{item.name}  {', '.join(item.facility_types)}"
        )
