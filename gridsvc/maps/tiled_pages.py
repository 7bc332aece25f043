"""Coverage and scenario pages over the /ogc vector tiles, kept per data version.

A page of ~165 kB gzipped (the whole city) or a few kB (a district) instead of 1.4 MB:
the grids, gaps and service areas come as tiles (:mod:`gridsvc.maps.tiled`) whose URLs
carry their data version, so a browser keeps them. Drawing the page still reads the grids
(extent, opacity scale and search index), so it is kept until the data it is drawn from
change; its ETag lets a reload get a 304.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

from cachetools import LRUCache
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from gridsvc.coverage import analysis
from gridsvc.coverage import service as coverage_service
from gridsvc.coverage.circles import Circle
from gridsvc.coverage.models import GridCoverage
from gridsvc.facilities import service as facilities_service
from gridsvc.grids import service as grids_service
from gridsvc.maps import layers, render
from gridsvc.maps.basemap import RenderOptions, to_html
from gridsvc.maps.scenario import Scenario
from gridsvc.maps.service import CITY_TITLE, coverage_fmap, facilities_frame, grids_frame
from gridsvc.maps.versions import versioned


def has_stored_coverage(
    session: Session, circle: str | None, mode: str, district: str | None = None
) -> bool:
    """Whether the circle's coverage in ``mode`` (of ``district``) is stored: tiles draw it."""
    if circle is None:
        circle = coverage_service.list_circles()[0]["code"]
    stored = exists().where(GridCoverage.circle == circle, GridCoverage.mode == mode)
    if district is not None:
        stored = stored.where(GridCoverage.district_code == district)
    return bool(session.scalar(select(stored)))


@dataclass(frozen=True)
class TiledPage:
    """A drawn page and its ETag (a digest of the page)."""

    html: str
    etag: str


# Tiled pages by (data versions, circle, mode, district, scenario, options).
TILED_PAGES_KEPT = 32
TILED_PAGES: LRUCache[tuple, TiledPage] = LRUCache(maxsize=TILED_PAGES_KEPT)
TILED_PAGES_LOCK = threading.Lock()
#: What a tiled page is drawn from besides its tiles (names, facilities, the index).
TILED_TABLES = (
    "grids",
    "communities",
    "streets",
    "districts",
    "facilities",
    "facility_types",
    "grid_coverage",
)


def tile_layers(circle: str, mode: str) -> dict[str, tuple[str, ...]]:
    """Return the collection of each tile layer of a coverage page, by layer name."""
    suffix = f"{circle}-{mode}"
    return {
        "coverage": (f"coverage-{suffix}",),
        "gaps": (f"gaps-{suffix}",),
        "areas": (f"service_areas-{suffix}",),
    }


def tiled_coverage_page(
    session: Session,
    options: RenderOptions,
    circle: str | None,
    mode: str,
    district: str | None = None,
    scenario: bool = False,
) -> TiledPage:
    """Return the coverage map (of a district) over the /ogc tiles of the stored coverage.

    ``scenario`` adds the what-if panel. Kept per data version: drawing it reads the grids
    (seconds for the city), the data seldom change.
    """
    if circle is None:
        circle = coverage_service.list_circles()[0]["code"]
    chosen = coverage_service.resolve_circle(session, circle)
    coverage_service.check_choice("mode", mode, analysis.MODES)
    options = versioned(session, options, tile_layers(chosen.code, mode), TILED_TABLES)
    key = (
        options.tile_versions,
        chosen.code,
        mode,
        district,
        scenario,
        options.static_url,
        options.ogc_url,
        options.tiles,
    )
    with TILED_PAGES_LOCK:
        page = TILED_PAGES.get(key)
    if page is None:
        html = draw_tiled_coverage(session, options, chosen, mode, district, scenario)
        page = TiledPage(html, hashlib.blake2b(html.encode(), digest_size=12).hexdigest())
        with TILED_PAGES_LOCK:
            TILED_PAGES[key] = page
    return page


def draw_tiled_coverage(
    session: Session,
    options: RenderOptions,
    chosen: Circle,
    mode: str,
    district: str | None,
    scenario: bool,
) -> str:
    """Draw a tiled coverage page (see :func:`tiled_coverage_page`)."""
    place = CITY_TITLE
    if district is not None:
        place = f"{grids_service.get_district_name(session, district)} {district}"
    # Tolerance 0: the page needs the grids' points and extent, not their outlines.
    grids = grids_frame(session, district, tolerance=0)
    facilities = facilities_frame(session, district)
    facilities = facilities[facilities["type_code"].isin(chosen.facility_types)]
    layers = tile_layers(chosen.code, mode)
    collections = (layers["coverage"][0], layers["gaps"][0], layers["areas"][0])
    subject = "方案 scenario · " if scenario else ""
    title = f"{place} · {subject}{chosen.name} {chosen.name_en} · {mode}"
    fmap = render.tiled_coverage_map(
        grids, facilities, collections, title, options, chosen.code, district
    )
    if scenario:
        drawn = render.facility_names(facilities)
        fmap.add_child(scenario_control(session, options, chosen, mode, district, drawn))
    return to_html(fmap, options)


def scenario_map_html(
    session: Session,
    options: RenderOptions,
    circle: str | None = None,
    mode: str = "network",
    district: str | None = None,
) -> str:
    """Return the coverage map with the scenario panel (what-if and siting on the map)."""
    fmap, chosen, drawn = coverage_fmap(
        session, options, circle, mode, district, "方案 scenario · "
    )
    fmap.add_child(scenario_control(session, options, chosen, mode, district, drawn))
    return to_html(fmap, options)


def scenario_control(
    session: Session,
    options: RenderOptions,
    chosen: Circle,
    mode: str,
    district: str | None,
    drawn: dict[str, str],
) -> Scenario:
    """Return the scenario panel of a coverage map; ``drawn``: the facility types on it."""
    names = {kind.code: kind.name for kind in facilities_service.list_facility_types(session)}
    types = {code: names.get(code, drawn.get(code, code)) for code in chosen.facility_types}
    return Scenario(
        chosen.code,
        mode,
        district,
        types=types,
        breaks=render.COVERAGE_BREAKS,
        colors=layers.COVERAGE_COLORS,
        missing=layers.MISSING_COLOR,
        crs=options.tiles.crs,
    )
