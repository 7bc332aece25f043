"""Queries on the current generation of districts and grids, answered as GeoJSON features."""

from __future__ import annotations

import math
from typing import Any

from geoalchemy2 import Geography
from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    cast,
    exists,
    func,
    select,
)
from sqlalchemy.orm import Session, aliased

from gridsvc.common.errors import InvalidParameterError, NotFoundError
from gridsvc.common.geojson import BBox, FeaturePage, feature
from gridsvc.common.geometry import WGS84

# The domain's API for other domains, kept in modules of their own.
from gridsvc.grids.crs import (  # noqa: F401
    metric_crs,
    metric_crs_warning,
    metric_srid,
    remember_metric_crs,
    stored_metric_crs,
)
from gridsvc.grids.lookups import grid_shapes, names_of, with_parents  # noqa: F401
from gridsvc.grids.metric import (  # noqa: F401
    grids_digest,
    grids_near,
    metric_grids,
    metric_residents,
    reach_box,
    residents_digest,
)
from gridsvc.grids.models import Community, District, Grid, Street

# Digits of the division codes at each level of the hierarchy.
CODE_DIGITS = {"district": 6, "street": 9, "community": 12, "grid": 15}


def check_code(level: str, code: str, parameter: str | None = None, location: str = "query") -> str:
    """Return ``code`` if it has the digits of ``level``, else raise InvalidParameterError."""
    digits = CODE_DIGITS[level]
    if len(code) != digits or not code.isascii() or not code.isdigit():
        raise InvalidParameterError(
            parameter or level,
            f"a {level} code is exactly {digits} digits, got '{code}'",
            location,
        )
    return code


def check_position(lon: float, lat: float) -> None:
    """Raise InvalidParameterError unless lon/lat is a position in EPSG:4326 degrees."""
    for name, value, limit in (("lon", lon, 180), ("lat", lat, 90)):
        if not math.isfinite(value) or abs(value) > limit:
            raise InvalidParameterError(name, f"must lie in [-{limit}, {limit}], got {value}")


def area_km2(geom: Any) -> ColumnElement[float]:
    """Area on the ground in km², measured on the geography, not in degrees."""
    return func.ST_Area(cast(geom, Geography)) / 1e6


def as_geojson(geom: Any) -> ColumnElement[str]:
    """RFC 7946 geometry text: exterior rings counter-clockwise, as the right-hand rule asks."""
    return func.ST_AsGeoJSON(func.ST_ForcePolygonCCW(geom))


def envelope(bbox: BBox) -> ColumnElement[Any]:
    """Return the bbox as a polygon in EPSG:4326."""
    return func.ST_MakeEnvelope(bbox.min_lon, bbox.min_lat, bbox.max_lon, bbox.max_lat, WGS84)


def intersects_bbox(geom: Any, bbox: BBox) -> ColumnElement[bool]:
    """Index-assisted bbox test (``&&``) refined by an exact ST_Intersects."""
    box = envelope(bbox)
    return geom.op("&&")(box) & func.ST_Intersects(geom, box)


def in_current_district(geom: Any, code: str) -> ColumnElement[bool]:
    """Geometries intersecting the current district with ``code`` (its boundary included)."""
    check_code("district", code)
    return exists().where(
        District.code == code,
        District.valid_to.is_(None),
        func.ST_Intersects(District.geom, geom),
    )


def grid_columns() -> Select:
    """Every property of a current grid and its GeoJSON geometry."""
    statement = select(
        Grid.code,
        Grid.name,
        District.code.label("district_code"),
        Street.code.label("street_code"),
        Community.code.label("community_code"),
        Community.name.label("community_name"),
        Grid.population,
        Grid.households,
        Grid.grid_workers,
        Grid.generation,
        Grid.valid_from,
        area_km2(Grid.geom).label("area_km2"),
        as_geojson(Grid.geom).label("geometry"),
    ).select_from(Grid)
    return with_parents(statement).where(Grid.valid_to.is_(None))


