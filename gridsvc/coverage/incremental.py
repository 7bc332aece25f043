"""Incremental update of stored coverage after facilities are added, moved or removed.

When the stored coverage of the city was current and only facilities changed since (the
data versions say so), it is made current again by recomputing only what the changed
facilities reach: their own service areas, and the grids within reach of their old and
new places for the circles of their types. The grids are computed from the city around
them as a district refresh would (:func:`gridsvc.coverage.store.load_inputs`), so they get
the answers of a full refresh. The facilities as the coverage last saw them are kept in
``coverage_facilities``; comparing it with ``facilities`` gives the changes.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Select, delete, func, select, text
from sqlalchemy.orm import Session

from gridsvc.config import get_settings
from gridsvc.coverage import jobs, refresh
from gridsvc.coverage.circles import Circle, load_circles
from gridsvc.coverage.freshness import CITY, INCREMENTAL, input_versions
from gridsvc.coverage.models import CoverageFacility, CoverageRefresh, GridCoverage, ServiceArea
from gridsvc.coverage.store import load_inputs
from gridsvc.facilities import service as facilities_service
from gridsvc.grids import service as grids_service

#: More changed facilities than this: a full refresh is as quick and simpler.
MAX_CHANGES = 200
# Reach in metres of a circle's threshold: network lengths are measured on the ground, the
# metric CRS scales distances by up to about 0.1 %; this is ample for both.
_REACH_FACTOR = 1.01


@dataclass
class Changes:
    """Facilities changed since the stored coverage saw them.

    ``ids`` of all, ``present`` of those that still exist (added, moved or retyped), and
    every old and new metric place with its facility type.
    """

    ids: list[int]
    present: list[int]
    places: np.ndarray
    place_types: list[str]

    @property
    def types(self) -> set[str]:
        """The facility types involved, old and new."""
        return set(self.place_types)


def _changes_statement(srid: int, limit: int) -> Select:
    """Facilities now and as last seen, for every one added, removed, retyped or moved."""
    now = facilities_service.metric_places(srid).subquery("now")
    seen = CoverageFacility
    facility_id = func.coalesce(now.c.id, seen.facility_id)
    return (
        select(facility_id, seen.type_code, seen.x, seen.y, now.c.type_code, now.c.x, now.c.y)
        .select_from(now.join(seen, seen.facility_id == now.c.id, full=True))
        .where(
            now.c.id.is_(None)
            | seen.facility_id.is_(None)
            | (now.c.type_code != seen.type_code)
            | (func.abs(now.c.x - seen.x) > 1e-6)
            | (func.abs(now.c.y - seen.y) > 1e-6)
        )
        .order_by(facility_id)
        .limit(limit)
    )


def facility_changes(session: Session, limit: int = MAX_CHANGES) -> Changes:
    """Return the facilities added, moved, retyped or removed since the coverage saw them.

    At most ``limit + 1`` of them: more tells the caller to refresh instead.
    """
    rows = session.execute(_changes_statement(grids_service.metric_srid(session), limit + 1)).all()
    places, place_types, present = [], [], []
    for _id, old_type, old_x, old_y, new_type, new_x, new_y in rows:
        if old_type is not None:
            places.append((old_x, old_y))
            place_types.append(old_type)
        if new_type is not None:
            places.append((new_x, new_y))
            place_types.append(new_type)
            present.append(int(_id))
    return Changes(
        ids=[int(row[0]) for row in rows],
        present=present,
        places=np.array(places, dtype=np.float64).reshape(-1, 2),
        place_types=place_types,
    )


def only_facilities_changed(session: Session) -> bool:
    """Whether the city's stored coverage was current until facilities alone changed."""
    newest = session.scalar(select(CoverageRefresh).order_by(CoverageRefresh.id.desc()).limit(1))
    if newest is None or newest.scope != CITY or newest.input_versions is None:
        return False
    then, now = json.loads(newest.input_versions), json.loads(input_versions(session))
    differ = {key for key in then.keys() | now.keys() if then.get(key) != now.get(key)}
    return differ <= {"facilities"}


def _reach_of(changes: Changes, circles: list[Circle]) -> np.ndarray:
    """Metres around each changed place within which a grid's coverage may change."""
    buffer_m = get_settings().service_area_buffer_m
    reach = np.zeros(len(changes.place_types))
    for circle in circles:
        of_circle = np.isin(changes.place_types, circle.facility_types)
        reach[of_circle] = np.maximum(reach[of_circle], circle.threshold_m)
    return reach * _REACH_FACTOR + buffer_m + 1.0


def update(session: Session) -> dict[str, Any] | None:
    """Make stored coverage current after facility changes; None when it cannot.

    It cannot when the stored coverage was not current before, when something besides
    facilities changed, or when more than :data:`MAX_CHANGES` facilities did: the caller
    then refreshes. The caller commits.
    """
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": refresh.REFRESH_LOCK})
    started = time.perf_counter()
    if not only_facilities_changed(session):
        return None
    versions = input_versions(session)
    changes = facility_changes(session)
    if len(changes.ids) > MAX_CHANGES:
        return None
    circles = [c for c in load_circles().values() if changes.types & set(c.facility_types)]
    codes = _near_grids(session, changes, circles)
    inputs = load_inputs(session, grid_codes=codes, around=changes.places, margin=_margin(circles))
    _clear(session, codes, circles, changes.ids)
    keep = np.isin(inputs.facility_ids, changes.present)
    work = jobs.Work.of(session, inputs, keep)
    todo = (jobs.coverage_jobs(circles) if codes else []) + (
        jobs.service_area_jobs(circles) if keep.any() else []
    )
    # In this process: what one change reaches takes less than forking would.
    areas = jobs.write(session, work, todo, workers=1)
    refresh.snapshot_facilities(session, changes.ids)
    seconds = time.perf_counter() - started
    refresh.record_refresh(session, CITY, INCREMENTAL, versions, seconds)
    return {
        "districts": sorted(set(inputs.grids["district_code"])) if codes else [],
        "facilities": len(changes.ids),
        "grids": len(codes),
        "circles": len(circles),
        "service_areas": areas,
        "seconds": round(seconds, 3),
    }


def _margin(circles: list[Circle]) -> float:
    """Metres around the grids (and changed places) that hold every path that counts.

    A walk within the threshold T to a point of a grid stays within T of it; the edge a
    facility that reaches it snaps onto lies within 2 T; so do a resident's.
    """
    largest = max((c.threshold_m for c in circles), default=0.0)
    return 2 * largest * _REACH_FACTOR + get_settings().service_area_buffer_m + 50.0


def _near_grids(session: Session, changes: Changes, circles: list[Circle]) -> list[str]:
    if not circles or not len(changes.places):
        return []
    reach = _reach_of(changes, circles)
    return grids_service.grids_near(
        session, changes.places, reach, grids_service.metric_srid(session)
    )


def _clear(session: Session, codes: list[str], circles: list[Circle], ids: list[int]) -> None:
    if codes and circles:
        session.execute(
            delete(GridCoverage).where(
                GridCoverage.grid_code.in_(codes),
                GridCoverage.circle.in_([c.code for c in circles]),
            )
        )
    session.execute(delete(ServiceArea).where(ServiceArea.facility_id.in_(ids)))
