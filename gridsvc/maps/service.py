"""Maps from the database: gather each map's data through the domains' services, render it.

The geometry a map carries is simplified for the extent it shows (see
:func:`tolerance_for`) over the whole coverage at once, so neighbours keep their shared
edges and the whole city's 6,702 grids fit in a page of a few MB.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import astuple
from datetime import datetime
from zoneinfo import ZoneInfo

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from cachetools import LRUCache, cached
from sqlalchemy.orm import Session

from gridsvc.auth.roles import Role
from gridsvc.auth.tokens import Principal
from gridsvc.common.errors import InvalidParameterError, NotFoundError
from gridsvc.common.geojson import BBox
from gridsvc.config import Settings
from gridsvc.coverage import service as coverage_service
from gridsvc.coverage.circles import Circle
from gridsvc.facilities import service as facilities_service
from gridsvc.grids import service as grids_service
from gridsvc.issues import service as issues_service
from gridsvc.maps import render, topology
from gridsvc.maps.basemap import RenderOptions, base_tiles, to_html
from gridsvc.maps.index import MapLink

#: The geometry is simplified to 1/DETAIL_PIXELS of the map's extent: a quarter of a
#: pixel on a 2,048-px screen showing the whole extent, sharp until about 2 zooms in.
DETAIL_PIXELS = 8192
CITY_TITLE = "全市 whole city"
#: More service areas than any city has for one circle and mode (one per facility).
SERVICE_AREAS_LIMIT = 1_000_000


def render_options(
    settings: Settings, static_url: str = "/static", ogc_url: str | None = "/ogc"
) -> RenderOptions:
    """Return base map and precision from the settings; assets under ``static_url``.

    ``ogc_url``: the service's OGC API, whose tiles draw the reference layers (None for a
    written file).
    """
    tiles = base_tiles(settings.map_tiles, settings.map_tiles_crs, settings.map_tiles_attribution)
    drawn = datetime.now(CITY_ZONE).strftime("%Y-%m-%d %H:%M")
    note = f"数据 data as of {drawn} (城市时间 city time) · gridsvc"
    return RenderOptions(static_url=static_url, tiles=tiles, note=note, ogc_url=ogc_url)


def tolerance_for(extent: BBox) -> float:
    """Simplification tolerance (degrees) for a map showing ``extent``."""
    span = max(extent.max_lon - extent.min_lon, extent.max_lat - extent.min_lat)
    return span / DETAIL_PIXELS


def grids_frame(
    session: Session, district: str | None = None, tolerance: float | None = None
) -> gpd.GeoDataFrame:
    """Return current grids (of a district), simplified for the map's extent, in WGS-84.

    ``tolerance`` (degrees) overrides :func:`tolerance_for`; 0 keeps the full geometry.
    """
    extent = grids_service.grids_extent(session, district)
    if extent is None:
        raise NotFoundError("no current grids to draw" + (f" in {district}" if district else ""))
    if tolerance is None:
        tolerance = tolerance_for(extent)
    rows = grids_service.simplified_grids(session, district=district, tolerance=0)
    columns = ["code", "name", "community_name", "population", "households", "grid_workers"]
    data = {column: [getattr(row, column) for row in rows] for column in columns}
    data["area_km2"] = [float(row.area_km2) for row in rows]
    geometry = simplified_coverage([bytes(row.wkb) for row in rows], tolerance)
    return gpd.GeoDataFrame(data, geometry=geometry, crs=4326)


# Simplified grids by digest of the stored geometry and tolerance: simplifying the whole
# city's coverage takes seconds, and the grids change far less often than maps are asked.
SIMPLIFIED_KEPT = 24
SIMPLIFIED: LRUCache[tuple[str, float], object] = LRUCache(maxsize=SIMPLIFIED_KEPT)
#: The precision grid the maps' coordinates end on (5 decimals, see RenderOptions.digits).
GRID_SIZE = 1e-5


def simplified_key(wkbs: list[bytes], tolerance: float) -> tuple[str, float]:
    """Return the key of a simplification: a digest of the stored geometries, the tolerance."""
    digest = hashlib.blake2b(b"".join(wkbs), digest_size=16).hexdigest()
    return digest, round(tolerance, 12)


# The lock guards the cache only: two threads may simplify the same grids at once.
@cached(SIMPLIFIED, key=simplified_key, lock=threading.Lock())
def simplified_coverage(wkbs: list[bytes], tolerance: float) -> object:
    """Return the grids simplified together, so neighbours keep their shared edges (no slivers).

    See :mod:`gridsvc.maps.topology`: simplifying grid by grid opened gaps of square
    kilometres between neighbours. 0 keeps the stored geometry.
    """
    geometry = shapely.from_wkb(wkbs)
    if tolerance > 0:
        geometry = topology.simplify_coverage(geometry, tolerance, GRID_SIZE)
    return geometry


def facilities_frame(session: Session, district: str | None = None) -> gpd.GeoDataFrame:
    """Every facility (of a district) as points in WGS-84."""
    rows = facilities_service.facility_points(session, district=district)
    data = {
        "id": [row.id for row in rows],
        "type_code": [row.type_code for row in rows],
        "type_name": [row.type_name for row in rows],
        "name": [row.name for row in rows],
    }
    geometry = shapely.points([row.lon for row in rows], [row.lat for row in rows])
    return gpd.GeoDataFrame(data, geometry=geometry, crs=4326)


def check_measure(measure: str) -> str:
    """Return ``measure`` if grids maps know it, else raise InvalidParameterError."""
    if measure not in render.GRID_MEASURES:
        known = ", ".join(render.GRID_MEASURES)
        raise InvalidParameterError("measure", f"unknown measure '{measure}'; known: {known}")
    return measure


def grids_map_html(
    session: Session, options: RenderOptions, district: str | None = None, measure: str = "density"
) -> str:
    """Return the grids map of a district or the whole city as an offline HTML page."""
    check_measure(measure)
    place = CITY_TITLE
    if district is not None:
        place = f"{grids_service.get_district_name(session, district)} {district}"
    grids = grids_frame(session, district)
    facilities = facilities_frame(session, district)
    fmap = render.grids_map(grids, facilities, f"{place} · 网格 grids", options, measure)
    return to_html(fmap, options)


def coverage_frames(
    session: Session, circle: str | None, mode: str, district: str | None
) -> tuple[Circle, gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Return the circle, the grids with their coverage, the gaps, the facilities.

    With no ``circle`` the first living circle is drawn. Gaps are simplified with the
    grids' tolerance; facilities are those of the circle's types.
    """
    if circle is None:
        circle = coverage_service.list_circles()[0]["code"]
    chosen = coverage_service.resolve_circle(session, circle)
    result = coverage_service.grid_coverage(session, chosen, mode, district)
    rows = coverage_service.summary_rows(result.table, "grid", "population")
    coverage = pd.DataFrame(rows, columns=["code", "coverage", "uncovered_residents"])
    grids = grids_frame(session, district).merge(coverage, on="code", how="left")
    codes, uncovered, shapes = coverage_service.gap_shapes(session, result, limit=len(rows) or 1)
    if shapes:
        tolerance = tolerance_for(BBox(*grids.total_bounds))
        shapes = shapely.simplify(shapes, tolerance, preserve_topology=True)
    gaps = gpd.GeoDataFrame(
        {"code": codes, "uncovered_residents": uncovered}, geometry=shapes, crs=4326
    )
    facilities = facilities_frame(session, district)
    facilities = facilities[facilities["type_code"].isin(chosen.facility_types)]
    return chosen, grids, gaps, facilities