def grid_outlines(session: Session, codes: list[str]) -> dict[str, str]:
    """GeoJSON geometry text of the current grids with ``codes``, by code."""
    rows = session.execute(
        select(Grid.code, as_geojson(Grid.geom)).where(
            Grid.valid_to.is_(None), Grid.code.in_(codes)
        )
    )
    return dict(rows.all())


def grid_feature(row: Row) -> dict[str, Any]:
    """Turn a grid row into a GeoJSON Feature whose ``id`` is the grid code."""
    properties = {
        "code": row.code,
        "name": row.name,
        "district_code": row.district_code,
        "street_code": row.street_code,
        "community_code": row.community_code,
        "community_name": row.community_name,
        "population": row.population,
        "households": row.households,
        "grid_workers": row.grid_workers,
        "area_km2": round(row.area_km2, 6),
        "generation": row.generation,
        "valid_from": row.valid_from.isoformat(),
    }
    return feature(row.geometry, properties, row.code)


def grid_filters(
    bbox: BBox | None, district: str | None, street: str | None, community: str | None
) -> list[ColumnElement[bool]]:
    """Conditions on current grids (joined to their parents) for the given filters."""
    conditions: list[ColumnElement[bool]] = [Grid.valid_to.is_(None)]
    if bbox is not None:
        conditions.append(intersects_bbox(Grid.geom, bbox))
    for level, column, code in (
        ("district", District.code, district),
        ("street", Street.code, street),
        ("community", Community.code, community),
    ):
        if code is not None:
            conditions.append(column == check_code(level, code))
    return conditions


