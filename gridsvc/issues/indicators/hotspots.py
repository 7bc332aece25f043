"""Hotspots: the grids, categories and repeated locations with the most cases in a period.

A repeated location is a cluster of cases of one category each within ``radius_m`` of
another (DBSCAN with two points to a cluster, in the city's metric CRS). Each hotspot has
its count in the period before, of the same length, for the trend. A cluster is shown by
its centre rounded to 0.001° (about 100 m), as published reports are: staff-wide answers
never carry a reporter's exact position.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

import h3
from sqlalchemy import ColumnElement, ScalarSelect, Subquery, func, literal_column, select
from sqlalchemy.orm import Session

from gridsvc.auth.tokens import Principal
from gridsvc.common.errors import InvalidParameterError
from gridsvc.grids import service as grids_service
from gridsvc.issues.indicators import service as indicator_service
from gridsvc.issues.indicators.service import department_links, local_range, scope
from gridsvc.issues.models import Issue
from gridsvc.issues.reporters.publication import PUBLIC_DECIMALS

HOTSPOT_GROUPS = ("grid", "category", "location", "h3")
#: H3 resolutions offered: 5 (a cell of about 250 km²) to 9 (about 0.1 km², 174 m a side):
#: finer cells would point at a single reporter's door.
H3_RESOLUTIONS = range(5, 10)


def previous_range(start: date, end: date) -> tuple[date, date]:
    """Return the range of the same length just before ``start``..``end``."""
    local_range(start, end)  # refuses a reversed or too long range first
    days = (end - start).days + 1
    try:
        return start - timedelta(days=days), start - timedelta(days=1)
    except OverflowError:
        raise InvalidParameterError("from", "the period before it starts before year 1") from None


def in_range(principal: Principal, start: date, end: date) -> ColumnElement[bool]:
    """Return the cases reported from ``start`` to ``end`` (local) within the scope."""
    begin, finish = local_range(start, end)
    return (
        (Issue.created_at >= begin)
        & (Issue.created_at < finish)
        & scope(principal, department_links())
    )


def hotspots(
    session: Session,
    principal: Principal,
    start: date,
    end: date,
    by: str,
    limit: int = 20,
    radius_m: float = 50.0,
) -> list[dict[str, Any]]:
    """Return the ``limit`` groups with most cases, each with the previous period's count."""
    before = previous_range(start, end)
    if by == "location":
        return repeated_locations(session, principal, start, end, limit, radius_m)
    column = Issue.grid_code if by == "grid" else Issue.category_code

    def counts(span: tuple[date, date]) -> Any:
        return (
            select(column.label("code"), func.count().label("cases"))
            .where(in_range(principal, *span), column.is_not(None))
            .group_by(column)
        )

    current = counts((start, end)).order_by(func.count().desc(), column).limit(limit)
    rows = session.execute(current).all()
    codes = {row.code for row in rows}
    earlier = dict(session.execute(counts(before).where(column.in_(codes))).all()) if codes else {}
    names = indicator_service.group_names(session, by, codes)
    return [
        {
            "code": row.code,
            "name": names.get(row.code),
            "cases": row.cases,
            "previous_cases": earlier.get(row.code, 0),
            "change": row.cases - earlier.get(row.code, 0),
        }
        for row in rows
    ]


def clustered_points(
    principal: Principal, start: date, end: date, srid: int, radius_m: float
) -> Subquery:
    """Select the period's cases in metres, each with its DBSCAN cluster in its category."""
    metric = func.ST_Transform(Issue.geom, srid)
    cluster = func.ST_ClusterDBSCAN(metric, radius_m, 2).over(partition_by=Issue.category_code)
    return (
        select(
            Issue.category_code.label("category"),
            Issue.grid_code.label("grid"),
            metric.label("geom"),
            cluster.label("cluster"),
        )
        .where(in_range(principal, start, end))
        .subquery("points")
    )


def biggest_clusters(points: Subquery, limit: int) -> Subquery:
    """Select the ``limit`` biggest clusters: cases, centre (WGS-84), usual grid, members."""
    centre = func.ST_Transform(func.ST_Centroid(func.ST_Collect(points.c.geom)), 4326)
    return (
        select(
            points.c.category,
            func.count().label("cases"),
            func.ST_X(centre).label("lon"),
            func.ST_Y(centre).label("lat"),
            func.mode().within_group(points.c.grid).label("grid_code"),
            func.ST_Collect(points.c.geom).label("members"),
        )
        .where(points.c.cluster.is_not(None))
        .group_by(points.c.category, points.c.cluster)
        .order_by(func.count().desc(), points.c.category, literal_column("lon"))
        .limit(limit)
        .subquery("clusters")
    )


