"""The collections the OGC service offers: a fixed list, each a query over public columns.

Nothing else is discoverable: a table that is not listed here cannot be reached through
``/ogc``, whatever a client asks. Every source yields ``fid`` (the feature id), the listed
properties and ``geom`` (EPSG:4326); boundaries are of the current generation only.
Published issues come coarse (rounded to 0.001°, as
:mod:`gridsvc.issues.reporters.publication` does) with no reporter, text of their own, or
exact position.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from gridsvc.coverage.circles import load_circles
from gridsvc.issues.reporters.publication import PUBLIC_DECIMALS

#: JSON Schema types of the properties.
STRING, INTEGER, NUMBER, BOOLEAN, DATETIME = "string", "integer", "number", "boolean", "date-time"
MODES = ("network", "euclidean")


@dataclass(frozen=True)
class Collection:
    """One collection: its SQL source, properties (name -> type) and how it tiles."""

    id: str
    title: str
    description: str
    source: str
    properties: dict[str, str]
    geometry_type: str
    #: Tables whose rows make the collection: a change to one changes its tiles.
    tables: tuple[str, ...]
    #: Smallest zoom at which its vector tiles carry features (fewer pixels than shapes below).
    min_zoom: int = 0
    parameters: dict[str, Any] = field(default_factory=dict)
    id_type: str = STRING
    #: The column a box is tested against (indexed); labels test their outline.
    box_column: str = "geom"

    @property
    def queryables(self) -> dict[str, str]:
        """Properties a filter may name: every property."""
        return self.properties


_CURRENT = "valid_to IS NULL"
_HIERARCHY = (
    " JOIN communities c ON c.id = g.community_id JOIN streets s ON s.id = c.street_id"
    " JOIN districts d ON d.id = s.district_id"
)

BOUNDARIES = [
    Collection(
        "districts",
        "Districts and banners (旗区)",
        "The city's 9 districts and banners, current generation.",
        f"SELECT code AS fid, code, name, geom FROM districts WHERE {_CURRENT}",
        {"code": STRING, "name": STRING},
        "MultiPolygon",
        ("districts",),
    ),
    Collection(
        "streets",
        "Streets and townships (苏木乡镇/街道)",
        "Townships and sub-districts with their district.",
        "SELECT s.code AS fid, s.code, s.name, d.code AS district_code, s.geom"
        f" FROM streets s JOIN districts d ON d.id = s.district_id WHERE s.{_CURRENT}",
        {"code": STRING, "name": STRING, "district_code": STRING},
        "MultiPolygon",
        ("streets", "districts"),
        min_zoom=8,
    ),
    Collection(
        "communities",
        "Communities and villages (嘎查村/社区)",
        "Urban communities and villages with their street and district.",
        "SELECT c.code AS fid, c.code, c.name, c.kind, s.code AS street_code,"
        " d.code AS district_code, c.geom FROM communities c"
        " JOIN streets s ON s.id = c.street_id JOIN districts d ON d.id = s.district_id"
        f" WHERE c.{_CURRENT}",
        {
            "code": STRING,
            "name": STRING,
            "kind": STRING,
            "street_code": STRING,
            "district_code": STRING,
        },
        "MultiPolygon",
        ("communities", "streets", "districts"),
        min_zoom=10,
    ),
    Collection(
        "grids",
        "Management grids (网格)",
        "Grids with their residents, households and grid workers.",
        "SELECT g.code AS fid, g.code, g.name, g.population, g.households, g.grid_workers,"
        " c.code AS community_code, c.name AS community_name, s.code AS street_code,"
        " d.code AS district_code, g.geom FROM grids g" + _HIERARCHY + f" WHERE g.{_CURRENT}",
        {
            "code": STRING,
            "name": STRING,
            "population": INTEGER,
            "households": INTEGER,
            "grid_workers": INTEGER,
            "community_code": STRING,
            "community_name": STRING,
            "street_code": STRING,
            "district_code": STRING,
        },
        "MultiPolygon",
        ("grids", "communities", "streets", "districts"),
        min_zoom=7,
    ),
    Collection(
        "facilities",
        "Facilities",
        "Facilities by type (practice stations, parks, shops...); filter on type_code.",
        "SELECT f.id AS fid, f.type_code, t.name AS type_name, f.name, f.capacity, f.source,"
        " f.geom FROM facilities f JOIN facility_types t ON t.code = f.type_code",
        {
            "type_code": STRING,
            "type_name": STRING,
            "name": STRING,
            "capacity": INTEGER,
            "source": STRING,
        },
        "Point",
        ("facilities", "facility_types"),
        min_zoom=10,
        id_type=INTEGER,
    ),
    Collection(
        "issues",
        "Published issues",
        "Reports that staff published: category, status, dates, published text; the "
        "position rounded to about 100 m. Nothing of the reporter.",
        "SELECT i.public_id AS fid, i.public_id, i.category_code, i.status,"
        " i.published_text AS text, i.grid_code, i.district_code, i.created_at,"
        " i.closed_at, ST_SetSRID(ST_MakePoint(round(ST_X(i.geom)::numeric, "
        f"{PUBLIC_DECIMALS})::float8, round(ST_Y(i.geom)::numeric, {PUBLIC_DECIMALS})::float8),"
        " 4326) AS geom FROM issues i WHERE i.published_at IS NOT NULL",
        {
            "public_id": STRING,
            "category_code": STRING,
            "status": STRING,
            "text": STRING,
            "grid_code": STRING,
            "district_code": STRING,
            "created_at": DATETIME,
            "closed_at": DATETIME,
        },
        "Point",
        ("issues",),
        min_zoom=10,
    ),
]

#: Reference layers of the maps only (tiles, no items): streets to walk and label points.
NETWORK = Collection(
    "network",
    "Walking network",
    "The walkable streets and paths coverage is computed on.",
    "SELECT e.id AS fid, e.length_m, e.geom FROM network_edges e",
    {"length_m": NUMBER},
    "LineString",
    ("network_edges",),
    min_zoom=13,
    id_type=INTEGER,
)
LABELS = Collection(
    "labels",
    "Place-name labels",
    "District, street and community names at a point inside each (ST_PointOnSurface); "
    "level says which; districts from zoom 6, streets from 10, communities from 12.",
    "SELECT fid, level, code, name, min_zoom, ST_PointOnSurface(outline) AS geom, outline"
    " FROM (SELECT 'district:' || code AS fid, 'district' AS level, code, name,"
    f" 6 AS min_zoom, geom AS outline FROM districts WHERE {_CURRENT}"
    " UNION ALL SELECT 'street:' || code, 'street', code, name, 10, geom FROM streets"
    f" WHERE {_CURRENT}"
    " UNION ALL SELECT 'community:' || code, 'community', code, name, 12, geom"
    f" FROM communities WHERE {_CURRENT}) AS places",
    {"level": STRING, "code": STRING, "name": STRING, "min_zoom": INTEGER},
    "Point",
    ("districts", "streets", "communities"),
    min_zoom=6,
    box_column="outline",
)


#: The properties both per-grid coverage collections share.
GRID_COVERAGE_PROPERTIES = {
    "code": STRING,
    "name": STRING,
    "district_code": STRING,
    "street_code": STRING,
    "community_code": STRING,
    "residents": INTEGER,
    "covered_residents": INTEGER,
    "uncovered_residents": INTEGER,
}
GRID_COVERAGE_COLUMNS = (
    "gc.grid_code AS fid, gc.grid_code AS code, g.name, gc.district_code,"
    " gc.street_code, gc.community_code, gc.residents, gc.covered_residents,"
    " gc.residents - gc.covered_residents AS uncovered_residents"
)
#: Residents' share covered, or the area's where none live.
COVERAGE_SHARE = (
    "CASE WHEN gc.residents > 0 THEN gc.covered_residents::float8 / gc.residents"
    " WHEN gc.area_m2 > 0 THEN least(gc.covered_area_m2 / gc.area_m2, 1) ELSE 0 END"
)
GRID_COVERAGE_FROM = (
    f"FROM grid_coverage gc JOIN grids g ON g.code = gc.grid_code AND g.{_CURRENT}"
    " WHERE gc.circle = :c_circle AND gc.mode = :c_mode"
)


def coverage_collections(circle: str, name: str, threshold: float, types: tuple[str, ...]):
    """Yield the coverage, gaps and service-area collections of one circle, for both modes."""
    for mode in MODES:
        yield grid_coverage_collection(circle, name, mode)
        yield gaps_collection(circle, name, mode)
        yield service_areas_collection(circle, name, mode, threshold, types)


def grid_coverage_collection(circle: str, name: str, mode: str) -> Collection:
    """Return the per-grid coverage of one circle and mode, with the grids' outlines."""
    return Collection(
        f"coverage-{circle}-{mode}",
        f"Coverage: {name} ({mode})",
        f"Per grid: the share of residents (of area where none live) within the {name}"
        f" by {mode} distance, with the grid's outline.",
        f"SELECT {GRID_COVERAGE_COLUMNS}, {COVERAGE_SHARE} AS coverage, gc.area_m2,"
        f" gc.covered_area_m2, g.geom {GRID_COVERAGE_FROM}",
        {
            **GRID_COVERAGE_PROPERTIES,
            "coverage": NUMBER,
            "area_m2": NUMBER,
            "covered_area_m2": NUMBER,
        },
        "MultiPolygon",
        ("grid_coverage", "grids"),
        min_zoom=7,
        parameters={"c_circle": circle, "c_mode": mode},
    )


