"""PostGIS I/O of coverage: read the city, store service areas and per-grid coverage.

The computation itself is in :mod:`gridsvc.coverage.analysis` and
:mod:`gridsvc.coverage.network`; here rows go in and out, in EPSG:4326 in the database and
the settings' metric CRS in memory. What runs when is in :mod:`gridsvc.coverage.refresh`
(every grid) and :mod:`gridsvc.coverage.incremental` (what one facility reaches).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gridsvc.common import postgis
from gridsvc.coverage import analysis
from gridsvc.coverage.circles import Circle, load_circles
from gridsvc.coverage.freshness import reach_margin
from gridsvc.coverage.ground import areal_scales
from gridsvc.coverage.inputs import city_inputs
from gridsvc.coverage.models import NetworkEdge
from gridsvc.coverage.network import snap
from gridsvc.coverage.reach import service_area_polygons
from gridsvc.facilities import service as facilities_service
from gridsvc.grids import service as grids_service

WGS84 = 4326


def _envelope(bounds: np.ndarray, margin: float, srid: int) -> Any:
    """Return the box ``bounds`` (metric) grown by ``margin`` metres, in EPSG:4326."""
    west, south, east, north = bounds
    box = func.ST_MakeEnvelope(west - margin, south - margin, east + margin, north + margin, srid)
    return func.ST_Transform(box, WGS84)


def load_inputs(
    session: Session,
    district: str | None = None,
    grid_codes: list[str] | None = None,
    around: np.ndarray | None = None,
    margin: float | None = None,
) -> analysis.CityInputs:
    """Read grids, residents, facilities and the walking network into memory (metric CRS).

    With ``district`` (or ``grid_codes``), only those grids and their residents, and the
    facilities and network within ``margin`` metres (:func:`reach_margin` unless given)
    of them and of the metric points ``around``.
    """
    srid = grids_service.metric_srid(session)
    if district is not None:
        grids_service.check_code("district", district)
    grids = grids_service.metric_grids(session, srid, district, grid_codes)
    margin = reach_margin() if margin is None else margin
    places = grids["geometry"].to_numpy() if not grids.empty else np.zeros(0, dtype=object)
    if around is not None and len(around):
        places = np.concatenate([places, shapely.points(np.asarray(around).reshape(-1, 2))])
    if not len(places):  # an unknown district: nothing to compute
        return _inputs(grids, np.zeros((0, 3)), [], [])
    area = _envelope(shapely.total_bounds(places), margin, srid)
    # Only residents inside the grids count; a city or district reads the whole box as
    # it always did, a few grids only their own box.
    if grid_codes is not None and not grids.empty:
        homes = _envelope(shapely.total_bounds(grids["geometry"].to_numpy()), 50.0, srid)
    else:
        homes = area
    inputs = _inputs(grids, *_read_within(session, area, srid, homes))
    inputs.areal_scale = areal_scales(grids["geometry"].to_numpy(), f"EPSG:{srid}")
    return inputs


def _read_within(
    session: Session, area: Any, srid: int, homes: Any
) -> tuple[np.ndarray, list, list]:
    """Residents whose place meets ``homes``, facilities and network edges meeting ``area``."""
    residents = grids_service.metric_residents(session, homes, srid)
    facilities = facilities_service.metric_facilities(session, area, srid)
    edges = session.execute(
        select(
            NetworkEdge.source,
            NetworkEdge.target,
            NetworkEdge.length_m,
            func.ST_AsBinary(func.ST_Transform(NetworkEdge.geom, srid)),
        ).where(NetworkEdge.geom.op("&&")(area))
    ).all()
    return residents, facilities, edges


def _facility_arrays(facilities: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        np.array([row[0] for row in facilities], dtype=np.int64),
        np.array([row[1] for row in facilities], dtype=object),
        np.array([row[2:] for row in facilities], dtype=np.float64).reshape(-1, 2),
    )


def load_facilities(
    session: Session, grids: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read the facilities :func:`load_inputs` reads for a city or district of ``grids``.

    Ids, type codes and metric x, y: for a city whose grids, residents and network are
    already in memory, when only its facilities changed.
    """
    if grids.empty:
        return _facility_arrays([])
    srid = grids_service.metric_srid(session)
    area = _envelope(shapely.total_bounds(grids["geometry"].to_numpy()), reach_margin(), srid)
    return _facility_arrays(facilities_service.metric_facilities(session, area, srid))


def _inputs(
    grids: pd.DataFrame, residents: np.ndarray, facilities: list, edges: list
) -> analysis.CityInputs:
    walking = None
    if edges:
        source, target, length, wkb = (
            np.array(column, dtype=object) for column in zip(*edges, strict=True)
        )
        lines = shapely.from_wkb([bytes(value) for value in wkb])
        walking = (source.astype(np.int64), target.astype(np.int64), length.astype(float), lines)
    return city_inputs(
        grids,
        residents,
        _facility_arrays(facilities),
        walking,
    )


def _ewkb(geometries: np.ndarray, srid: int) -> list[bytes | None]:
    """Metric geometries as EWKB MultiPolygons in EPSG:4326 (None for empty ones)."""
    multi = as_multipolygons(geometries)
    present = np.array([geometry is not None for geometry in multi], dtype=bool)
    result: list[bytes | None] = [None] * len(multi)
    if present.any():
        to_wgs84 = _to_wgs84(srid)
        geographic = shapely.transform(
            multi[present], lambda xy: np.column_stack(to_wgs84.transform(xy[:, 0], xy[:, 1]))
        )
        written = shapely.to_wkb(shapely.set_srid(geographic, WGS84), include_srid=True)
        for position, value in zip(np.flatnonzero(present), written, strict=True):
            result[position] = value
    return result


