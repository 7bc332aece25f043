"""A refresh's work cut into jobs, each computed whole into the rows it stores.

A job is one circle's per-grid coverage in one mode, or every service area at one
threshold. Jobs share nothing but the city read once, so with more than one worker they
run in processes forked from the refresh (``GRIDSVC_REFRESH_WORKERS``): each inherits the
city without copying it and sends back only its rows, and the refresh writes them in its
one transaction as they come. One process uses one core at a time for the Python between
GEOS calls, and that is what the refresh spends most of its time in.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy.orm import Session
from tqdm import tqdm

from gridsvc.common import postgis
from gridsvc.common.serving import forked_processes
from gridsvc.config import get_settings
from gridsvc.coverage import analysis, reach
from gridsvc.coverage.circles import Circle
from gridsvc.coverage.store import (
    COVERAGE_COLUMNS,
    SERVICE_AREA_COLUMNS,
    coverage_rows,
    service_area_rows,
    service_areas_at,
    thresholds_of,
)
from gridsvc.grids import service as grids_service


@dataclass(frozen=True)
class Job:
    """A circle's coverage in one mode (``circle`` set), or service areas at ``threshold``."""

    circle: Circle | None = None
    mode: str = ""
    threshold: float = 0.0
    types: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """What the progress bar shows when the job is done."""
        if self.circle is not None:
            return f"{self.circle.code} ({self.mode})"
        return f"service areas {self.threshold:g} m"


@dataclass(frozen=True)
class Work:
    """What every job computes from: the city, which facilities' areas to keep, the CRS."""

    inputs: analysis.CityInputs
    keep: np.ndarray
    srid: int
    buffer_m: float

    @classmethod
    def of(cls, session: Session, inputs: analysis.CityInputs, keep: np.ndarray) -> Work:
        """Return the work on ``inputs`` in the city's metric CRS, with the settings' buffer."""
        srid = grids_service.metric_srid(session)
        return cls(inputs, keep, srid, get_settings().service_area_buffer_m)


@dataclass(frozen=True)
class Done:
    """A job's rows, ready for COPY into ``table``."""

    label: str
    table: str
    columns: list[str]
    rows: list[tuple]


def coverage_jobs(circles: list[Circle]) -> list[Job]:
    """One job per circle and mode, walking first (it costs the most)."""
    return [Job(circle, mode) for mode in analysis.MODES for circle in circles]


def service_area_jobs(circles: list[Circle]) -> list[Job]:
    """One job per threshold of the circles, the largest first (it costs the most)."""
    jobs = [Job(threshold=t, types=types) for t, types in thresholds_of(circles).items()]
    return sorted(jobs, key=lambda job: -job.threshold)


def compute(work: Work, job: Job) -> Done:
    """Compute one job's rows."""
    inputs = work.inputs
    if job.circle is not None:
        rows = inputs.facilities_of(job.circle.facility_types)
        table = analysis.compute_coverage(
            inputs, rows, job.mode, job.circle.threshold_m, work.buffer_m
        )
        values = coverage_rows(table, job.circle, job.mode, work.srid)
        return Done(job.label, "grid_coverage", COVERAGE_COLUMNS, values)
    rows, areas = service_areas_at(inputs, job.threshold, job.types, work.keep, work.buffer_m)
    values = [
        value
        for mode, polygons in areas.items()
        for value in service_area_rows(inputs, rows, mode, job.threshold, polygons, work.srid)
    ]
    return Done(job.label, "service_areas", SERVICE_AREA_COLUMNS, values)


def worker_count() -> int:
    """``GRIDSVC_REFRESH_WORKERS``, or one per core when it is 0 (the default).

    One outside the main thread: a refresh that a server's request thread runs (after a
    rebalancing is applied) does not fork the server; it computes in that thread.
    """
    return forked_processes(get_settings().refresh_workers)


# Fewer grids than this are refreshed in one process: forking and making the shared parts
# whole cost more than the second core gives back. Measured on demo cities (2 cores, the
# same network): 400 grids 6.1 s in one process against 7.6 s forked, 1,500 grids 16.4
# against 17.1 s, 6,702 grids 52 against 43 s.
FORK_FROM_GRIDS = 3000

# The work of the refresh that forks: set before the pool starts, read by its processes.
_FORKED: dict[str, Any] = {}


def _forked(index: int) -> Done:
    return compute(_FORKED["work"], _FORKED["jobs"][index])


def run(work: Work, jobs: list[Job], workers: int) -> Iterator[Done]:
    """Yield each job's rows, computed here or, for a large city, in forked processes.

    Here with one worker or under :data:`FORK_FROM_GRIDS` grids. A job that fails raises
    here, and the jobs not started yet are dropped.
    """
    if workers <= 1 or len(jobs) <= 1 or len(work.inputs.grids) < FORK_FROM_GRIDS:
        for job in jobs:
            yield compute(work, job)
        return
    if analysis.has_network(work.inputs):
        reach.prepare_service_areas(work.inputs.network, work.buffer_m)
        analysis.prepare_network(work.inputs, work.buffer_m)
    _FORKED.update(work=work, jobs=jobs)
    pool = ProcessPoolExecutor(
        min(workers, len(jobs)), mp_context=multiprocessing.get_context("fork")
    )
    try:
        waiting: set[Future] = {pool.submit(_forked, index) for index in range(len(jobs))}
        while waiting:
            finished, waiting = wait(waiting, return_when=FIRST_COMPLETED)
            for future in finished:
                yield future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        _FORKED.clear()


def write(
    session: Session, work: Work, jobs: list[Job], workers: int, bar: tqdm | None = None
) -> int:
    """Run ``jobs`` and COPY their rows in ``session``; return the service areas written."""
    areas = 0
    for done in run(work, jobs, workers):
        postgis.copy_rows(session, done.table, done.columns, done.rows, binary=True)
        areas += len(done.rows) if done.table == "service_areas" else 0
        if bar is not None:
            bar.set_postfix_str(done.label, refresh=False)
            bar.update(1)
    return areas