def gaps_collection(circle: str, name: str, mode: str) -> Collection:
    """Return the gaps of one circle and mode: the part of each grid no service area reaches."""
    return Collection(
        f"gaps-{circle}-{mode}",
        f"Gaps: {name} ({mode})",
        f"Per grid: the part no service area of the {name} reaches ({mode}).",
        f"SELECT {GRID_COVERAGE_COLUMNS}, gc.area_m2 - gc.covered_area_m2 AS gap_area_m2,"
        f" gc.geom {GRID_COVERAGE_FROM} AND gc.geom IS NOT NULL",
        {**GRID_COVERAGE_PROPERTIES, "gap_area_m2": NUMBER},
        "MultiPolygon",
        ("grid_coverage", "grids"),
        min_zoom=7,
        parameters={"c_circle": circle, "c_mode": mode},
    )


def service_areas_collection(
    circle: str, name: str, mode: str, threshold: float, types: tuple[str, ...]
) -> Collection:
    """Return each facility's service area of one circle's types, threshold and mode."""
    return Collection(
        f"service_areas-{circle}-{mode}",
        f"Service areas: {name} ({mode})",
        f"Each facility's area within {threshold:g} m by {mode} distance.",
        "SELECT sa.id AS fid, sa.facility_id, sa.type_code, sa.threshold_m, sa.geom"
        " FROM service_areas sa WHERE sa.mode = :c_mode AND sa.threshold_m = :c_threshold"
        " AND sa.type_code = ANY(:c_types)",
        {"facility_id": INTEGER, "type_code": STRING, "threshold_m": NUMBER},
        "MultiPolygon",
        ("service_areas",),
        min_zoom=10,
        parameters={"c_mode": mode, "c_threshold": threshold, "c_types": list(types)},
        id_type=INTEGER,
    )


@lru_cache
def _registry(circles_key: str) -> dict[str, Collection]:
    found = {collection.id: collection for collection in BOUNDARIES}
    for circle in load_circles().values():
        for collection in coverage_collections(
            circle.code, circle.name_en, circle.threshold_m, circle.facility_types
        ):
            found[collection.id] = collection
    return found


def feature_collections() -> dict[str, Collection]:
    """Every collection with items, by id (boundaries, facilities, issues, circles')."""
    circles = ";".join(f"{c.code}={c.key}" for c in load_circles().values())
    return _registry(circles)


def tile_collections() -> dict[str, Collection]:
    """Every collection with vector tiles: the feature collections and the map layers."""
    return {**feature_collections(), NETWORK.id: NETWORK, LABELS.id: LABELS}