@lru_cache
def _to_wgs84(srid: int) -> Transformer:
    return Transformer.from_crs(srid, WGS84, always_xy=True)


def as_multipolygons(geometries: np.ndarray) -> np.ndarray:
    """Keep the polygonal parts of each geometry as one MultiPolygon (None when none).

    Polygons and MultiPolygons, nearly all of them, are wrapped or kept as they are; only
    mixed collections are taken apart.
    """
    geometries = np.asarray(geometries, dtype=object)
    result = np.full(len(geometries), None, dtype=object)
    if len(geometries) == 0:
        return result
    kind, empty = shapely.get_type_id(geometries), shapely.is_empty(geometries)
    polygon, multi = (kind == 3) & ~empty, (kind == 6) & ~empty
    result[polygon] = shapely.multipolygons(geometries[polygon].reshape(-1, 1))
    result[multi] = geometries[multi]
    mixed = np.flatnonzero(~polygon & ~multi & ~empty)
    if len(mixed):
        parts, index = shapely.get_parts(geometries[mixed], return_index=True)
        keep = (shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)
        if keep.any():
            out = np.full(len(mixed), None, dtype=object)
            shapely.multipolygons(parts[keep], indices=index[keep], out=out)
            result[mixed] = out
    return result


def _copy(session: Session, table: str, columns: list[str], rows: Iterable[tuple]) -> None:
    postgis.copy_rows(session, table, columns, rows, binary=True)


COVERAGE_COLUMNS = [
    "grid_code",
    "circle",
    "mode",
    "district_code",
    "street_code",
    "community_code",
    "residents",
    "covered_residents",
    "area_m2",
    "covered_area_m2",
    "geom",
]
SERVICE_AREA_COLUMNS = ["facility_id", "type_code", "mode", "threshold_m", "geom"]


def coverage_rows(table: pd.DataFrame, circle: Circle, mode: str, srid: int) -> list[tuple]:
    """Return the ``grid_coverage`` rows (:data:`COVERAGE_COLUMNS`) of a circle in one mode."""
    gaps = _ewkb(table["gap"].to_numpy(), srid)
    return list(
        zip(
            table["code"],
            [circle.code] * len(table),
            [mode] * len(table),
            table["district_code"],
            table["street_code"],
            table["community_code"],
            table["residents"].astype(int),
            table["covered_residents"].astype(int),
            table["area_m2"].astype(float),
            table["covered_area_m2"].astype(float),
            gaps,
            strict=True,
        )
    )


def store_coverage(
    session: Session, table: pd.DataFrame, circle: Circle, mode: str, srid: int
) -> None:
    """Write one circle's per-grid coverage (with gaps) for one mode."""
    _copy(session, "grid_coverage", COVERAGE_COLUMNS, coverage_rows(table, circle, mode, srid))


def complete_facilities(inputs: analysis.CityInputs, district: str | None) -> np.ndarray:
    """Mask of the facilities whose service areas the loaded network holds whole.

    The city: all. A district: those within the reach margin less the largest threshold
    of its grids' extent; farther ones may walk out of the loaded box, so their stored
    service areas are left to the refresh of a district nearer to them.
    """
    keep = np.ones(len(inputs.facility_ids), dtype=bool)
    if district is None or inputs.grids.empty or not len(keep):
        return keep
    distance = reach_margin() - max(c.threshold_m for c in load_circles().values())
    west, south, east, north = shapely.total_bounds(inputs.grids["geometry"].to_numpy())
    x, y = inputs.facility_xy[:, 0], inputs.facility_xy[:, 1]
    return (
        (x >= west - distance)
        & (x <= east + distance)
        & (y >= south - distance)
        & (y <= north + distance)
    )


def thresholds_of(circles: list[Circle]) -> dict[float, tuple[str, ...]]:
    """Return the facility types whose service areas each of the circles' thresholds needs."""
    thresholds: dict[float, set[str]] = {}
    for circle in circles:
        thresholds.setdefault(circle.threshold_m, set()).update(circle.facility_types)
    return {threshold: tuple(sorted(types)) for threshold, types in sorted(thresholds.items())}


def service_areas_at(
    inputs: analysis.CityInputs,
    threshold: float,
    types: tuple[str, ...],
    keep: np.ndarray,
    buffer_m: float,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Return the ``keep`` facilities of ``types`` and their areas at ``threshold``, by mode."""
    rows = inputs.facilities_of(types)
    rows = rows[keep[rows]]
    xy = inputs.facility_xy[rows]
    areas = {
        "euclidean": shapely.buffer(shapely.points(xy.reshape(-1, 2)), threshold, quad_segs=16)
    }
    if analysis.has_network(inputs) and len(rows):
        sources = snap(inputs.network, xy)
        areas["network"] = service_area_polygons(inputs.network, sources, threshold, buffer_m)
    return rows, areas


def service_area_rows(
    inputs: analysis.CityInputs,
    rows: np.ndarray,
    mode: str,
    threshold: float,
    polygons: np.ndarray,
    srid: int,
) -> list[tuple]:
    """Return the ``service_areas`` rows (:data:`SERVICE_AREA_COLUMNS`) of facilities ``rows``.

    Empty areas (a facility that reaches nothing) are left out.
    """
    return [
        (int(inputs.facility_ids[row]), inputs.facility_types[row], mode, threshold, geom)
        for row, geom in zip(rows, _ewkb(polygons, srid), strict=True)
        if geom is not None
    ]
