"""The gaps of a coverage result, worst first: GeoJSON features for the API, shapes for maps.

One selection for both (the most uncovered residents first, then the largest gap area),
from the stored gaps or from those computed live; only the geometry's form differs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import geopandas as gpd
import shapely
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gridsvc.common.geojson import feature
from gridsvc.coverage import refresh
from gridsvc.coverage.models import GridCoverage
from gridsvc.grids import service as grids_service

if TYPE_CHECKING:
    from gridsvc.coverage.service import CoverageResult


def gap_features(
    session: Session,
    result: CoverageResult,
    limit: int,
    min_residents: int = 0,
) -> tuple[int, list[dict[str, Any]]]:
    """Return the gaps, worst first (most uncovered residents, then largest gap area)."""
    matched, rows, texts = _worst_gaps(session, result, limit, min_residents, as_text=True)
    features = [
        feature(text, _gap_properties(row, result), row.code)
        for row, text in zip(rows, texts, strict=True)
    ]
    return matched, features


def gap_shapes(
    session: Session, result: CoverageResult, limit: int
) -> tuple[list[str], list[int], list[shapely.Geometry]]:
    """Return the grid codes, uncovered residents and gap shapes (EPSG:4326), worst first.

    What :func:`gap_features` lists, as shapely shapes: for drawing on the server.
    """
    _, rows, shapes = _worst_gaps(session, result, limit, 0, as_text=False)
    return [row.code for row in rows], [int(row.uncovered_residents) for row in rows], shapes


def _worst_gaps(
    session: Session, result: CoverageResult, limit: int, min_residents: int, as_text: bool
) -> tuple[int, list[Any], list[Any]]:
    """How many gaps match, and the first ``limit``: rows, and geometries in EPSG:4326.

    The geometries as GeoJSON text (``as_text``; RFC 7946's ring order for stored gaps, as
    PostGIS writes it) or as shapely shapes.
    """
    if result.source == "stored":
        return _stored_gaps(session, result, limit, min_residents, as_text)
    table = result.table
    frame = table.assign(
        uncovered_residents=table["residents"] - table["covered_residents"],
        gap_area_m2=table["area_m2"] - table["covered_area_m2"],
        gap=refresh.as_multipolygons(table["gap"].to_numpy()),
    )
    frame = frame[frame["gap"].notna() & (frame["uncovered_residents"] >= min_residents)]
    frame = frame.sort_values(["uncovered_residents", "gap_area_m2"], ascending=False)
    matched, frame = len(frame), frame.head(limit)
    shapes = gpd.GeoSeries(list(frame["gap"]), crs=grids_service.metric_srid(session)).to_crs(4326)
    geometries = [shapely.to_geojson(shape) for shape in shapes] if as_text else list(shapes)
    return matched, list(frame.itertuples()), geometries


def _gap_properties(row: Any, result: CoverageResult) -> dict[str, Any]:
    return {
        "grid_code": row.code,
        "district_code": row.district_code,
        "street_code": row.street_code,
        "community_code": row.community_code,
        "circle": result.circle.code,
        "mode": result.mode,
        "residents": int(row.residents),
        "uncovered_residents": int(row.uncovered_residents),
        "gap_area_m2": round(float(row.gap_area_m2), 1),
    }


def _stored_gaps(
    session: Session, result: CoverageResult, limit: int, min_residents: int, as_text: bool
) -> tuple[int, list[Any], list[Any]]:
    uncovered = GridCoverage.residents - GridCoverage.covered_residents
    gap_area = GridCoverage.area_m2 - GridCoverage.covered_area_m2
    conditions = [
        GridCoverage.circle == result.circle.code,
        GridCoverage.mode == result.mode,
        GridCoverage.geom.is_not(None),
        uncovered >= min_residents,
    ]
    geometry = grids_service.as_geojson if as_text else func.ST_AsBinary
    districts = sorted(set(result.table["district_code"]))
    conditions.append(GridCoverage.district_code.in_(districts))
    matched = session.scalar(select(func.count()).select_from(GridCoverage).where(*conditions))
    rows = session.execute(
        select(
            GridCoverage.grid_code.label("code"),
            GridCoverage.district_code,
            GridCoverage.street_code,
            GridCoverage.community_code,
            GridCoverage.residents,
            uncovered.label("uncovered_residents"),
            gap_area.label("gap_area_m2"),
            geometry(GridCoverage.geom).label("geometry"),
        )
        .where(*conditions)
        .order_by(uncovered.desc(), gap_area.desc(), GridCoverage.grid_code)
        .limit(limit)
    ).all()
    if as_text:
        return matched or 0, rows, [row.geometry for row in rows]
    return matched or 0, rows, list(shapely.from_wkb([bytes(row.geometry) for row in rows]))