# Merged service areas by (stored areas' version, circle, mode, district, tolerance): the
# merge costs seconds on the full city, and stored areas change only when refreshed.
MERGED_AREAS_KEPT = 32
MERGED_AREAS: LRUCache[tuple, gpd.GeoDataFrame] = LRUCache(maxsize=MERGED_AREAS_KEPT)
MERGED_AREAS_LOCK = threading.Lock()


def service_areas_frame(
    session: Session, circle: Circle, mode: str, district: str | None, tolerance: float
) -> gpd.GeoDataFrame:
    """Return the circle's stored service areas merged per type, reusing the last merge."""
    version = coverage_service.service_areas_version(session)
    key = (version, repr(circle), mode, district, round(tolerance, 9))
    with MERGED_AREAS_LOCK:
        frame = MERGED_AREAS.get(key)
    if frame is None:
        frame = merged_service_areas(session, circle, mode, district, tolerance)
        with MERGED_AREAS_LOCK:
            MERGED_AREAS[key] = frame
    return frame


def merged_service_areas(
    session: Session, circle: Circle, mode: str, district: str | None, tolerance: float
) -> gpd.GeoDataFrame:
    """Return the circle's stored service areas, merged into one shape per type, simplified.

    One merged shape per type instead of one per facility keeps the full city's page light
    (thousands of overlapping areas become a handful); empty before ``coverage refresh``.
    The union runs in Python on what the coverage service lists: its rows are per facility.
    """
    codes, shapes = coverage_service.service_area_shapes(
        session, circle, mode, district, limit=SERVICE_AREAS_LIMIT
    )
    if not codes:
        return gpd.GeoDataFrame({"type_name": []}, geometry=[], crs=4326)
    types = np.array(codes, dtype=object)
    names = {kind.code: kind.name for kind in facilities_service.list_facility_types(session)}
    merged = []
    for type_code in sorted(set(codes)):
        group = shapes[types == type_code]
        # Simplified before the union: the city's areas merge in about 2 s, not 17 s or more.
        shape = shapely.union_all(topology.simplify_areas(group, tolerance))
        merged.append((names.get(type_code, type_code), len(group), shape))
    return gpd.GeoDataFrame(
        {
            "type_name": [name for name, _, _ in merged],
            "facilities": [count for _, count, _ in merged],
        },
        geometry=[shape for _, _, shape in merged],
        crs=4326,
    )


