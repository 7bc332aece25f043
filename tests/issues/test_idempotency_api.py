"""Retries with an Idempotency-Key, one after the other and concurrently on a real server."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import Engine, text

from tests.factories import remove_issues
from tests.issues.conftest import bearer
from tests.issues.test_workflow_api import INSIDE_A


def body(description: str = "井盖缺失", point=INSIDE_A) -> dict:
    return {"lon": point[0], "lat": point[1], "category": "public_facility_damage",
            "description": description}  # fmt: skip


def test_same_key_same_body_gives_the_first_response(client, city) -> None:
    key = {"Idempotency-Key": "phone-1-report-1"}
    first = client.post("/api/v1/issues", json=body(), headers=key)
    again = client.post("/api/v1/issues", json=body(), headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other = client.post("/api/v1/issues", json=body("别的问题"), headers=key)
    assert other.status_code == 422 and "different body" in other.json()["detail"]
    # The key belongs to its caller: another reporter's same key is another report.
    someone = client.post(
        "/api/v1/issues", json=body(), headers={**key, **bearer("reporter", "resident-9")}
    )
    assert someone.status_code == 201 and someone.json()["id"] != first.json()["id"]
    fresh = client.post("/api/v1/issues", json=body(), headers={"Idempotency-Key": "k2"})
    assert fresh.json()["id"] != first.json()["id"]


def test_failed_submission_does_not_burn_the_key(client, city) -> None:
    key = {"Idempotency-Key": "phone-1-report-2"}
    bad = client.post("/api/v1/issues", json={**body(), "category": "nope"}, headers=key)
    assert bad.status_code == 422
    assert client.post("/api/v1/issues", json=body(), headers=key).status_code == 201


def test_concurrent_retries_create_one_issue(server: str, engine: Engine) -> None:
    marker = f"idem-{uuid.uuid4().hex}"
    # In the city's extent but far from every grid: accepted as unrouted, so no city needs
    # committing.
    payload = body(f"并发重试 {marker}", point=(107.0, 36.0))
    try:
        with httpx.Client(base_url=server, timeout=30) as http:
            keys = [f"{marker}-{n % 3}" for n in range(24)]  # 3 keys, 8 racing requests each

            def post(key: str) -> httpx.Response:
                return http.post("/api/v1/issues", json=payload, headers={"Idempotency-Key": key})

            with ThreadPoolExecutor(max_workers=24) as pool:
                responses = list(pool.map(post, keys))
            assert {r.status_code for r in responses} == {201}
            ids = {
                key: {r.json()["id"] for r, k in zip(responses, keys, strict=True) if k == key}
                for key in keys
            }
            assert all(len(found) == 1 for found in ids.values())
            assert len({next(iter(found)) for found in ids.values()}) == 3
            conflict = http.post(
                "/api/v1/issues", json=body("another"), headers={"Idempotency-Key": keys[0]}
            )
            assert conflict.status_code == 422
        with engine.connect() as connection:
            count = connection.scalar(
                text("SELECT count(*) FROM issues WHERE description LIKE :m"), {"m": f"%{marker}%"}
            )
        assert count == 3
    finally:
        remove_issues(engine, marker)
