"""``gridsvc maps``: write the planners' maps as HTML files that open with no server."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from gridsvc.cluster.home import ClusterError
from gridsvc.common.cli import fail
from gridsvc.common.errors import GridsvcError
from gridsvc.common.memory import objects_frozen
from gridsvc.config import get_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from gridsvc.maps.basemap import RenderOptions

app = typer.Typer(help="Planners' maps as offline HTML files.", no_args_is_help=True)

#: Written maps load their assets from this folder beside them.
STATIC_FOLDER = "static"


def copy_assets(assets_dir: Path, target: Path, html: str) -> int:
    """Copy the files ``html`` links under ``static/`` into ``target/static``; count them."""
    from gridsvc.maps import assets

    copied = 0
    for source, relative in assets.files_to_copy(assets_dir, STATIC_FOLDER, html):
        destination = target / STATIC_FOLDER / relative
        if not destination.exists() or destination.stat().st_size != source.stat().st_size:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)
        copied += 1
    return copied


def write_map(target: Path, name: str, page: str, assets_dir: Path) -> None:
    """Write one map and the assets it loads; say so."""
    path = target / name
    path.write_text(page, encoding="utf-8")
    copy_assets(assets_dir, target, page)
    typer.echo(f"wrote {path} ({len(page.encode()) / 1e6:.1f} MB)")


@objects_frozen()  # each map's frames and pages: fewer collector passes
def _render_all(session: Session, target: Path, options: RenderOptions, request: dict) -> None:
    """Write every map ``request`` asks for into ``target``."""
    from gridsvc.maps import batch

    assets_dir = get_settings().assets_dir
    for job, page in batch.pages(session, options, batch.map_jobs(session, request)):
        write_map(target, job.file, page, assets_dir)


@app.command("render")
def render_maps(
    district: list[str] = typer.Option(
        None,
        "--district",
        "-d",
        help="Only this district (6-digit code); repeat for several. "
        "Default: the whole city and every district.",
    ),
    measure: str = typer.Option("density", help="What colours the grids maps."),
    circle: list[str] = typer.Option(
        None, help="Coverage map of this living circle; repeat for several [default: all]."
    ),
    mode: str = typer.Option("network", help="Coverage by network or euclidean distance."),
    coverage: bool = typer.Option(True, help="Also render coverage maps."),
    issues: bool = typer.Option(
        True, help="Also render the issues map (every issue, as a city supervisor sees them)."
    ),
    out: Path | None = typer.Option(None, help="Folder to write into [default: GRIDSVC_MAPS_DIR]."),
    if_stale: bool = typer.Option(
        False, "--if-stale", help="Do nothing when the maps there were drawn from the same data."
    ),
) -> None:
    """Render the grids, coverage and issues maps into maps/ with an index.html listing them."""
    from gridsvc.db import session_scope
    from gridsvc.maps import assets, service, stamp
    from gridsvc.maps.index import index_html, written_maps

    settings = get_settings()
    target = out or settings.maps_dir
    request = {"district": district, "measure": measure, "circle": circle, "mode": mode}
    request |= {"coverage": coverage, "issues": issues}
    try:
        assets.check_installed(settings.assets_dir)
        options = service.render_options(settings, static_url=STATIC_FOLDER, ogc_url=None)
        service.check_measure(measure)
        with session_scope() as session:
            # The note's "data as of" is the time of drawing: the same data, the same maps.
            drawn_with = replace(options, note="")
            drawn = stamp.render_stamp(session, f"{sorted(request.items())!r} {drawn_with!r}")
            if if_stale and stamp.is_current(target, drawn):
                typer.echo(f"The maps in {target} are current: nothing to render.")
                return
            target.mkdir(parents=True, exist_ok=True)
            _render_all(session, target, options, request)
    except (GridsvcError, ClusterError, ValueError) as error:
        raise fail(str(getattr(error, "message", error))) from None
    index = target / "index.html"
    index.write_text(index_html(written_maps(target)), encoding="utf-8")
    stamp.write_stamp(target, drawn)
    typer.echo(f"wrote {index}")


@app.command("export")
def export_map(
    out: Path = typer.Argument(..., help="The file to write: .png or .pdf."),
    kind: str = typer.Option("coverage", "--map", help="grids, coverage or issues."),
    district: str | None = typer.Option(None, help="Only this district (6-digit code)."),
    circle: str | None = typer.Option(None, help="The coverage map's living circle."),
    mode: str = typer.Option("network", help="Coverage by network or euclidean distance."),
    measure: str = typer.Option("density", help="What colours a grids map."),
    width: int = typer.Option(1600, min=320, max=8000, help="Page width in CSS pixels."),
    height: int = typer.Option(1000, min=320, max=8000, help="Page height in CSS pixels."),
) -> None:
    """Export a map as PNG or PDF through headless Chromium (title, legend, scale, north)."""
    import tempfile

    from gridsvc.db import session_scope
    from gridsvc.maps import assets, batch, service
    from gridsvc.maps.export import export_page

    settings = get_settings()
    try:
        if kind not in batch.KINDS:
            raise ValueError(f"--map '{kind}': use grids, coverage or issues")
        assets.check_installed(settings.assets_dir)
        options = service.render_options(settings, static_url=STATIC_FOLDER, ogc_url=None)
        with session_scope() as session:
            job = batch.MapJob(kind, district, circle, mode, measure)
            page = batch.page(session, options, job)
        with tempfile.TemporaryDirectory(prefix="gridsvc-export-") as folder:
            path = Path(folder) / "map.html"
            path.write_text(page, encoding="utf-8")
            copy_assets(settings.assets_dir, Path(folder), page)
            export_page(path, out, width, height)
    except (GridsvcError, ClusterError, ValueError) as error:
        raise fail(str(getattr(error, "message", error))) from None
    typer.echo(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