def coverage_fmap(
    session: Session,
    options: RenderOptions,
    circle: str | None,
    mode: str,
    district: str | None,
    subject: str = "",
) -> tuple[folium.Map, Circle, dict[str, str]]:
    """Return the coverage map of a circle, the circle, and the facility types drawn."""
    place = CITY_TITLE
    if district is not None:
        place = f"{grids_service.get_district_name(session, district)} {district}"
    chosen, grids, gaps, facilities = coverage_frames(session, circle, mode, district)
    tolerance = tolerance_for(BBox(*grids.total_bounds))
    service_areas = service_areas_frame(session, chosen, mode, district, tolerance)
    title = f"{place} · {subject}{chosen.name} {chosen.name_en} · {mode}"
    fmap = render.coverage_map(grids, gaps, facilities, service_areas, title, options, chosen.code)
    return fmap, chosen, render.facility_names(facilities)


def coverage_map_html(
    session: Session,
    options: RenderOptions,
    circle: str | None = None,
    mode: str = "network",
    district: str | None = None,
) -> str:
    """Return the coverage map of a circle, in a district or the whole city, as a page.

    GeoJSON in the page; the served whole-city map draws from tiles (:mod:`tiled_pages`).
    """
    fmap, _, _ = coverage_fmap(session, options, circle, mode, district)
    return to_html(fmap, options)


