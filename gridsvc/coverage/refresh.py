"""PostGIS I/O of coverage: read the city, store service areas and per-grid coverage.

The computation itself is in :mod:`gridsvc.coverage.analysis` and
:mod:`gridsvc.coverage.network`; here rows go in and out, in EPSG:4326 in the database and
the settings' metric CRS in memory.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session
from tqdm import tqdm

from gridsvc.common import postgis
from gridsvc.config import get_settings
from gridsvc.coverage import analysis
from gridsvc.coverage.circles import Circle, load_circles
from gridsvc.coverage.freshness import (
    CITY,
    current_districts,
    fingerprint,
    metric_srid,
    reach_margin,
)
from gridsvc.coverage.freshness import is_fresh as is_fresh
from gridsvc.coverage.inputs import city_inputs
from gridsvc.coverage.models import CoverageRefresh, GridCoverage, NetworkEdge, ServiceArea
from gridsvc.coverage.network import snap
from gridsvc.coverage.reach import service_area_polygons
from gridsvc.facilities.models import Facility
from gridsvc.grids import service as grids_service
from gridsvc.grids.models import Community, District, Grid, PopulationPoint, Street

WGS84 = 4326


def _xy(geom: Any, srid: int) -> tuple[Any, Any]:
    projected = func.ST_Transform(geom, srid)
    return func.ST_X(projected), func.ST_Y(projected)


def _load_grids(session: Session, district: str | None, srid: int) -> pd.DataFrame:
    statement = grids_service.with_parents(
        select(
            Grid.code,
            Community.code.label("community_code"),
            Street.code.label("street_code"),
            District.code.label("district_code"),
            func.ST_AsBinary(func.ST_Transform(Grid.geom, srid)).label("wkb"),
        ).select_from(Grid)
    ).where(Grid.valid_to.is_(None))
    if district is not None:
        statement = statement.where(District.code == grids_service.check_code("district", district))
    frame = pd.DataFrame(session.execute(statement.order_by(Grid.code)).all())
    if frame.empty:
        columns = ["code", "community_code", "street_code", "district_code", "geometry"]
        return pd.DataFrame(columns=columns)
    frame["geometry"] = shapely.from_wkb(frame.pop("wkb").map(bytes).to_numpy())
    return frame


def _envelope(grids: pd.DataFrame, margin: float, srid: int) -> Any:
    """Return the grids' bounding box grown by ``margin`` metres, in EPSG:4326."""
    west, south, east, north = shapely.total_bounds(grids["geometry"].to_numpy())
    box = func.ST_MakeEnvelope(west - margin, south - margin, east + margin, north + margin, srid)
    return func.ST_Transform(box, WGS84)


def load_inputs(session: Session, district: str | None = None) -> analysis.CityInputs:
    """Read grids, residents, facilities and the walking network into memory (metric CRS).

    With ``district``, only its grids and residents, and the facilities and network
    within reach of them (the largest circle's threshold).
    """
    srid = metric_srid()
    grids = _load_grids(session, district, srid)
    margin = reach_margin()
    if grids.empty:  # an unknown district: nothing to compute
        return _inputs(grids, np.zeros((0, 3)), [], [])
    area = _envelope(grids, margin, srid)

    def within(geom: Any) -> list:
        return [geom.op("&&")(area)]

    residents = np.array(
        session.execute(
            select(*_xy(PopulationPoint.geom, srid), PopulationPoint.persons).where(
                *within(PopulationPoint.geom)
            )
        ).all(),
        dtype=np.float64,
    ).reshape(-1, 3)
    facilities = session.execute(
        select(Facility.id, Facility.type_code, *_xy(Facility.geom, srid))
        .where(*within(Facility.geom))
        .order_by(Facility.id)
    ).all()
    edges = session.execute(
        select(
            NetworkEdge.source,
            NetworkEdge.target,
            NetworkEdge.length_m,
            func.ST_AsBinary(func.ST_Transform(NetworkEdge.geom, srid)),
        ).where(*within(NetworkEdge.geom))
    ).all()
    return _inputs(grids, residents, facilities, edges)


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
        (
            np.array([row[0] for row in facilities], dtype=np.int64),
            np.array([row[1] for row in facilities], dtype=object),
            np.array([row[2:] for row in facilities], dtype=np.float64).reshape(-1, 2),
        ),
        walking,
    )


def _ewkb(geometries: np.ndarray, srid: int) -> list[str | None]:
    """Metric geometries as hex EWKB MultiPolygons in EPSG:4326 (None for empty ones)."""
    multi = as_multipolygons(geometries)
    present = np.array([geometry is not None for geometry in multi], dtype=bool)
    result: list[str | None] = [None] * len(multi)
    if present.any():
        series = gpd.GeoSeries(list(multi[present]), crs=srid).to_crs(WGS84)
        hexes = shapely.to_wkb(
            shapely.set_srid(series.to_numpy(), WGS84), hex=True, include_srid=True
        )
        for position, value in zip(np.flatnonzero(present), hexes, strict=True):
            result[position] = value
    return result


def as_multipolygons(geometries: np.ndarray) -> np.ndarray:
    """Keep the polygonal parts of each geometry as one MultiPolygon (None when none)."""
    result = np.full(len(geometries), None, dtype=object)
    if len(geometries) == 0:
        return result
    parts, index = shapely.get_parts(np.asarray(geometries, dtype=object), return_index=True)
    keep = (shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)
    if keep.any():
        shapely.multipolygons(parts[keep], indices=index[keep], out=result)
    return result


