"""Maps drawn in forked processes: the same pages as drawn in one, from the command's snapshot."""

from __future__ import annotations

import pickle
import re
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridsvc.common.errors import InvalidParameterError, NotFoundError
from gridsvc.config import get_settings
from gridsvc.db import get_engine
from gridsvc.maps import batch
from gridsvc.maps import service as map_service

# folium names each element of a page with a random id: the rest of a page is its drawing.
ELEMENT_ID = re.compile(r"[0-9a-f]{32}")


def drawing(page: str) -> str:
    return ELEMENT_ID.sub("ID", page)


@pytest.fixture
def options():
    return map_service.render_options(get_settings(), static_url="static", ogc_url=None)


@pytest.fixture
def forked(monkeypatch) -> Iterator[None]:
    """Any city's maps are drawn in two forked processes."""
    monkeypatch.setattr(batch, "FORK_FROM_GRIDS", 0)
    monkeypatch.setenv("GRIDSVC_RENDER_WORKERS", "2")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def request(district: str) -> dict:
    return {"district": [district], "measure": "density", "circle": ["living_10min"],
            "mode": "euclidean", "coverage": True, "issues": True}  # fmt: skip


def test_forked_pages_are_the_pages_drawn_in_one_process(
    test_database_settings, loaded_demo_city, options, forked, monkeypatch
) -> None:
    code = loaded_demo_city.districts["code"].iloc[-1]
    with Session(get_engine()) as session:
        jobs = batch.map_jobs(session, request(code))
        assert [job.kind for job in jobs] == ["grids", "coverage", "issues"]
        alone = {job: batch.page(session, options, job) for job in jobs}  # in this process
        drawn = []
        forks = _count_forks(monkeypatch)
        for job, page in batch.pages(session, options, jobs):
            drawn.append(job)
            assert drawing(page) == drawing(alone[job]), job.file
    assert drawn == jobs  # in the jobs' order
    assert forks == [2]


def test_forked_processes_read_the_commands_snapshot(
    test_database_settings, loaded_demo_city, options, forked, monkeypatch
) -> None:
    code, name = loaded_demo_city.districts[["code", "name"]].iloc[0]
    engine = get_engine()
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection:
        session = Session(bind=connection)
        session.execute(text("SELECT 1"))  # the transaction's snapshot is taken here
        try:
            rename(engine, code, "改名区")  # committed after the snapshot
            forks = _count_forks(monkeypatch)
            jobs = [batch.MapJob("grids", code), batch.MapJob("grids")]
            page = dict(batch.pages(session, options, jobs))[jobs[0]]
            with Session(engine) as fresh:  # a transaction begun now sees the new name
                assert fresh.scalar(NAME_OF, {"code": code}) == "改名区"
        finally:
            session.close()
            rename(engine, code, name)
    assert forks == [2]
    assert f"{name} {code}" in page and "改名区" not in page


NAME_OF = text("SELECT name FROM districts WHERE code = :code AND valid_to IS NULL")


def test_a_map_that_fails_in_a_fork_raises_its_own_error(
    test_database_settings,
    loaded_demo_city,
    options,
    forked,
) -> None:
    jobs = [batch.MapJob("grids"), batch.MapJob("grids", "159999")]
    with Session(get_engine()) as session, pytest.raises(NotFoundError):
        list(batch.pages(session, options, jobs))


def test_a_parameter_error_crosses_a_process_boundary_whole() -> None:
    error = pickle.loads(pickle.dumps(InvalidParameterError("add[0].lon", "too far", "body")))
    assert (error.name, error.reason, error.location) == ("add[0].lon", "too far", "body")
    assert error.message == "body field 'add[0].lon': too far"


def rename(engine: Engine, code: str, name: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE districts SET name = :name WHERE code = :code AND valid_to IS NULL"),
            {"name": name, "code": code},
        )


def _count_forks(monkeypatch) -> list[int]:
    """Record the number of processes each forked drawing starts."""
    counts: list[int] = []
    real = batch.ProcessPoolExecutor

    def counting(workers, **options):
        counts.append(workers)
        return real(workers, **options)

    monkeypatch.setattr(batch, "ProcessPoolExecutor", counting)
    return counts
