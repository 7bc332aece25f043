"""Items of a collection: filters (bbox, CQL2, datetime), paging, output CRS; JSON by PostGIS.

Features are built as GeoJSON text in the database (``json_build_object``, ``ST_AsGeoJSON``),
ordered by feature id so pages are stable, and only GCJ-02 output comes through Python (the
shift is not in PostGIS).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

import numpy as np
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridsvc.common import coords
from gridsvc.common.errors import InvalidParameterError, NotFoundError
from gridsvc.ogc import cql
from gridsvc.ogc.collections import DATETIME, INTEGER, NUMBER, Collection
from gridsvc.ogc.crs import Crs

#: Where a collection's time lives, for ``datetime``: the first date-time property.
OPEN = ".."


@dataclass
class Query:
    """What a request asks of a collection's items."""

    crs: Crs
    limit: int = 100
    offset: int = 0
    box: tuple[float, ...] | None = None
    box_crs: Crs | None = None
    filter: str | None = None
    datetime: str | None = None
    conditions: list[str] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)


def geometry_sql(crs: Crs) -> str:
    """GeoJSON geometry of ``src.geom`` in ``crs`` (axes in the CRS's order)."""
    if crs.lat_first:
        return "ST_AsGeoJSON(ST_FlipCoordinates(src.geom), 9, 0)::json"
    if not crs.geographic and not crs.gcj02:
        return f"ST_AsGeoJSON(ST_Transform(src.geom, {int(crs.srid)}), 3, 0)::json"
    return "ST_AsGeoJSON(src.geom, 9, 0)::json"


def property_sql(name: str, kind: str) -> str:
    """One property's value; a number always with a fraction (``1.0``, not ``1``).

    Clients that type fields from the first page (GDAL's OAPIF, hence QGIS) would otherwise
    make a share that starts with whole values an integer field and cut 0.48 to 0.
    """
    if kind == NUMBER:
        return f"src.{name}::numeric + 0.0"
    return f"src.{name}"


def feature_sql(collection: Collection, crs: Crs) -> str:
    """Return the SQL of one row's Feature as json."""
    pairs = ", ".join(
        f"'{name}', {property_sql(name, kind)}" for name, kind in collection.properties.items()
    )
    return (
        "json_build_object('type', 'Feature', 'id', src.fid, 'geometry', "
        f"{geometry_sql(crs)}, 'properties', json_build_object({pairs}))"
    )


def box_condition(query: Query) -> None:
    """Add the bbox filter: features whose geometry intersects the box."""
    if query.box is None:
        return
    x_min, y_min, x_max, y_max = query.box
    crs = query.box_crs
    if crs is not None and crs.gcj02:
        lons, lats = coords.to_wgs84(np.array([x_min, x_max]), np.array([y_min, y_max]), "gcj02")
        x_min, x_max, y_min, y_max = float(lons[0]), float(lons[1]), float(lats[0]), float(lats[1])
    query.parameters.update(bx0=x_min, by0=y_min, bx1=x_max, by1=y_max)
    envelope = "ST_MakeEnvelope(:bx0, :by0, :bx1, :by1, {srid})"
    if crs is None or crs.geographic or crs.gcj02:
        area = envelope.format(srid=4326)
    else:  # a metric box: densified before reprojecting, so its edges stay edges
        query.parameters["box_step"] = max(x_max - x_min, y_max - y_min, 1.0) / 64
        area = (
            f"ST_Transform(ST_Segmentize({envelope.format(srid=int(crs.srid))}, :box_step), 4326)"
        )
    query.conditions.append(f"ST_Intersects(src.geom, {area})")


def parse_instant(value: str, end: bool) -> datetime | None:
    """One end of a ``datetime`` value (None when open); a date means its whole day."""
    if value in (OPEN, ""):
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day, time.max if end else time.min).astimezone()
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidParameterError(
            "datetime", f"'{value}' is not an RFC 3339 date-time, a date or '..'"
        ) from None