def _copy(session: Session, table: str, columns: list[str], rows: Iterable[tuple]) -> None:
    postgis.copy_rows(session, table, columns, rows)


def store_coverage(
    session: Session, table: pd.DataFrame, circle: Circle, mode: str, srid: int
) -> None:
    """Write one circle's per-grid coverage (with gaps) for one mode."""
    gaps = _ewkb(table["gap"].to_numpy(), srid)
    columns = [
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
    rows = zip(
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
    _copy(session, "grid_coverage", columns, rows)


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


def store_service_areas(
    session: Session,
    inputs: analysis.CityInputs,
    circles: list[Circle],
    keep: np.ndarray,
    bar: tqdm,
) -> int:
    """Compute and write the ``keep`` facilities' service areas for the circles' thresholds."""
    srid = metric_srid()
    buffer_m = get_settings().service_area_buffer_m
    thresholds: dict[float, set[str]] = {}
    for circle in circles:
        thresholds.setdefault(circle.threshold_m, set()).update(circle.facility_types)
    written = 0
    for threshold, types in sorted(thresholds.items()):
        rows = inputs.facilities_of(tuple(types))
        rows = rows[keep[rows]]
        xy = inputs.facility_xy[rows]
        areas = {
            "euclidean": shapely.buffer(shapely.points(xy.reshape(-1, 2)), threshold, quad_segs=16)
        }
        if analysis.has_network(inputs) and len(rows):
            sources = snap(inputs.network, xy)
            areas["network"] = service_area_polygons(inputs.network, sources, threshold, buffer_m)
        for mode, polygons in areas.items():
            geometry = _ewkb(polygons, srid)
            values = [
                (int(inputs.facility_ids[row]), inputs.facility_types[row], mode, threshold, geom)
                for row, geom in zip(rows, geometry, strict=True)
                if geom is not None
            ]
            columns = ["facility_id", "type_code", "mode", "threshold_m", "geom"]
            _copy(session, "service_areas", columns, values)
            written += len(values)
        bar.update(1)
    return written


# Key of the transaction-level advisory lock that serialises refreshes.
REFRESH_LOCK = 5_180_627


def refresh(
    session: Session,
    district: str | None = None,
    circle_codes: list[str] | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Recompute and store service areas and per-grid coverage; the caller commits.

    Without ``circle_codes`` it records the fingerprint of the district (or of every current
    district and the city) it was made from, so that readers know the stored result is fresh
    (:mod:`gridsvc.coverage.freshness`).
    """
    # One refresh at a time: a second waits for the first's commit instead of interleaving.
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": REFRESH_LOCK})
    started = time.perf_counter()
    scopes = [district] if district is not None else [*current_districts(session), CITY]
    made_from = {scope: fingerprint(session, None if scope == CITY else scope) for scope in scopes}
    every = load_circles()
    circles = [every[code] for code in (circle_codes or list(every))]
    srid = metric_srid()
    inputs = load_inputs(session, district)
    keep = complete_facilities(inputs, district)
    steps = len(circles) * len(analysis.MODES) + len({c.threshold_m for c in circles})
    bar = tqdm(total=steps, disable=not progress, file=sys.stderr, unit="step")
    _clear(session, inputs, circles, district, keep)
    buffer_m = get_settings().service_area_buffer_m
    for circle in circles:
        rows = inputs.facilities_of(circle.facility_types)
        for mode in analysis.MODES:
            bar.set_description(f"coverage {district or CITY} {circle.code} ({mode})")
            table = analysis.compute_coverage(inputs, rows, mode, circle.threshold_m, buffer_m)
            store_coverage(session, table, circle, mode, srid)
            bar.update(1)
    bar.set_description(f"service areas {district or CITY}")
    areas = store_service_areas(session, inputs, circles, keep, bar)
    bar.close()
    seconds = time.perf_counter() - started
    if circle_codes is None:
        # The city's record comes last: it is then the newest while nothing changed since.
        for scope, value in made_from.items():
            record = CoverageRefresh(
                scope=scope, fingerprint=value, circles=",".join(every), seconds=seconds
            )
            session.add(record)
            session.flush()
    session.flush()
    return {
        "grids": len(inputs.grids),
        "circles": len(circles),
        "service_areas": areas,
        "seconds": round(seconds, 2),
    }


def _clear(
    session: Session,
    inputs: analysis.CityInputs,
    circles: list[Circle],
    district: str | None,
    keep: np.ndarray,
) -> None:
    codes = [c.code for c in circles]
    statement = delete(GridCoverage).where(GridCoverage.circle.in_(codes))
    if district is not None:
        statement = statement.where(GridCoverage.district_code == district)
    session.execute(statement)
    types = sorted({t for c in circles for t in c.facility_types})
    thresholds = sorted({c.threshold_m for c in circles})
    conditions = [ServiceArea.type_code.in_(types), ServiceArea.threshold_m.in_(thresholds)]
    if district is not None:
        kept = [int(i) for i in inputs.facility_ids[keep]]
        conditions.append(ServiceArea.facility_id.in_(kept))
    session.execute(delete(ServiceArea).where(*conditions))
    # Facilities deleted since (withdrawn, replaced) are in no district's inputs: their
    # service areas go whatever the scope, or they would be served on.
    gone = ServiceArea.facility_id.not_in(select(Facility.id))
    session.execute(delete(ServiceArea).where(gone).execution_options(synchronize_session=False))