#: Each status as the issues map's legend names it, in the order of the workflow.
ISSUE_STATUSES = {
    "unrouted": "待分拨 unrouted",
    "reported": "已上报 reported",
    "registered": "已立案 registered",
    "dispatched": "已派遣 dispatched",
    "in_progress": "处置中 in progress",
    "resolved": "已处置 resolved",
    "verified": "已核查 verified",
    "suspended": "已挂起 suspended",
    "closed": "已结案 closed",
    "rejected": "不予立案 rejected",
    "duplicate": "已合并 duplicate",
}
CITY_ZONE = ZoneInfo("Asia/Shanghai")
#: ``gridsvc maps render`` draws issues as a supervisor of the whole city would see them.
CITY_SUPERVISOR = Principal(role=Role.SUPERVISOR, subject="gridsvc maps render")


def issues_frame(
    session: Session,
    principal: Principal,
    status: str | None = None,
    district: str | None = None,
    since: datetime | None = None,
) -> gpd.GeoDataFrame:
    """Issues within the principal's scope (and the filters) as points in WGS-84.

    A ``since`` without a time zone is in the city's (Asia/Shanghai), as answers give times.
    """
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=CITY_ZONE)
    rows = issues_service.issue_points(
        session, principal, status=status, district=district, since=since
    )
    data = {
        "code": [row.public_id for row in rows],
        "category": [row.category for row in rows],
        "status": [row.status for row in rows],
        "overdue": [bool(row.overdue) for row in rows],
    }
    geometry = shapely.points([row.lon for row in rows], [row.lat for row in rows])
    return gpd.GeoDataFrame(data, geometry=geometry, crs=4326)


def issues_map_html(
    session: Session,
    options: RenderOptions,
    principal: Principal,
    status: str | None = None,
    district: str | None = None,
    since: datetime | None = None,
) -> str:
    """Return the map of the issues the principal may see, as an offline HTML page."""
    place = CITY_TITLE
    if district is not None:
        place = f"{grids_service.get_district_name(session, district)} {district}"
    issues = issues_frame(session, principal, status, district, since)
    extent = grids_service.grids_extent(session, district)
    title = f"{place} · 事件 issues ({len(issues):,})"
    if status is not None:
        title += f" · {ISSUE_STATUSES.get(status, status)}"
    outlines = [
        item
        for item in grids_service.list_districts(session)
        if district is None or item["properties"]["code"] == district
    ]
    boundaries = gpd.GeoDataFrame.from_features(outlines, crs=4326) if outlines else None
    fmap = render.issues_map(
        issues, ISSUE_STATUSES, title, options, astuple(extent) if extent else None, boundaries
    )
    return to_html(fmap, options)


def district_codes(session: Session) -> list[str]:
    """Return the codes of the current districts, in order."""
    return [item["properties"]["code"] for item in grids_service.list_districts(session)]


def circle_codes() -> list[str]:
    """Return the codes of the living circles coverage maps can show."""
    return [item["code"] for item in coverage_service.list_circles()]


def map_links(session: Session) -> list[MapLink]:
    """Return the served maps: the city's and each district's grids, each circle's coverage."""
    links = [MapLink(f"{CITY_TITLE} · 网格 grids", "/maps/grids")]
    for district in grids_service.list_districts(session):
        code, name = district["properties"]["code"], district["properties"]["name"]
        links.append(MapLink(f"{name} {code} · 网格 grids", f"/maps/grids?district={code}"))
    for circle in coverage_service.list_circles():
        title = f"{CITY_TITLE} · 覆盖率 coverage · {circle['name']} {circle['name_en']}"
        links.append(MapLink(title, f"/maps/coverage?circle={circle['code']}"))
    first = district_codes(session)[:1]
    for circle in coverage_service.list_circles() if first else []:
        title = f"{first[0]} · 方案 scenario (what-if) · {circle['name']} {circle['name_en']}"
        href = f"/maps/scenario?circle={circle['code']}&district={first[0]}"
        links.append(MapLink(title, href))
    links.append(MapLink(f"{CITY_TITLE} · 事件 issues (staff token needed)", "/maps/issues"))
    return links
