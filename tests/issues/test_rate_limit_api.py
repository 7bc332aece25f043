"""Anonymous reports are limited per address and per device, in a store every worker shares."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from gridsvc.common.ratelimit import RateLimitHit
from gridsvc.config import get_settings
from gridsvc.db import get_session, transaction_per_request
from gridsvc.issues.models import Issue
from gridsvc.main import create_app
from tests.factories import remove_issues
from tests.issues.conftest import bearer

ORDOS = (109.78, 39.61)


def report(marker: str) -> dict:
    return {"lon": ORDOS[0], "lat": ORDOS[1], "category": "public_facility_damage",
            "description": f"路灯不亮 {marker}"}  # fmt: skip


@pytest.fixture
def two_workers(engine: Engine) -> Iterator[list[TestClient]]:
    """Two separate apps (as two server workers are) committing into the test database."""
    factory = sessionmaker(bind=engine, expire_on_commit=False)

    def committing_session() -> Iterator[Session]:
        yield from transaction_per_request(factory)

    clients = []
    for _ in range(2):
        app = create_app()
        app.dependency_overrides[get_session] = committing_session
        client = TestClient(app).__enter__()
        # An app matches its first request by building its routes' contexts, and the two
        # apps share the modules' routers: built from two threads at once, pydantic warns
        # of stray aliases. Each app is warmed up first, as a worker is by its own first
        # request, one at a time, on its one event loop.
        assert client.get("/api/v1/issue-categories").status_code == 200
        clients.append(client)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM rate_limits"))
    yield clients
    for client in clients:
        client.__exit__(None, None, None)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM rate_limits"))


def test_two_workers_share_the_device_limit(two_workers, engine, monkeypatch) -> None:
    monkeypatch.setattr(get_settings(), "rate_limit_per_device", "3/hour")
    marker = f"rate-{uuid.uuid4().hex[:8]}"
    device = {"X-Device-Id": f"phone-{marker}"}

    def post(number: int):
        worker = two_workers[number % 2]
        return worker.post("/api/v1/issues", json=report(marker), headers=device)

    try:
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(post, range(8)))
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses == [201] * 3 + [429] * 5
        refused = next(answer for answer in answers if answer.status_code == 429)
        assert 0 < int(refused.headers["Retry-After"]) <= 3600
        detail = refused.json()["detail"]
        assert "at most 3 per hour" in detail and "GRIDSVC_RATE_LIMIT_PER_DEVICE" in detail
        with Session(engine) as session:
            stored = session.scalar(
                select(func.count()).where(Issue.description.like(f"%{marker}%"))
            )
        assert stored == 3  # a refused report stored nothing
        # Another phone on the same address is still welcome; staff are never limited.
        other = two_workers[0].post("/api/v1/issues", json=report(marker),
                                    headers={"X-Device-Id": f"other-{marker}"})  # fmt: skip
        assert other.status_code == 201
        for token in (bearer("supervisor"), bearer("reporter", "resident-7")):
            staff = two_workers[1].post(
                "/api/v1/issues", json=report(marker), headers={**device, **token}
            )
            assert staff.status_code == 201
    finally:
        remove_issues(engine, marker)


def test_address_limit_covers_both_apis(client, db_session, monkeypatch) -> None:
    monkeypatch.setattr(get_settings(), "rate_limit_per_address", "2/minute")
    marker = f"rate-{uuid.uuid4().hex[:8]}"
    first = client.post("/api/v1/issues", json=report(marker))
    assert first.status_code == 201
    second = client.post("/open311/v2/requests.json", data={"service_code": "x"})
    assert second.status_code != 429  # counted, whatever its own answer
    third = client.post("/api/v1/issues", json=report(marker), headers={"X-Device-Id": "new"})
    assert third.status_code == 429
    assert "this address" in third.json()["detail"] and "2 per minute" in third.json()["detail"]
    assert 0 < int(third.headers["Retry-After"]) <= 60
    open311 = client.post("/open311/v2/requests.json", data={"service_code": "x"})
    assert open311.status_code == 429


def test_finished_windows_are_pruned(client, db_session, monkeypatch) -> None:
    monkeypatch.setattr(get_settings(), "rate_limit_per_device", "5/hour")
    old = datetime.now(UTC) - timedelta(days=2)
    # Only this test's windows (rolled back after it): other modules' servers commit theirs.
    db_session.execute(delete(RateLimitHit))
    db_session.add(RateLimitHit(bucket="device:old", window_start=old, hits=4))
    db_session.flush()
    response = client.post(
        "/api/v1/issues", json=report("prune"), headers={"X-Device-Id": "a-new-phone"}
    )
    assert response.status_code == 201
    buckets = db_session.scalars(select(RateLimitHit.bucket)).all()
    assert "device:old" not in buckets
    assert len(buckets) == 2  # this request's address and device
