"""Heavy routes run a few at a time in their own lane, time-limited; reports still get through."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, TimeoutError

import httpx
import pytest
from sqlalchemy import Engine, text

from gridsvc.config import get_settings
from gridsvc.coverage import planning
from tests.factories import remove_issues
from tests.servers import committing_server

SITING = {"circle": "living_5min", "k": 1}
ORDOS = (109.78, 39.61)


@pytest.fixture
def server(engine: Engine) -> Iterator[str]:
    """The app on a real uvicorn server in a thread, committing into the test database."""
    yield from committing_server(engine)


@pytest.fixture
def blocked_siting(monkeypatch) -> Iterator[tuple[threading.Semaphore, threading.Event]]:
    """Siting that signals when it starts and then waits until released."""
    started, release = threading.Semaphore(0), threading.Event()

    def slow_site(session, circle, mode, district, ask):
        started.release()
        release.wait(120)
        return {"sites": []}

    monkeypatch.setattr(planning, "site", slow_site)
    try:
        yield started, release
    finally:
        release.set()


def test_saturated_heavy_lane_leaves_reports_alone(server, blocked_siting, engine, monkeypatch):
    started, release = blocked_siting
    settings = get_settings()
    monkeypatch.setattr(settings, "heavy_concurrency", 2)
    monkeypatch.setattr(settings, "heavy_queue_wait_s", 60.0)
    marker = f"heavy-{uuid.uuid4().hex[:8]}"
    report = {"lon": ORDOS[0], "lat": ORDOS[1], "category": "public_facility_damage",
              "description": f"井盖缺失 {marker}"}  # fmt: skip
    with httpx.Client(base_url=server, timeout=180) as http, ThreadPoolExecutor(47) as pool:
        try:
            heavy = [
                pool.submit(http.post, "/api/v1/coverage/siting", json=SITING) for _ in range(45)
            ]
            assert started.acquire(timeout=30) and started.acquire(timeout=30)
            posted = pool.submit(http.post, "/api/v1/issues", json=report)
            try:
                answer = posted.result(timeout=60)  # a deadlock guard, not a timing assert
            except TimeoutError:
                pytest.fail("the report POST waited behind the heavy calls")
            assert answer.status_code == 201, answer.text
            assert not any(call.done() for call in heavy)  # the report overtook them all
            assert not started.acquire(blocking=False)  # two ran, the rest queued
            # One more, while the queue is full and its wait limit is short: a 503.
            monkeypatch.setattr(settings, "heavy_queue_wait_s", 0.2)
            overflow = http.post("/api/v1/coverage/siting", json=SITING)
            assert overflow.status_code == 503
            assert overflow.headers["Retry-After"] == "1"
            assert "GRIDSVC_HEAVY_CONCURRENCY" in overflow.json()["detail"]
            release.set()
            assert {call.result().status_code for call in heavy} == {200}
        finally:
            release.set()
            remove_issues(engine, marker)


def test_heavy_sql_past_the_time_limit_is_a_504(server, monkeypatch) -> None:
    monkeypatch.setattr(get_settings(), "heavy_timeout_s", 0.3)

    def sleeping_site(session, circle, mode, district, ask):
        session.execute(text("SELECT pg_sleep(5)"))
        return {"sites": []}

    monkeypatch.setattr(planning, "site", sleeping_site)
    response = httpx.post(f"{server}/api/v1/coverage/siting", json=SITING, timeout=60)
    assert response.status_code == 504
    assert "0.3 s" in response.json()["detail"]
    assert "GRIDSVC_HEAVY_TIMEOUT_S" in response.json()["detail"]
