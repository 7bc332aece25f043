"""Refresh of stored coverage: recompute every grid's coverage and every service area.

The reading and storing is in :mod:`gridsvc.coverage.store`; the computation in
:mod:`gridsvc.coverage.analysis`. A refresh records the data versions and fingerprints it
was made from (:mod:`gridsvc.coverage.freshness`).
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np
from sqlalchemy import delete, insert, text
from sqlalchemy.orm import Session
from tqdm import tqdm

from gridsvc.common.memory import objects_frozen
from gridsvc.coverage import analysis, jobs
from gridsvc.coverage.circles import Circle, load_circles
from gridsvc.coverage.freshness import (
    CITY,
    current_districts,
    fingerprint,
    input_versions,
)
from gridsvc.coverage.freshness import is_fresh as is_fresh
from gridsvc.coverage.models import CoverageFacility, CoverageRefresh, GridCoverage, ServiceArea
from gridsvc.coverage.store import as_multipolygons as as_multipolygons
from gridsvc.coverage.store import complete_facilities, load_inputs
from gridsvc.facilities import service as facilities_service
from gridsvc.grids import service as grids_service

# Key of the transaction-level advisory lock that serialises refreshes.
REFRESH_LOCK = 5_180_627


def refresh(
    session: Session,
    district: str | None = None,
    circle_codes: list[str] | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Recompute and store service areas and per-grid coverage; the caller commits.

    Without ``circle_codes`` it records the data versions and the fingerprint of the
    district (or of every current district and the city) it was made from, so that readers
    know the stored result is fresh (:mod:`gridsvc.coverage.freshness`).
    """
    # One refresh at a time: a second waits for the first's commit instead of interleaving.
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": REFRESH_LOCK})
    started = time.perf_counter()
    versions = input_versions(session)  # before reading: a later write makes it stale
    scopes = [district] if district is not None else [*current_districts(session), CITY]
    made_from = {scope: fingerprint(session, None if scope == CITY else scope) for scope in scopes}
    every = load_circles()
    circles = [every[code] for code in (circle_codes or list(every))]
    inputs = load_inputs(session, district)
    keep = complete_facilities(inputs, district)
    _clear(session, inputs, circles, district, keep)
    work = jobs.Work.of(session, inputs, keep)
    # The service areas first: the largest threshold's is the longest job.
    todo = jobs.service_area_jobs(circles) + jobs.coverage_jobs(circles)
    bar = tqdm(total=len(todo), disable=not progress, file=sys.stderr, unit="step")
    bar.set_description(f"coverage {district or CITY}")
    with objects_frozen():  # the city, read once, stays until the end
        areas = jobs.write(session, work, todo, jobs.worker_count(), bar)
    bar.close()
    seconds = time.perf_counter() - started
    if circle_codes is None:
        if district is None:
            snapshot_facilities(session)
        # The city's record comes last: it is then the newest while nothing changed since.
        for scope, value in made_from.items():
            record_refresh(session, scope, value, versions, seconds)
    session.flush()
    return {
        "grids": len(inputs.grids),
        "circles": len(circles),
        "service_areas": areas,
        "seconds": round(seconds, 2),
    }


def record_refresh(
    session: Session, scope: str, made_from: str, versions: str, seconds: float
) -> None:
    """Record that the stored coverage of ``scope`` is made from ``made_from``."""
    record = CoverageRefresh(
        scope=scope,
        fingerprint=made_from,
        circles=",".join(load_circles()),
        seconds=seconds,
        input_versions=versions,
    )
    session.add(record)
    session.flush()


def snapshot_facilities(session: Session, ids: list[int] | None = None) -> None:
    """Remember the facilities (all, or ``ids``) as the stored coverage now sees them."""
    if ids is None:
        session.execute(delete(CoverageFacility))
    else:
        session.execute(delete(CoverageFacility).where(CoverageFacility.facility_id.in_(ids)))
    places = facilities_service.metric_places(grids_service.metric_srid(session), ids)
    columns = ["facility_id", "type_code", "x", "y"]
    session.execute(insert(CoverageFacility).from_select(columns, places))


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
    gone = ServiceArea.facility_id.not_in(facilities_service.facility_ids())
    session.execute(delete(ServiceArea).where(gone).execution_options(synchronize_session=False))
