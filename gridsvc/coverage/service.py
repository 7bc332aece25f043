"""Coverage queries: circles, coverage per grid and roll-ups, gaps; stored or computed live.

Stored coverage (``grid_coverage``) is served while the newest refresh's fingerprint
matches the data; otherwise, and for a custom set of facility types and a threshold,
coverage is computed in memory from the city (kept by :mod:`gridsvc.coverage.cache`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gridsvc.common import postgis
from gridsvc.common.errors import InvalidParameterError
from gridsvc.common.geojson import feature
from gridsvc.config import get_settings
from gridsvc.coverage import analysis, freshness, incremental, refresh
from gridsvc.coverage.cache import city_inputs as city_inputs
from gridsvc.coverage.circles import Circle, custom_circle, load_circles
from gridsvc.coverage.gap_listing import gap_features as gap_features
from gridsvc.coverage.gap_listing import gap_shapes as gap_shapes
from gridsvc.coverage.models import GridCoverage, ServiceArea
from gridsvc.facilities import service as facilities_service
from gridsvc.grids import service as grids_service


def list_circles() -> list[dict[str, Any]]:
    """Every living circle: code, names, threshold in metres and minutes, facility types."""
    return [
        {
            "code": c.code,
            "name": c.name,
            "name_en": c.name_en,
            "threshold_m": c.threshold_m,
            "range_m": list(c.range_m),
            "minutes": c.minutes,
            "facility_types": list(c.facility_types),
            "basis": c.basis,
        }
        for c in load_circles().values()
    ]


def resolve_circle(
    session: Session,
    circle: str | None,
    types: list[str] | None = None,
    threshold_m: float | None = None,
    location: str = "query",
) -> Circle:
    """Return the named circle, or a custom one from facility types and a threshold."""
    circles = load_circles()
    if circle is not None:
        if circle not in circles:
            raise InvalidParameterError(
                "circle",
                f"unknown circle '{circle}'; known circles: {', '.join(circles)}",
                location,
            )
        return circles[circle]
    if not types or threshold_m is None:
        raise InvalidParameterError(
            "circle",
            f"give a circle ({', '.join(circles)}) or both 'types' and 'threshold_m'",
            location,
        )
    if not 0 < threshold_m <= 5000:
        raise InvalidParameterError(
            "threshold_m", f"must lie in (0, 5000], got {threshold_m}", location
        )
    facilities_service.check_type_codes(session, types, "types", location)
    return custom_circle(types, threshold_m)


def check_choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    """Return ``value`` if allowed, else an InvalidParameterError listing what is."""
    if value not in allowed:
        raise InvalidParameterError(name, f"must be one of {', '.join(allowed)}, got '{value}'")
    return value


def refresh_after_change(
    session: Session, districts: list[str] | None = None, progress: bool = False
) -> dict[str, Any]:
    """Recompute stored coverage where the data changed: the stale districts, or the city.

    When only facilities changed since the city's coverage was current, only what they
    reach is recomputed (:mod:`gridsvc.coverage.incremental`). Otherwise only districts
    whose stored coverage no longer matches the data are recomputed (of ``districts`` when
    given); when every district is stale, the city is refreshed in one pass. The caller
    commits.
    """
    updated = incremental.update(session)
    if updated is not None:
        return {key: updated[key] for key in ("districts", "grids", "service_areas", "seconds")}
    stale = freshness.stale_districts(session)
    if districts is not None:
        stale = [code for code in stale if code in districts]
    summary: dict[str, Any] = {"districts": stale, "grids": 0, "service_areas": 0, "seconds": 0.0}
    if stale and stale == freshness.current_districts(session):
        done = refresh.refresh(session, progress=progress)
        return {**summary, **{k: done[k] for k in ("grids", "service_areas", "seconds")}}
    for code in stale:
        done = refresh.refresh(session, district=code, progress=progress)
        for key in ("grids", "service_areas", "seconds"):
            summary[key] += done[key]
    summary["seconds"] = round(summary["seconds"], 2)
    return summary


@dataclass
class CoverageResult:
    """Per-grid coverage and where it came from (``stored`` or ``live``)."""

    circle: Circle
    mode: str
    table: pd.DataFrame
    source: str


def _stored(session: Session, circle: Circle, mode: str, district: str | None) -> pd.DataFrame:
    columns = [
        GridCoverage.grid_code.label("code"),
        GridCoverage.community_code,
        GridCoverage.street_code,
        GridCoverage.district_code,
        GridCoverage.residents,
        GridCoverage.covered_residents,
        GridCoverage.area_m2,
        GridCoverage.covered_area_m2,
    ]
    statement = select(*columns).where(
        GridCoverage.circle == circle.code, GridCoverage.mode == mode
    )
    if district is not None:
        statement = statement.where(GridCoverage.district_code == district)
    result = session.execute(statement.order_by(GridCoverage.grid_code))
    names = list(result.keys())
    rows = result.all()
    if not rows:
        return pd.DataFrame()
    # Column by column: a frame built from Row objects probes each one for attributes.
    return pd.DataFrame(dict(zip(names, zip(*rows, strict=True), strict=True)))


def _is_stored(session: Session, circle: Circle, district: str | None) -> bool:
    """Tell whether the stored coverage answers for ``circle`` (of ``district``) now."""
    return load_circles().get(circle.code) == circle and refresh.is_fresh(session, district)


def grid_coverage(
    session: Session, circle: Circle, mode: str, district: str | None
) -> CoverageResult:
    """Coverage of every current grid (of ``district``) for ``circle`` in ``mode``."""
    check_choice("mode", mode, analysis.MODES)
    if district is not None:
        grids_service.check_code("district", district)
    if _is_stored(session, circle, district):
        table = _stored(session, circle, mode, district)
        if not table.empty:
            return CoverageResult(circle, mode, table, "stored")
    inputs = city_inputs(session, district)
    rows = inputs.facilities_of(circle.facility_types)
    buffer_m = get_settings().service_area_buffer_m
    table = analysis.compute_coverage(inputs, rows, mode, circle.threshold_m, buffer_m)
    return CoverageResult(circle, mode, table, "live")


def _stored_roll_up(
    session: Session, circle: Circle, mode: str, district: str | None, level: str
) -> pd.DataFrame:
    """Sum the stored per-grid rows to ``level`` in the database: :data:`analysis.SUMMED`."""
    sums = [
        func.count().label("grids"),
        func.sum(GridCoverage.residents).label("residents"),
        func.sum(GridCoverage.covered_residents).label("covered_residents"),
        func.sum(GridCoverage.area_m2).label("area_m2"),
        func.sum(GridCoverage.covered_area_m2).label("covered_area_m2"),
    ]
    statement = select(*sums).where(GridCoverage.circle == circle.code, GridCoverage.mode == mode)
    if district is not None:
        statement = statement.where(GridCoverage.district_code == district)
    if level != "city":
        # Byte order, as pandas sorts the codes.
        key = getattr(GridCoverage, f"{level}_code").collate("C")
        statement = statement.add_columns(key.label("code")).group_by(key).order_by(key)
    frame = postgis.frame_of(session.execute(statement))
    if frame.empty or int(frame["grids"].sum()) == 0:
        return pd.DataFrame()
    if level == "city":
        frame["code"] = "city"
    frame = frame.astype({"area_m2": float, "covered_area_m2": float})
    return frame[["code", *analysis.SUMMED]]


def coverage_rows(
    session: Session, circle: Circle, mode: str, district: str | None, level: str, weight: str
) -> tuple[list[dict[str, Any]], str]:
    """Rows of coverage per grid or per ``level``, and their source (``stored`` or ``live``).

    A roll-up of stored coverage is summed by the database, so that a read of the city's
    figure does not carry every grid's row into Python.
    """
    check_choice("mode", mode, analysis.MODES)
    check_choice("level", level, analysis.LEVELS)
    check_choice("weight", weight, analysis.WEIGHTS)
    if level != "grid":
        if district is not None:
            grids_service.check_code("district", district)
        if _is_stored(session, circle, district):
            summed = _stored_roll_up(session, circle, mode, district, level)
            if not summed.empty:
                return _plain_rows(analysis.with_shares(summed, weight), level), "stored"
    result = grid_coverage(session, circle, mode, district)
    return summary_rows(result.table, level, weight), result.source


def summary_rows(table: pd.DataFrame, level: str, weight: str) -> list[dict[str, Any]]:
    """Rows of coverage per grid, or rolled up to ``level``, in plain JSON types."""
    check_choice("level", level, analysis.LEVELS)
    check_choice("weight", weight, analysis.WEIGHTS)
    if table.empty:
        return []
    if level != "grid":
        return _plain_rows(analysis.roll_up(table, level, weight), level)
    return _plain_rows(analysis.with_shares(table.copy(), weight), level)


def _plain_rows(frame: pd.DataFrame, level: str) -> list[dict[str, Any]]:
    """``frame``'s columns of a coverage row, rounded, in plain JSON types."""
    keep = ["code", "district_code", "street_code", "community_code"]
    keep = keep if level == "grid" else ["code", "grids"]
    keep += ["coverage", "residents", "covered_residents", "uncovered_residents"]
    keep += ["area_m2", "covered_area_m2"]
    frame = frame[keep].copy()
    frame["coverage"] = frame["coverage"].round(6)
    frame["area_m2"] = frame["area_m2"].round(1)
    frame["covered_area_m2"] = frame["covered_area_m2"].round(1)
    return [
        {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        for row in frame.to_dict("records")
    ]


def grid_features(session: Session, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-grid rows as GeoJSON Features with the grid's outline (serialized by PostGIS)."""
    shapes = grids_service.grid_outlines(session, [row["code"] for row in rows])
    return [feature(shapes[row["code"]], row, row["code"]) for row in rows if row["code"] in shapes]


def service_area_features(
    session: Session, circle: Circle, mode: str, district: str | None, limit: int, offset: int = 0
) -> tuple[int, list[dict[str, Any]]]:
    """Return stored service areas of the circle's types and threshold, by facility id."""
    conditions = _service_area_conditions(circle, mode, district)
    matched = session.scalar(select(func.count()).select_from(ServiceArea).where(*conditions))
    rows = session.execute(
        select(
            ServiceArea.facility_id,
            ServiceArea.type_code,
            ServiceArea.mode,
            ServiceArea.threshold_m,
            grids_service.as_geojson(ServiceArea.geom).label("geometry"),
        )
        .where(*conditions)
        .order_by(ServiceArea.facility_id)
        .limit(limit)
        .offset(offset)
    )
    columns = ("facility_id", "type_code", "mode", "threshold_m")
    features = [
        feature(row.geometry, {name: getattr(row, name) for name in columns}, row.facility_id)
        for row in rows
    ]
    return matched or 0, features


def service_area_shapes(
    session: Session, circle: Circle, mode: str, district: str | None, limit: int
) -> tuple[list[str], np.ndarray]:
    """Return the type codes and shapes (EPSG:4326) of what :func:`service_area_features` lists.

    As WKB read into shapely at once: for merging on the server, where GeoJSON text parsed
    into shapes cost a quarter of drawing the city's maps.
    """
    rows = session.execute(
        select(ServiceArea.type_code, func.ST_AsBinary(ServiceArea.geom))
        .where(*_service_area_conditions(circle, mode, district))
        .order_by(ServiceArea.facility_id)
        .limit(limit)
    ).all()
    return [row[0] for row in rows], shapely.from_wkb([bytes(row[1]) for row in rows])


def _service_area_conditions(circle: Circle, mode: str, district: str | None) -> list[Any]:
    check_choice("mode", mode, analysis.MODES)
    conditions = [
        ServiceArea.type_code.in_(circle.facility_types),
        ServiceArea.mode == mode,
        ServiceArea.threshold_m == circle.threshold_m,
    ]
    if district is not None:
        conditions.append(grids_service.in_current_district(ServiceArea.geom, district))
    return conditions


def service_areas_version(session: Session) -> tuple[int, int]:
    """Return (newest id, count) of the stored service areas: any rewrite changes it."""
    newest, count = session.execute(
        select(func.coalesce(func.max(ServiceArea.id), 0), func.count()).select_from(ServiceArea)
    ).one()
    return int(newest), int(count)
