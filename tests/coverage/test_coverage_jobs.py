"""A refresh in forked processes stores exactly what one in a single process stores."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridsvc.common import serving
from gridsvc.config import get_settings
from gridsvc.coverage import analysis, jobs, refresh
from tests.conftest import engine_of_its_own
from tests.coverage.conftest import WalkCity

# Whole-city refreshes: over a database holding only the walk city, not the demo city.
engine = engine_of_its_own("jobs")


def stored_rows(session: Session) -> tuple[list[tuple], list[tuple]]:
    """Every stored coverage and service-area row, geometry as its EWKB bytes."""
    coverage = session.execute(
        text(
            "SELECT grid_code, circle, mode, district_code, street_code, community_code,"
            " residents, covered_residents, area_m2, covered_area_m2, ST_AsEWKB(geom)"
            " FROM grid_coverage ORDER BY grid_code, circle, mode"
        )
    )
    areas = session.execute(
        text(
            "SELECT facility_id, type_code, mode, threshold_m, ST_AsEWKB(geom)"
            " FROM service_areas ORDER BY facility_id, mode, threshold_m"
        )
    )
    return [tuple(row) for row in coverage], [tuple(row) for row in areas]


def refresh_in(session: Session, workers: int, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setattr(jobs, "FORK_FROM_GRIDS", 1)  # the walk city is small
    monkeypatch.setenv("GRIDSVC_REFRESH_WORKERS", str(workers))
    get_settings.cache_clear()
    try:
        return refresh.refresh(session)
    finally:
        get_settings.cache_clear()


def test_forked_refresh_stores_what_one_process_stores(
    db_session: Session, walk_city: WalkCity, monkeypatch: pytest.MonkeyPatch
) -> None:
    running = set(multiprocessing.active_children())  # other modules' servers, say
    alone = refresh_in(db_session, 1, monkeypatch)
    single = stored_rows(db_session)
    forked = refresh_in(db_session, 2, monkeypatch)
    assert forked["service_areas"] == alone["service_areas"] > 0
    coverage, areas = stored_rows(db_session)
    assert len(coverage) == len(single[0]) > 0
    assert coverage == single[0]  # every figure and gap, byte for byte
    assert areas == single[1]
    assert any(row[2] == "network" and row[4] is not None for row in areas)
    assert set(multiprocessing.active_children()) <= running  # the pool is gone


def test_a_failing_job_fails_the_refresh(
    db_session: Session, walk_city: WalkCity, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = analysis.compute_coverage

    def breaks_on_walking(inputs, rows, mode, *args, **kwargs):
        if mode == "network":
            raise RuntimeError("a job broke")
        return real(inputs, rows, mode, *args, **kwargs)

    running = set(multiprocessing.active_children())
    # Set before the pool forks: the processes inherit it.
    monkeypatch.setattr(analysis, "compute_coverage", breaks_on_walking)
    with pytest.raises(RuntimeError, match="a job broke"):
        refresh_in(db_session, 2, monkeypatch)
    assert set(multiprocessing.active_children()) <= running


def test_workers_are_one_per_core_and_one_off_the_main_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GRIDSVC_REFRESH_WORKERS", raising=False)
    get_settings.cache_clear()
    monkeypatch.setattr(serving, "cores", lambda: 3)  # the count forked work starts from
    try:
        assert jobs.worker_count() == 3
        with ThreadPoolExecutor(1) as pool:  # a server's request thread
            assert pool.submit(jobs.worker_count).result() == 1
        monkeypatch.setenv("GRIDSVC_REFRESH_WORKERS", "1")
        get_settings.cache_clear()
        assert jobs.worker_count() == 1
    finally:
        get_settings.cache_clear()