def time_condition(collection: Collection, query: Query) -> None:
    """Add the ``datetime`` filter on the collection's first date-time (ignored without one)."""
    if query.datetime is None:
        return
    start_text, _, end_text = query.datetime.partition("/")
    start = parse_instant(start_text, end=False)
    end = parse_instant(end_text, end=True) if "/" in query.datetime else start
    temporal = [name for name, kind in collection.properties.items() if kind == DATETIME]
    if not temporal:
        return
    if start is not None:
        query.conditions.append(f"src.{temporal[0]} >= :t0")
        query.parameters["t0"] = start
    if end is not None:
        query.conditions.append(f"src.{temporal[0]} <= :t1")
        query.parameters["t1"] = end


def prepare(collection: Collection, query: Query) -> tuple[str, dict[str, Any]]:
    """Return the WHERE clause and values of ``query`` on ``collection``."""
    query.conditions, query.parameters = [], dict(collection.parameters)
    box_condition(query)
    time_condition(collection, query)
    if query.filter:
        condition, values = cql.to_sql(query.filter, collection.queryables)
        query.conditions.append(condition)
        query.parameters.update(values)
    return " AND ".join(query.conditions) or "TRUE", query.parameters


def shift_to_gcj02(feature: dict[str, Any]) -> dict[str, Any]:
    """Move a feature's vertices from WGS-84 to GCJ-02."""
    if feature.get("geometry"):
        geometry = shapely.from_geojson(json.dumps(feature["geometry"]))

        def shift(xy: np.ndarray) -> np.ndarray:
            return np.column_stack(coords.from_wgs84(xy[:, 0], xy[:, 1], "gcj02"))

        feature["geometry"] = json.loads(shapely.to_geojson(shapely.transform(geometry, shift)))
    return feature


def features_text(session: Session, collection: Collection, query: Query) -> tuple[int, int, str]:
    """Count matched, count returned and the JSON array text of one page of features."""
    where, parameters = prepare(collection, query)
    source = f"({collection.source}) AS src"
    matched = session.scalar(text(f"SELECT count(*) FROM {source} WHERE {where}"), parameters)
    parameters = {**parameters, "limit": query.limit, "offset": query.offset}
    rows = session.execute(
        text(
            f"SELECT count(*), coalesce(json_agg(page.feature ORDER BY page.fid), '[]')::text"
            f" FROM (SELECT src.fid, {feature_sql(collection, query.crs)} AS feature"
            f" FROM {source} WHERE {where} ORDER BY src.fid LIMIT :limit OFFSET :offset) AS page"
        ),
        parameters,
    ).one()
    returned, array = int(rows[0]), rows[1]
    if query.crs.gcj02:
        array = json.dumps([shift_to_gcj02(f) for f in json.loads(array)], ensure_ascii=False)
    return int(matched or 0), returned, array


def feature_text(session: Session, collection: Collection, feature_id: str, crs: Crs) -> str:
    """One feature's GeoJSON text; 404 when the collection holds no such id."""
    key: Any = feature_id
    if collection.id_type == INTEGER:
        if not feature_id.isdigit() or len(feature_id) > 18:
            raise NotFoundError(f"no feature '{feature_id}' in '{collection.id}'")
        key = int(feature_id)
    found = session.scalar(
        text(
            f"SELECT {feature_sql(collection, crs)}::text FROM ({collection.source}) AS src"
            " WHERE src.fid = :feature_id"
        ),
        {**collection.parameters, "feature_id": key},
    )
    if found is None:
        raise NotFoundError(f"no feature '{feature_id}' in collection '{collection.id}'")
    if crs.gcj02:
        return json.dumps(shift_to_gcj02(json.loads(found)), ensure_ascii=False)
    return found


def extent(session: Session, collection: Collection) -> list[float] | None:
    """Return the collection's box in CRS84 (None when empty)."""
    row = session.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT"
            f" ST_Extent(src.geom) AS e FROM ({collection.source}) AS src) AS x"
        ),
        collection.parameters,
    ).one()
    return None if row[0] is None else [round(float(v), 6) for v in row]