def list_grids(
    session: Session,
    *,
    bbox: BBox | None = None,
    district: str | None = None,
    street: str | None = None,
    community: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> FeaturePage:
    """One page of current grids matching the filters, ordered by code."""
    conditions = grid_filters(bbox, district, street, community)
    matched = session.scalar(
        with_parents(select(func.count()).select_from(Grid)).where(*conditions)
    )
    rows = session.execute(
        grid_columns().where(*conditions).order_by(Grid.code).limit(limit).offset(offset)
    )
    return FeaturePage(number_matched=matched or 0, features=[grid_feature(row) for row in rows])


def get_grid(session: Session, code: str) -> dict[str, Any]:
    """Return the current grid with ``code`` as a Feature."""
    check_code("grid", code, "code", "path")
    row = session.execute(grid_columns().where(Grid.code == code)).first()
    if row is None:
        raise NotFoundError(f"no current grid has the code '{code}'")
    return grid_feature(row)


def containing_grid(lon: float, lat: float) -> ColumnElement[bool]:
    """Grids whose polygon covers the point, its boundary included."""
    point = func.ST_SetSRID(func.ST_MakePoint(lon, lat), WGS84)
    return func.ST_Intersects(Grid.geom, point)


def find_grid_code(session: Session, lon: float, lat: float) -> str | None:
    """Code of the current grid holding the point (lowest code on a shared edge), or None."""
    check_position(lon, lat)
    return session.scalar(
        select(Grid.code)
        .where(Grid.valid_to.is_(None), containing_grid(lon, lat))
        .order_by(Grid.code)
        .limit(1)
    )


def locate_grid(session: Session, lon: float, lat: float) -> dict[str, Any]:
    """Return the current grid holding the point; on a shared edge or vertex, the lowest code."""
    check_position(lon, lat)
    row = session.execute(
        grid_columns().where(containing_grid(lon, lat)).order_by(Grid.code).limit(1)
    ).first()
    if row is None:
        raise NotFoundError(f"no current grid contains the point lon={lon}, lat={lat}")
    return grid_feature(row)


def district_totals() -> Any:
    """Sum population and count current grids per district code."""
    parent = aliased(District)
    return (
        select(
            parent.code.label("code"),
            func.sum(Grid.population).label("population"),
            func.count(Grid.id).label("grid_count"),
        )
        .select_from(Grid)
        .join(Community, Grid.community_id == Community.id)
        .join(Street, Community.street_id == Street.id)
        .join(parent, Street.district_id == parent.id)
        .where(Grid.valid_to.is_(None))
        .group_by(parent.code)
        .subquery("district_totals")
    )


def list_districts(session: Session) -> list[dict[str, Any]]:
    """Every current district with its area, population and grid count, ordered by code."""
    totals = district_totals()
    rows = session.execute(
        select(
            District.code,
            District.name,
            area_km2(District.geom).label("area_km2"),
            func.coalesce(totals.c.population, 0).label("population"),
            func.coalesce(totals.c.grid_count, 0).label("grid_count"),
            as_geojson(District.geom).label("geometry"),
        )
        .outerjoin(totals, totals.c.code == District.code)
        .where(District.valid_to.is_(None))
        .order_by(District.code)
    )
    return [
        feature(
            row.geometry,
            {
                "code": row.code,
                "name": row.name,
                "area_km2": round(row.area_km2, 6),
                "population": int(row.population),
                "grid_count": int(row.grid_count),
            },
            row.code,
        )
        for row in rows
    ]


def get_district_name(session: Session, code: str) -> str:
    """Name of the current district with ``code``; NotFoundError when there is none."""
    check_code("district", code)
    name = session.scalar(
        select(District.name).where(District.code == code, District.valid_to.is_(None))
    )
    if name is None:
        raise NotFoundError(f"no current district has the code '{code}'")
    return name


def area_names(
    session: Session, district: str | None, street: str | None, community: str | None
) -> list[str]:
    """Names of the current district, street and community with these codes, in that order."""
    names = []
    for model, code in ((District, district), (Street, street), (Community, community)):
        if code is None:
            continue
        name = session.scalar(
            select(model.name).where(model.code == code, model.valid_to.is_(None))
        )
        if name:
            names.append(name)
    return names


def grids_extent(session: Session, district: str | None = None) -> BBox | None:
    """Bounding box of the current grids (of one district), or None when there are none."""
    statement = with_parents(
        select(
            func.ST_XMin(func.ST_Extent(Grid.geom)),
            func.ST_YMin(func.ST_Extent(Grid.geom)),
            func.ST_XMax(func.ST_Extent(Grid.geom)),
            func.ST_YMax(func.ST_Extent(Grid.geom)),
        ).select_from(Grid)
    ).where(*grid_filters(None, district, None, None))
    row = session.execute(statement).one()
    return None if row[0] is None else BBox(*row)


def simplified_grids(
    session: Session, *, district: str | None = None, tolerance: float = 0.0
) -> list[Row]:
    """Return current grids for a map: properties, area, geometry as WKB simplified in PostGIS.

    ``tolerance`` (degrees) goes to ST_SimplifyPreserveTopology, which keeps every grid a
    valid polygon; 0 keeps the stored geometry. Shared edges are simplified per grid, so
    neighbours may part by up to the tolerance: pick it below what the map's zoom shows.
    """
    geometry = (
        Grid.geom if tolerance <= 0 else func.ST_SimplifyPreserveTopology(Grid.geom, tolerance)
    )
    statement = with_parents(
        select(
            Grid.code,
            Grid.name,
            Community.name.label("community_name"),
            Grid.population,
            Grid.households,
            Grid.grid_workers,
            area_km2(Grid.geom).label("area_km2"),
            func.ST_AsBinary(geometry).label("wkb"),
        ).select_from(Grid)
    ).where(*grid_filters(None, district, None, None))
    return list(session.execute(statement.order_by(Grid.code)))


def district_codes(session: Session) -> list[str]:
    """Return the codes of the current districts, in order."""
    return list(
        session.scalars(select(District.code).where(District.valid_to.is_(None)).order_by("code"))
    )


def current_grid_count(session: Session) -> int:
    """How many grids the current generation has."""
    return session.scalar(select(func.count()).select_from(Grid).where(Grid.valid_to.is_(None)))
