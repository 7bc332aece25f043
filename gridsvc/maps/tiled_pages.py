"""The whole city's coverage page over the /ogc vector tiles, kept per data version.

A page of ~165 kB gzipped instead of 1.4 MB: the grids, gaps and service areas come as
tiles (:mod:`gridsvc.maps.tiled`). Drawing the page still reads every grid (its extent,
opacity scale and search index), so it is kept until the data it is drawn from change.
"""

from __future__ import annotations

from collections import OrderedDict

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from gridsvc.coverage import analysis
from gridsvc.coverage import service as coverage_service
from gridsvc.coverage.circles import Circle
from gridsvc.coverage.models import GridCoverage
from gridsvc.maps import render
from gridsvc.maps.basemap import RenderOptions, to_html
from gridsvc.maps.service import CITY_TITLE, facilities_frame, grids_frame
from gridsvc.ogc.tiles import data_version


def has_stored_coverage(session: Session, circle: str | None, mode: str) -> bool:
    """Whether the circle's coverage in ``mode`` is stored: the tiles draw only that."""
    if circle is None:
        circle = coverage_service.list_circles()[0]["code"]
    stored = exists().where(GridCoverage.circle == circle, GridCoverage.mode == mode)
    return bool(session.scalar(select(stored)))


# Tiled pages by (data version, circle, mode, options): the page changes only with the data.
TILED_PAGES: OrderedDict[tuple, str] = OrderedDict()
TILED_PAGES_KEPT = 16
#: What a tiled coverage page is drawn from (its tiles carry their own ETag).
TILED_TABLES = ("grids", "communities", "facilities", "facility_types", "grid_coverage")


def tiled_coverage_html(
    session: Session, options: RenderOptions, circle: str | None, mode: str
) -> str:
    """Return the whole city's coverage map over the /ogc tiles of the stored coverage.

    Kept per data version: drawing it reads every grid (seconds), the data seldom change.
    """
    if circle is None:
        circle = coverage_service.list_circles()[0]["code"]
    chosen = coverage_service.resolve_circle(session, circle)
    coverage_service.check_choice("mode", mode, analysis.MODES)
    key = (
        data_version(session, TILED_TABLES),
        chosen.code,
        mode,
        options.static_url,
        options.ogc_url,
        options.tiles,
    )
    page = TILED_PAGES.get(key)
    if page is None:
        page = draw_tiled_coverage(session, options, chosen, mode)
        TILED_PAGES[key] = page
        while len(TILED_PAGES) > TILED_PAGES_KEPT:
            TILED_PAGES.popitem(last=False)
    TILED_PAGES.move_to_end(key)
    return page


def draw_tiled_coverage(session: Session, options: RenderOptions, chosen: Circle, mode: str) -> str:
    """Draw the whole city's tiled coverage page (see :func:`tiled_coverage_html`)."""
    grids = grids_frame(session, None)
    facilities = facilities_frame(session, None)
    facilities = facilities[facilities["type_code"].isin(chosen.facility_types)]
    suffix = f"{chosen.code}-{mode}"
    collections = (f"coverage-{suffix}", f"gaps-{suffix}", f"service_areas-{suffix}")
    title = f"{CITY_TITLE} · {chosen.name} {chosen.name_en} · {mode}"
    fmap = render.tiled_coverage_map(grids, facilities, collections, title, options, chosen.code)
    return to_html(fmap, options)
