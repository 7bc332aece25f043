"""Many maps drawn at once for ``gridsvc maps render``: in processes forked from the command.

Each map is drawn whole, from the database, into its page. A large city's maps are drawn
in processes forked from the command, one per core (``GRIDSVC_RENDER_WORKERS``), since a
map's drawing is Python work on one core. Every process reads through the snapshot the
command's transaction exports (PostgreSQL's ``pg_export_snapshot``, as ``pg_dump --jobs``
does), so every map shows the data as it was at one moment.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.util
import re
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from gridsvc.common.serving import forked_processes
from gridsvc.config import get_settings
from gridsvc.grids import service as grids_service
from gridsvc.maps import service
from gridsvc.maps.basemap import RenderOptions

KINDS = ("grids", "coverage", "issues")


@dataclass(frozen=True)
class MapJob:
    """One map to draw: its kind, district (None: the city) and what it shows."""

    kind: str
    district: str | None = None
    circle: str | None = None
    mode: str = "network"
    measure: str = "density"

    @property
    def file(self) -> str:
        """The page's file name."""
        place = f"-{self.district}" if self.district else ""
        if self.kind == "coverage":
            return f"coverage-{self.circle}-{self.mode}{place}.html"
        return f"{self.kind}{place}.html"


def map_jobs(session: Session, request: dict[str, Any]) -> list[MapJob]:
    """Every map ``gridsvc maps render`` draws for ``request``, in the order it lists them."""
    district, mode = request["district"], request["mode"]
    places = list(district) if district else [None]
    jobs = [
        MapJob("grids", code, measure=request["measure"])
        for code in (places if district else [None, *service.district_codes(session)])
    ]
    circles = (request["circle"] or service.circle_codes()) if request["coverage"] else []
    jobs += [MapJob("coverage", code, name, mode) for name in circles for code in places]
    jobs += [MapJob("issues", code) for code in places] if request["issues"] else []
    return jobs


def page(session: Session, options: RenderOptions, job: MapJob) -> str:
    """Draw one map into its page."""
    if job.kind == "grids":
        return service.grids_map_html(session, options, job.district, job.measure)
    if job.kind == "coverage":
        return service.coverage_map_html(session, options, job.circle, job.mode, job.district)
    # Drawn as the administrator draws it: a supervisor's view of the city.
    return service.issues_map_html(session, options, service.CITY_SUPERVISOR, None, job.district)


# Cities with fewer grids have their maps drawn in the command's own process: forking and
# connecting cost more than the second core gives back. On the demo city (6,702 grids, 16
# maps, 2 cores) the maps took 40 s in one process.
FORK_FROM_GRIDS = 3000


def worker_count() -> int:
    """``GRIDSVC_RENDER_WORKERS``, or one per core when it is 0 (the default).

    One off the main thread (:func:`gridsvc.common.serving.forked_processes`).
    """
    return forked_processes(get_settings().render_workers)


def pages(
    session: Session, options: RenderOptions, jobs: list[MapJob]
) -> Iterator[tuple[MapJob, str]]:
    """Yield each job with its page, in the jobs' order.

    A large city's are drawn in forked processes. A map that fails raises here, and the
    maps not begun are dropped.
    """
    workers = min(worker_count(), len(jobs))
    if workers <= 1 or grids_service.current_grid_count(session) < FORK_FROM_GRIDS:
        for job in jobs:
            yield job, page(session, options, job)
        return
    snapshot = session.execute(text("SELECT pg_export_snapshot()")).scalar_one()
    engine = session.get_bind().engine  # (a session may be bound to a connection)
    pool = ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_start_drawing,
        initargs=(engine, engine.url.render_as_string(hide_password=False), snapshot, options),
    )
    try:
        # The heavy coverage maps first, so that no process is left with one at the end.
        order = sorted(range(len(jobs)), key=lambda index: jobs[index].kind != "coverage")
        futures = {index: pool.submit(_draw, jobs[index]) for index in order}
        for index, job in enumerate(jobs):
            yield job, futures[index].result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# A drawing process's session (inside the command's snapshot) and the options of its maps.
_DRAWING: dict[str, Any] = {}
_SNAPSHOT_ID = re.compile(r"^[0-9A-F]+-[0-9A-F]+-[0-9]+$")


def _start_drawing(parent: Engine, url: str, snapshot: str, options: RenderOptions) -> None:
    """In a forked process: leave the command's connections alone; connect at the first map."""
    parent.dispose(close=False)  # the pool's connections stay the command's own
    _DRAWING.update(url=url, snapshot=snapshot, options=options)


def _draw(job: MapJob) -> str:
    """Draw ``job`` in a forked process; an error reaches the command as it was raised."""
    if "session" not in _DRAWING:
        _DRAWING["session"] = _snapshot_session(_DRAWING["url"], _DRAWING["snapshot"])
    return page(_DRAWING["session"], _DRAWING["options"], job)


def _snapshot_session(url: str, snapshot: str) -> Session:
    """Return a session on a connection of its own, in a transaction reading ``snapshot``."""
    if not _SNAPSHOT_ID.match(snapshot):  # SET takes no bound parameters
        raise ValueError(f"not a snapshot id: {snapshot!r}")
    connection = create_engine(url, poolclass=NullPool).connect()
    connection = connection.execution_options(isolation_level="REPEATABLE READ")
    connection.execute(text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))
    # Closed as the process ends, so PostgreSQL sees a goodbye rather than a lost client.
    multiprocessing.util.Finalize(None, connection.close, exitpriority=10)
    return Session(bind=connection)
