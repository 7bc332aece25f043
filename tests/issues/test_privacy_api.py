"""What is public and what a reporter's secret is: the public id is no credential, the
secret is shown once and kept as a hash, and only what staff publish is public."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import select, text, update

from gridsvc.auth.roles import Role
from gridsvc.auth.tokens import ANONYMOUS, Principal
from gridsvc.issues.models import Issue
from gridsvc.issues.reporters import secrets as reporter
from tests.factories import ORIGIN, STEP_LAT, STEP_LON
from tests.issues.conftest import bearer
from tests.issues.test_workflow_api import DISTRICT_SUPERVISOR, TRANSPORT, WORKER_A, act

ADMIN = bearer("admin", "moderator")
# An exact position with more decimals than any public view gives.
EXACT = (ORIGIN[0] + STEP_LON * 0.4321, ORIGIN[1] + STEP_LAT * 0.6789)
PRIVATE_TEXT = "我家楼下井盖缺失，电话13800000000"
CONTACT = "13800000000"


def report(client, headers=None, **extra) -> dict:
    body = {"lon": EXACT[0], "lat": EXACT[1], "category": "road_damage",
            "description": PRIVATE_TEXT, "reporter_contact": CONTACT, **extra}  # fmt: skip
    response = client.post("/api/v1/issues", json=body, headers=headers or {})
    assert response.status_code == 201, response.text
    return response.json()


def close(client, issue_id: int) -> None:
    for token, action in ((WORKER_A, "register"), (WORKER_A, "dispatch"), (TRANSPORT, "accept"),
                          (TRANSPORT, "resolve"), (WORKER_A, "verify"),
                          (DISTRICT_SUPERVISOR, "close")):  # fmt: skip
        act(client, issue_id, token, action)


def public_answers(client, public_id: str) -> list[str]:
    return [
        client.get("/api/v1/reports").text,
        client.get(f"/api/v1/reports/{public_id}").text,
        client.get("/open311/v2/requests.json").text,
        client.get(f"/open311/v2/requests.json?service_request_id={public_id}").text,
        client.get(f"/open311/v2/requests/{public_id}.json").text,
    ]


def test_a_report_is_private_until_staff_publish_it(client, city) -> None:
    created = report(client)
    public_id = created["public_id"]
    assert public_id not in client.get("/api/v1/reports").text
    assert client.get(f"/api/v1/reports/{public_id}").status_code == 404
    assert client.get(f"/open311/v2/requests/{public_id}.json").status_code == 404
    assert public_id not in client.get("/open311/v2/requests.json").text

    published = client.put(
        f"/api/v1/issues/{created['id']}/publication",
        json={"text": "某路段井盖缺失"},
        headers=ADMIN,
    )
    assert published.status_code == 200 and published.json()["published_text"] == "某路段井盖缺失"
    for answer in public_answers(client, public_id):
        assert public_id in answer
        for private in (PRIVATE_TEXT, CONTACT, created["secret"], f"{EXACT[0]:.6f}"[:-1]):
            assert private not in answer
    feature = client.get(f"/api/v1/reports/{public_id}").json()
    lon, lat = feature["geometry"]["coordinates"]
    assert (lon, lat) == (round(EXACT[0], 3), round(EXACT[1], 3))
    assert abs(lon - EXACT[0]) * 90_600 < 100 and abs(lat - EXACT[1]) * 111_000 < 100
    assert feature["properties"]["text"] == "某路段井盖缺失"

    hidden = client.delete(f"/api/v1/issues/{created['id']}/publication", headers=ADMIN)
    assert hidden.status_code == 200 and hidden.json()["published_at"] is None
    assert client.get(f"/api/v1/reports/{public_id}").status_code == 404
    assert public_id not in client.get("/open311/v2/requests.json").text
    events = [event["action"] for event in hidden.json()["events"]]
    assert events[-2:] == ["publish", "unpublish"]


def test_publishing_is_for_supervisors_in_scope(client, city) -> None:
    created = report(client)
    url = f"/api/v1/issues/{created['id']}/publication"
    assert client.put(url, json={}).status_code == 401
    assert client.put(url, json={}, headers=WORKER_A).status_code == 403
    elsewhere = bearer("supervisor", "s2", district="150602")
    assert client.put(url, json={}, headers=elsewhere).status_code == 404
    assert client.put(url, json={}, headers=DISTRICT_SUPERVISOR).status_code == 200
    strangers = client.put(url, json={"photos": [987654]}, headers=ADMIN)
    assert strangers.status_code == 422 and "photos" in strangers.json()["detail"]


def test_the_secret_is_shown_once_and_kept_only_as_a_hash(client, city, db_session) -> None:
    created = report(client, headers={"Idempotency-Key": "privacy-1", "X-Device-Id": "phone-A"})
    secret = created["secret"]
    stored = db_session.scalars(select(Issue).where(Issue.id == created["id"])).one()
    assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    # Nowhere in the database in the clear, the idempotency record included.
    dump = db_session.execute(
        text(
            "SELECT row_to_json(i)::text || coalesce(string_agg(k::text, ''), '') "
            "FROM issues i LEFT JOIN idempotency_keys k ON true "
            "WHERE i.id = :id GROUP BY i.*"
        ),
        {"id": created["id"]},  # fmt: skip
    ).scalar()
    assert secret not in dump and PRIVATE_TEXT in dump
    staff = client.get(f"/api/v1/issues/{created['id']}", headers=ADMIN)
    listing = client.get("/api/v1/issues", headers=ADMIN)
    for answer in (staff.text, listing.text):
        assert secret not in answer and created["public_id"] in answer

    own = client.get("/api/v1/track", headers={"X-Reporter-Secret": secret})
    assert own.status_code == 200
    body = own.json()
    assert body["description"] == PRIVATE_TEXT and body["reporter_contact"] == CONTACT
    assert abs(body["lon"] - EXACT[0]) < 1e-9 and abs(body["lat"] - EXACT[1]) < 1e-9
    for not_secret in (created["public_id"], str(created["id"]), secret[:-1] + "x"):
        refused = client.get("/api/v1/track", headers={"X-Reporter-Secret": not_secret})
        assert refused.status_code == 404
    assert client.get("/api/v1/track").status_code == 422  # the header is required


def test_anonymous_keys_are_scoped_to_the_device(client, city) -> None:
    key = {"Idempotency-Key": "same-key-on-two-phones"}
    phone_a = report(client, headers={**key, "X-Device-Id": "phone-A"})
    phone_b = report(client, headers={**key, "X-Device-Id": "phone-B"})
    assert phone_a["id"] != phone_b["id"] and phone_a["secret"] != phone_b["secret"]
    retried = client.post(
        "/api/v1/issues",
        json={
            "lon": EXACT[0],
            "lat": EXACT[1],
            "category": "road_damage",
            "description": PRIVATE_TEXT,
            "reporter_contact": CONTACT,
        },  # fmt: skip
        headers={**key, "X-Device-Id": "phone-A"},
    )
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert retried.json() == phone_a  # the same secret again, though it was never stored


def test_scope_of_anonymous_callers_includes_their_address() -> None:
    here = reporter.idempotency_scope(ANONYMOUS, None, "10.0.0.1")
    there = reporter.idempotency_scope(ANONYMOUS, None, "10.0.0.2")
    assert here != there
    assert reporter.new_secret(here, "k") != reporter.new_secret(there, "k")
    assert reporter.new_secret(here, "k") == reporter.new_secret(here, "k")
    assert reporter.new_secret() != reporter.new_secret()
    resident = Principal(role=Role.REPORTER, subject="resident-1")
    assert reporter.idempotency_scope(resident, None, "10.0.0.1") == "resident-1"


def test_rating_once_per_closing_and_reopen_within_the_window(client, city, db_session) -> None:
    created = report(client)
    secret = {"X-Reporter-Secret": created["secret"]}
    close(client, created["id"])
    assert client.post("/api/v1/track", json={"rating": 4}, headers=secret).status_code == 200
    again = client.post("/api/v1/track", json={"rating": 1}, headers=secret)
    assert again.status_code == 409 and "already rated" in again.json()["detail"]
    assert client.get("/api/v1/track", headers=secret).json()["rating"] == 4

    db_session.execute(
        update(Issue)
        .where(Issue.id == created["id"])
        .values(closed_at=Issue.closed_at - timedelta(days=8))
    )
    late = client.post("/api/v1/track", json={"reopen": True}, headers=secret)
    assert late.status_code == 409 and "7 days" in late.json()["detail"]
    # A supervisor may still reopen; once closed again, the reporter may rate again.
    act(client, created["id"], DISTRICT_SUPERVISOR, "reopen")
    for token, action in ((WORKER_A, "dispatch"), (TRANSPORT, "accept"), (TRANSPORT, "resolve"),
                          (WORKER_A, "verify"), (DISTRICT_SUPERVISOR, "close")):  # fmt: skip
        act(client, created["id"], token, action)
    assert client.post("/api/v1/track", json={"rating": 5}, headers=secret).status_code == 200
    reopened = client.post("/api/v1/track", json={"reopen": True}, headers=secret)
    assert reopened.status_code == 200 and reopened.json()["status"] == "registered"
