"""Queries on facility types and facilities, answered as GeoJSON features."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Row, Select, delete, func, select, text
from sqlalchemy.orm import Session

from gridsvc.common.errors import InvalidParameterError
from gridsvc.common.geojson import BBox, FeaturePage, feature
from gridsvc.common.postgis import meets_box
from gridsvc.facilities.models import Facility, FacilityType
from gridsvc.facilities.schemas import FacilityTypeSummary
from gridsvc.grids import service as grids_service


def list_facility_types(session: Session) -> list[FacilityTypeSummary]:
    """Every facility type with its number of facilities, ordered by code."""
    count = (
        select(func.count(Facility.id))
        .where(Facility.type_code == FacilityType.code)
        .scalar_subquery()
    )
    rows = session.execute(
        select(
            FacilityType.code,
            FacilityType.name,
            FacilityType.name_en,
            FacilityType.level,
            count.label("count"),
        ).order_by(FacilityType.code)
    )
    return [FacilityTypeSummary.model_validate(row, from_attributes=True) for row in rows]


def type_codes(session: Session) -> list[str]:
    """Codes of the facility types loaded, sorted."""
    return list(session.scalars(select(FacilityType.code).order_by(FacilityType.code)))


def check_type_codes(
    session: Session, type_codes_asked: list[str], name: str = "type", location: str = "query"
) -> list[str]:
    """Return the codes asked if each is a known facility type, else raise InvalidParameterError.

    ``name`` and ``location`` say where the caller gave them (``types`` in a body...).
    """
    known = type_codes(session)
    unknown = [code for code in type_codes_asked if code not in known]
    if unknown:
        listed = ", ".join(known) if known else "none are loaded"
        asked = ", ".join(f"'{code}'" for code in unknown)
        raise InvalidParameterError(
            name,
            f"unknown facility type {asked}; known types: {listed}",
            location,
        )
    return type_codes_asked


def facility_feature(row: Row) -> dict[str, Any]:
    """Turn a facility row into a GeoJSON Point Feature whose ``id`` is the facility id."""
    properties = {
        "id": row.id,
        "type_code": row.type_code,
        "type_name": row.type_name,
        "name": row.name,
        "capacity": row.capacity,
        "source": row.source,
    }
    return feature(row.geometry, properties, row.id)


def list_facilities(
    session: Session,
    *,
    type_codes: list[str] | None = None,
    bbox: BBox | None = None,
    district: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> FeaturePage:
    """One page of facilities of the given types, in the bbox and district, ordered by id."""
    conditions: list[ColumnElement[bool]] = []
    if type_codes:
        conditions.append(Facility.type_code.in_(check_type_codes(session, type_codes)))
    if bbox is not None:
        conditions.append(grids_service.intersects_bbox(Facility.geom, bbox))
    if district is not None:
        conditions.append(grids_service.in_current_district(Facility.geom, district))
    matched = session.scalar(select(func.count()).select_from(Facility).where(*conditions))
    rows = session.execute(
        select(
            Facility.id,
            Facility.type_code,
            FacilityType.name.label("type_name"),
            Facility.name,
            Facility.capacity,
            Facility.source,
            func.ST_AsGeoJSON(Facility.geom).label("geometry"),
        )
        .join(FacilityType, Facility.type_code == FacilityType.code)
        .where(*conditions)
        .order_by(Facility.id)
        .limit(limit)
        .offset(offset)
    )
    return FeaturePage(
        number_matched=matched or 0, features=[facility_feature(row) for row in rows]
    )


def facility_points(
    session: Session, *, district: str | None = None, ids: list[int] | None = None
) -> list[Row]:
    """Every facility (of one district, or with these ids): type, its name, name, lon and lat."""
    conditions: list[ColumnElement[bool]] = []
    if district is not None:
        conditions.append(grids_service.in_current_district(Facility.geom, district))
    if ids is not None:
        conditions.append(Facility.id.in_(ids))
    return list(
        session.execute(
            select(
                Facility.id,
                Facility.type_code,
                FacilityType.name.label("type_name"),
                Facility.name,
                func.ST_X(Facility.geom).label("lon"),
                func.ST_Y(Facility.geom).label("lat"),
            )
            .join(FacilityType, Facility.type_code == FacilityType.code)
            .where(*conditions)
            .order_by(Facility.id)
        )
    )


def metric_places(srid: int, ids: list[int] | None = None) -> Select:
    """Select ``id``, ``type_code`` and metric ``x``, ``y`` of every facility (or of ``ids``)."""
    projected = func.ST_Transform(Facility.geom, srid)
    statement = select(
        Facility.id,
        Facility.type_code,
        func.ST_X(projected).label("x"),
        func.ST_Y(projected).label("y"),
    )
    return statement if ids is None else statement.where(Facility.id.in_(ids))


def metric_facilities(session: Session, area: Any, srid: int) -> list[Row]:
    """Id, type code and metric x, y of the facilities meeting ``area``, ordered by id."""
    statement = metric_places(srid).where(Facility.geom.op("&&")(area)).order_by(Facility.id)
    return list(session.execute(statement))


def facility_ids() -> Select:
    """Select the id of every facility (for ``NOT IN``: a facility deleted since)."""
    return select(Facility.id)


_DIGEST = (
    "SELECT md5(coalesce(string_agg(id || type_code || ST_AsText(geom), ',' ORDER BY id), ''))"
    " FROM facilities WHERE {near}"
)


def facilities_digest(session: Session, box: bytes | None = None) -> str:
    """Digest of the facilities meeting ``box`` (EPSG:4326 EWKB; all for None): id, type, place."""
    sql = _DIGEST.format(near=meets_box(box))
    return session.execute(text(sql), {"box": box}).scalar_one()


def facility_sources(session: Session) -> dict[str, int]:
    """Every facility source (an import's ``source``, ``osm``...) with its number of facilities."""
    rows = session.execute(
        select(Facility.source, func.count()).group_by(Facility.source).order_by(Facility.source)
    )
    return dict(rows.all())


def withdraw_source(session: Session, source: str) -> int:
    """Delete every facility of ``source``; returns how many. The caller commits.

    Facilities have no generations: a withdrawn facility is gone, and stored coverage that
    counted it becomes stale (its district's fingerprint changes) until it is refreshed.
    """
    statement = delete(Facility).where(Facility.source == source)
    deleted = session.execute(statement.execution_options(synchronize_session=False))
    return deleted.rowcount
