"""``gridsvc import ...`` and ``gridsvc export ...``: a city's files in and out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from gridsvc.common.cli import fail
from gridsvc.common.errors import GridsvcError
from gridsvc.geodata.layers import EXPORT_LAYERS, LAYERS
from gridsvc.geodata.problems import Problem, problem_table

import_app = typer.Typer(
    help="Import a city's own files: boundaries, facilities, population, OpenStreetMap.",
    no_args_is_help=True,
)

# The table lists this many problems; the summary counts them all.
SHOWN_PROBLEMS = 500

LAYER_HELP = {
    "districts": "Districts and banners: code (6 digits), name.",
    "streets": "Streets: code (9 digits), name; district_code (from the code when absent).",
    "communities": "Communities: code (12 digits), name, kind (urban/rural); street_code.",
    "grids": "Grids: code (15 digits), name, population, households, grid_workers.",
    "facilities": "Facilities (points): type_code, name, capacity, source.",
    "population": "Residents (points): persons.",
}


def migrated_session():
    """Return :func:`gridsvc.db.session_scope` on the configured database, migrated first."""
    from gridsvc.cluster.home import ClusterError
    from gridsvc.cluster.migrations import migrate_if_behind
    from gridsvc.db import get_engine, session_scope

    try:
        migrate_if_behind(get_engine())
    except ClusterError as error:
        raise GridsvcError(str(error)) from None
    return session_scope()


def summary(problems: list[Problem]) -> str:
    """Count the problems by field, most frequent first."""
    counts = Counter(p.field for p in problems)
    return ", ".join(f"{field}: {count}" for field, count in counts.most_common())


def report(result) -> None:  # importer.ImportResult
    """Print what the import found; exit 1 when it loaded nothing."""
    if result.errors:
        typer.echo(problem_table(result.problems, SHOWN_PROBLEMS))
        raise fail(
            f"{len(result.errors)} problem(s) in {result.rows} {result.layer} row(s) "
            f"({summary(result.errors)}); nothing was loaded."
        )
    repaired = [p for p in result.problems if p.repaired]
    if repaired:
        typer.echo(problem_table(repaired, SHOWN_PROBLEMS))
    generation = "" if result.generation is None else f" (generation {result.generation})"
    removed = "" if not result.removed else f", replacing {result.removed:,} earlier ones"
    typer.echo(
        f"Loaded {result.rows:,} {result.layer}{generation}{removed}"
        + (f"; {len(repaired)} geometries repaired." if repaired else ".")
    )


# Layers that stored coverage is made from; importing one refreshes it (unless --no-refresh).
COVERAGE_LAYERS = ("grids", "facilities", "population")

NO_REFRESH_HELP = (
    "Do not refresh stored coverage after the import (readers then compute it live until "
    "'gridsvc coverage refresh'); useful before importing further layers."
)


def refresh_coverage() -> None:
    """Refresh stored coverage where a committed import made it stale, in its own transaction.

    The import stays committed whatever happens here: a failed refresh is reported in red
    (exit 1), its partial writes are rolled back, and readers compute coverage live until
    a refresh succeeds.
    """
    from gridsvc.coverage import service as coverage_service
    from gridsvc.coverage.cli import warn_metric_crs
    from gridsvc.db import session_scope

    try:
        with session_scope() as session:
            warn_metric_crs(session)
            done = coverage_service.refresh_after_change(session, progress=True)
    except Exception as error:  # whatever failed, the import is kept
        raise fail(
            f"The import is committed, but refreshing stored coverage failed: {error}. "
            "Coverage is computed live until 'gridsvc coverage refresh' succeeds."
        ) from None
    if not done["districts"]:
        typer.echo("Stored coverage is current.")
        return
    typer.echo(
        f"Stored coverage refreshed for {len(done['districts'])} district(s) "
        f"({', '.join(done['districts'])}): {done['grids']:,} grids, "
        f"{done['service_areas']:,} service areas; {done['seconds']} s."
    )


def run_import(request, refresh: bool = True) -> None:  # importer.ImportRequest
    """Run one import in one transaction: committed whole, or rolled back and reported.

    After a committed import of a layer coverage is made from, stored coverage is refreshed
    in a transaction of its own (see :func:`refresh_coverage`).
    """
    from gridsvc.common.memory import objects_frozen
    from gridsvc.geodata.importer import import_file

    try:
        with migrated_session() as session, objects_frozen():  # a layer's rows: fewer passes
            result = import_file(session, request, progress=True)
            if result.errors:
                session.rollback()  # loads nothing; the scope then commits no rows
    except GridsvcError as error:
        raise fail(error.message) from None
    report(result)
    if refresh and request.layer in COVERAGE_LAYERS:
        refresh_coverage()


# The options of every ``gridsvc import LAYER`` command.
FileArgument = Annotated[
    Path, typer.Argument(help="GeoJSON, GeoPackage, Shapefile (.shp/.zip), CSV.")
]
FileLayerOption = Annotated[
    str | None,
    typer.Option(
        "--layer", help="Layer inside the file (default: the only one, or the one named LAYER)."
    ),
]
CrsOption = Annotated[
    str | None,
    typer.Option(
        help="Coordinates of the file: wgs84, gcj02, bd09 or EPSG:n "
        "(default: the file's own CRS, else wgs84)."
    ),
]
MapOption = Annotated[
    list[str] | None,
    typer.Option("--map", help="TARGET=COLUMN: read field TARGET from the file's COLUMN."),
]
SetOption = Annotated[
    list[str] | None, typer.Option("--set", help="TARGET=VALUE: the same VALUE for every row.")
]
ReplaceOption = Annotated[
    bool,
    typer.Option(
        help="Boundaries: the file becomes the new generation and the current one is "
        "closed. Facilities: drop earlier ones of the same source (an empty file with "
        "--set source=X drops that source's). Population: drop all."
    ),
]
EncodingOption = Annotated[
    str | None,
    typer.Option(
        help="Text encoding of the file, e.g. gbk (default: UTF-8 for CSV, what the file "
        "declares otherwise, e.g. a Shapefile's .cpg)."
    ),
]
RepairOption = Annotated[bool, typer.Option(help="Repair invalid geometries with make_valid.")]
NoRefreshOption = Annotated[bool, typer.Option("--no-refresh", help=NO_REFRESH_HELP)]


def import_command(layer: str) -> Callable[..., None]:
    """Build the ``gridsvc import LAYER`` command."""

    def command(
        file: FileArgument,
        layer_name: FileLayerOption = None,
        crs: CrsOption = None,
        mapping: MapOption = None,
        constants: SetOption = None,
        replace: ReplaceOption = False,
        encoding: EncodingOption = None,
        repair: RepairOption = False,
        no_refresh: NoRefreshOption = False,
    ) -> None:
        from gridsvc.geodata.importer import ImportRequest
        from gridsvc.geodata.readers import parse_assignments

        try:
            request = ImportRequest(
                layer=layer,
                path=file,
                file_layer=layer_name,
                crs=crs,
                mapping=parse_assignments(mapping, "--map"),
                constants=parse_assignments(constants, "--set"),
                replace=replace,
                repair=repair,
                encoding=encoding,
            )
        except GridsvcError as error:
            raise fail(error.message) from None
        run_import(request, refresh=not no_refresh)

    command.__doc__ = (
        f"{LAYER_HELP[layer]} Every row is checked first: any problem is listed and "
        "nothing is loaded."
    )
    return command


for _layer in LAYERS:
    import_app.command(_layer)(import_command(_layer))


@import_app.command("osm")
def import_osm(
    file: Path = typer.Argument(..., help="An OpenStreetMap extract (.osm.pbf)."),
    bbox: str | None = typer.Option(
        None, help="minlon,minlat,maxlon,maxlat: keep only what lies in this box."
    ),
    replace: bool = typer.Option(
        False, help="Replace the walking network and the facilities of an earlier OSM import."
    ),
    no_refresh: bool = typer.Option(False, "--no-refresh", help=NO_REFRESH_HELP),
) -> None:
    """Load the walking network (largest connected part) and facilities from OSM tags."""
    from gridsvc.common.geojson import parse_bbox
    from gridsvc.geodata.osm import import_osm_file

    try:
        box = None if bbox is None else parse_bbox(bbox, "--bbox")
        with migrated_session() as session:
            loaded = import_osm_file(session, file, box, replace=replace)
    except GridsvcError as error:
        raise fail(error.message) from None
    typer.echo(
        f"Loaded from {file.name}: {loaded.nodes:,} walking nodes, {loaded.edges:,} edges "
        f"({loaded.length_km:,.1f} km), {loaded.facilities:,} facilities "
        f"({', '.join(f'{t} {n}' for t, n in sorted(loaded.facility_types.items())) or 'none'})."
    )
    for warning in loaded.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if not no_refresh:
        refresh_coverage()


def export(
    layer: str = typer.Argument(..., help=f"One of: {', '.join(EXPORT_LAYERS)}."),
    file: Path = typer.Argument(
        ..., help="Target; the extension picks the format: .geojson .gpkg .shp .zip .csv"
    ),
    crs: str = typer.Option(
        "wgs84", help="Coordinates to write: wgs84, gcj02 or bd09 (a shifted file's name says so)."
    ),
    district: str | None = typer.Option(None, help="Only this district's rows (6-digit code)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace FILE if it exists."),
) -> None:
    """Write the current rows of LAYER to FILE (GeoJSON, GeoPackage, Shapefile, CSV)."""
    from gridsvc.geodata.export import export_layer, export_to_file, named_for

    try:
        export_layer(layer)
        file = named_for(file, crs)
        if file.exists() and not overwrite:
            raise GridsvcError(f"{file} exists: give --overwrite to replace it")
        with migrated_session() as session:
            count = export_to_file(session, layer, file, crs, district, overwrite=overwrite)
    except (GridsvcError, ValueError) as error:
        raise fail(getattr(error, "message", str(error))) from None
    typer.echo(f"Wrote {count:,} {layer} to {file}.")
