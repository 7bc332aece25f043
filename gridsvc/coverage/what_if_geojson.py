"""A what-if answer as GeoJSON: the changed facilities and the grids they affect, in WGS-84.

A planner exports a scenario to open it in QGIS or hand it on. GeoJSON is WGS-84 (RFC 7946)
whatever base map the scenario was drawn on, so the added and moved facilities are shifted
back from the caller's coordinate system with the project's own transform, removed ones
are where the database has them, and each affected grid carries its stored outline with its
before/after figures. The figures themselves go under ``what_if``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from gridsvc.common.coords import to_wgs84
from gridsvc.coverage.planning import Change, Place
from gridsvc.facilities import service as facilities_service
from gridsvc.grids import service as grids_service


def _point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [round(float(lon), 7), round(float(lat), 7)]}


def _placed(place: Place) -> dict[str, Any]:
    return _point(*to_wgs84(place.lon, place.lat, place.crs))


def change_features(session: Session, change: Change) -> list[dict[str, Any]]:
    """One point per added, moved and removed facility; moves say where the facility was."""
    ids = [facility_id for facility_id, _ in change.move] + list(change.remove)
    stored = {row.id: row for row in facilities_service.facility_points(session, ids=ids)}
    features = [
        {
            "type": "Feature",
            "geometry": _placed(place),
            "properties": {"change": "add", "type_code": code},
        }
        for code, place in change.add
    ]
    for facility_id, place in change.move:
        row = stored[facility_id]
        properties = {
            "change": "move",
            "id": facility_id,
            "type_code": row.type_code,
            "name": row.name,
            "from": _point(row.lon, row.lat)["coordinates"],
        }
        features.append({"type": "Feature", "geometry": _placed(place), "properties": properties})
    for facility_id in change.remove:
        row = stored[facility_id]
        properties = {
            "change": "remove",
            "id": facility_id,
            "type_code": row.type_code,
            "name": row.name,
        }
        features.append(
            {"type": "Feature", "geometry": _point(row.lon, row.lat), "properties": properties}
        )
    return features


def what_if_geojson(session: Session, answer: dict[str, Any], change: Change) -> dict[str, Any]:
    """Return ``answer`` (of :func:`planning.what_if`) as a FeatureCollection in WGS-84."""
    shapes = grids_service.grid_shapes(session, {row["code"] for row in answer["grids"]})
    grids = [
        {
            "type": "Feature",
            "id": row["code"],
            "geometry": shapes.get(row["code"]),
            "properties": row,
        }
        for row in answer["grids"]
    ]
    summary = {key: value for key, value in answer.items() if key != "grids"}
    return {
        "type": "FeatureCollection",
        "features": change_features(session, change) + grids,
        "what_if": summary,
    }