def earlier_cases(
    clusters: Subquery, principal: Principal, before: tuple[date, date], srid: int, radius_m: float
) -> ScalarSelect[int]:
    """Count (the trend) cases of the category before, within the radius of a member."""
    return (
        select(func.count())
        .where(
            in_range(principal, *before),
            Issue.category_code == clusters.c.category,
            func.ST_DWithin(func.ST_Transform(Issue.geom, srid), clusters.c.members, radius_m),
        )
        .scalar_subquery()
    )


def repeated_locations(
    session: Session, principal: Principal, start: date, end: date, limit: int, radius_m: float
) -> list[dict[str, Any]]:
    """Clusters of same-category cases within ``radius_m`` of each other, biggest first."""
    srid = grids_service.metric_srid(session)
    points = clustered_points(principal, start, end, srid, radius_m)
    clusters = biggest_clusters(points, limit)
    earlier = earlier_cases(clusters, principal, previous_range(start, end), srid, radius_m)
    statement = select(
        clusters.c.category,
        clusters.c.cases,
        clusters.c.lon,
        clusters.c.lat,
        clusters.c.grid_code,
        earlier.label("previous_cases"),
    ).order_by(clusters.c.cases.desc(), clusters.c.category, clusters.c.lon)
    return [
        {
            "category": row.category,
            "cases": row.cases,
            "previous_cases": row.previous_cases,
            "change": row.cases - row.previous_cases,
            "grid_code": row.grid_code,
            "lon": round(row.lon, PUBLIC_DECIMALS),
            "lat": round(row.lat, PUBLIC_DECIMALS),
        }
        for row in session.execute(statement)
    ]


def hotspot_layer(
    session: Session, principal: Principal, start: date, end: date, limit: int
) -> dict[str, Any]:
    """Return the hotspot grids as a GeoJSON FeatureCollection: polygons with their counts."""
    rows = hotspots(session, principal, start, end, "grid", limit)
    shapes = grids_service.grid_shapes(session, {row["code"] for row in rows}, 0.0001)
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": row["code"],
                "geometry": shapes[row["code"]],
                "properties": row,
            }
            for row in rows
            if row["code"] in shapes  # a retired grid has no current polygon
        ],
    }


def cell_counts(
    session: Session, principal: Principal, span: tuple[date, date], resolution: int
) -> Counter[str]:
    """Count the cases reported in ``span`` in each H3 cell of ``resolution``."""
    points = session.execute(
        select(func.ST_X(Issue.geom), func.ST_Y(Issue.geom)).where(
            in_range(principal, *span), Issue.geom.is_not(None)
        )
    )
    return Counter(h3.latlng_to_cell(lat, lon, resolution) for lon, lat in points)


def hexagons(
    session: Session, principal: Principal, start: date, end: date, resolution: int, limit: int
) -> list[dict[str, Any]]:
    """Return the ``limit`` H3 cells with most cases, each with the previous period's count."""
    current = cell_counts(session, principal, (start, end), resolution)
    earlier = cell_counts(session, principal, previous_range(start, end), resolution)
    ranked = sorted(current.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return [
        {
            "code": cell,
            "resolution": resolution,
            "cases": cases,
            "previous_cases": earlier.get(cell, 0),
            "change": cases - earlier.get(cell, 0),
        }
        for cell, cases in ranked
    ]


def hexagon_layer(
    session: Session, principal: Principal, start: date, end: date, resolution: int, limit: int
) -> dict[str, Any]:
    """Return the hotspot H3 cells as a GeoJSON FeatureCollection of hexagons."""
    rows = hexagons(session, principal, start, end, resolution, limit)
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": row["code"],
                "geometry": cell_polygon(row["code"]),
                "properties": row,
            }
            for row in rows
        ],
    }


def cell_polygon(cell: str) -> dict[str, Any]:
    """Return an H3 cell as a GeoJSON Polygon (lon/lat, closed, counter-clockwise)."""
    ring = [[round(lng, 7), round(lat, 7)] for lat, lng in h3.cell_to_boundary(cell)]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}
