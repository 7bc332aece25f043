"""The whole life of a case through the API, by the right hands only, with scopes."""

from __future__ import annotations

import pytest

from tests.factories import ORIGIN, STEP_LAT, STEP_LON
from tests.issues.conftest import GRID_A, GRID_B, bearer

INSIDE_A = (ORIGIN[0] + STEP_LON * 0.5, ORIGIN[1] + STEP_LAT * 0.5)
WORKER_A = bearer("grid_worker", "worker-a", grids=(GRID_A,))
WORKER_B = bearer("grid_worker", "worker-b", grids=(GRID_B,))
TRANSPORT = bearer("department", "transport-staff", department="transport")
SANITATION = bearer("department", "sanitation-staff", department="sanitation")
SUPERVISOR = bearer("supervisor", "city-centre")
DISTRICT_SUPERVISOR = bearer("supervisor", "district-centre", district="150699")
OTHER_DISTRICT = bearer("supervisor", "other-centre", district="150602")
ADMIN = bearer("admin")


def submit(client, token=None, category="road_damage", point=INSIDE_A) -> dict:
    body = {"lon": point[0], "lat": point[1], "category": category, "description": "坑"}
    response = client.post("/api/v1/issues", json=body, headers=token or {})
    assert response.status_code == 201, response.text
    return response.json()


def act(client, issue_id: int, token: dict, action: str, expect: int = 200, **extra) -> dict:
    response = client.post(
        f"/api/v1/issues/{issue_id}/actions", json={"action": action, **extra}, headers=token
    )
    assert response.status_code == expect, response.text
    return response.json()


def test_whole_workflow_by_the_right_hands(client, city) -> None:
    issue = submit(client)
    issue_id = issue["id"]
    act(client, issue_id, TRANSPORT, "register", expect=404)  # not dispatched to it yet
    assert act(client, issue_id, WORKER_A, "register", note="立案")["status"] == "registered"
    dispatched = act(client, issue_id, WORKER_A, "dispatch")
    assert dispatched["status"] == "dispatched" and dispatched["departments"] == ["transport"]
    act(client, issue_id, WORKER_A, "close", expect=409)  # only verified cases close
    assert act(client, issue_id, TRANSPORT, "accept")["status"] == "in_progress"
    assert act(client, issue_id, TRANSPORT, "resolve")["status"] == "resolved"
    act(client, issue_id, TRANSPORT, "verify", expect=403)
    assert act(client, issue_id, WORKER_A, "verify")["status"] == "verified"
    act(client, issue_id, WORKER_A, "close", expect=403)
    closed = act(client, issue_id, DISTRICT_SUPERVISOR, "close", note="销号")
    assert closed["status"] == "closed" and closed["closed_at"] and closed["deadline"] is None
    actions = [event["action"] for event in closed["events"]]
    assert actions == ["report", "register", "dispatch", "accept", "resolve", "verify", "close"]
    assert closed["events"][-1]["actor"] == "district-centre"
    assert closed["events"][1]["note"] == "立案"
    act(client, issue_id, WORKER_A, "register", expect=409)  # no register from closed

    secret = {"X-Reporter-Secret": issue["secret"]}
    track = client.get("/api/v1/track", headers=secret)
    assert track.status_code == 200
    own = track.json()
    assert own["status"] == "closed" and own["description"] == "坑"
    assert "actor" not in str(own) and "district-centre" not in str(own)
    rated = client.post("/api/v1/track", json={"rating": 5}, headers=secret).json()
    assert rated["rating"] == 5
    reopened = client.post("/api/v1/track", json={"reopen": True}, headers=secret)
    assert reopened.json()["status"] == "registered"


def test_whistle_summons_several_departments(client, city) -> None:
    issue_id = submit(client)["id"]
    act(client, issue_id, WORKER_A, "register")
    body = act(client, issue_id, WORKER_A, "whistle", departments=["transport", "sanitation"])
    assert body["status"] == "dispatched" and body["departments"] == ["sanitation", "transport"]
    for token in (TRANSPORT, SANITATION):
        assert client.get(f"/api/v1/issues/{issue_id}", headers=token).status_code == 200
    act(client, issue_id, SANITATION, "decline", expect=422)  # a reason is needed
    act(client, issue_id, SANITATION, "decline", note="不属于本部门职责")
    assert client.get(f"/api/v1/issues/{issue_id}", headers=SANITATION).status_code == 404
    act(client, issue_id, WORKER_A, "whistle", expect=422)  # no departments named


def test_reporter_sees_each_steps_own_departments(client, city) -> None:
    issue = submit(client)
    act(client, issue["id"], WORKER_A, "register")
    act(client, issue["id"], WORKER_A, "whistle", departments=["transport", "sanitation"])
    act(client, issue["id"], SANITATION, "decline", note="不属于本部门职责")
    steps = client.get("/api/v1/track", headers={"X-Reporter-Secret": issue["secret"]}).json()
    named = {
        step["action"]: sorted(department["code"] for department in step["departments"])
        for step in steps["history"]
    }
    assert named == {
        "report": ["transport"],  # routed by category
        "register": [],
        "whistle": ["sanitation", "transport"],
        "decline": ["sanitation"],
    }
    assert all(d["name"] for step in steps["history"] for d in step["departments"])


@pytest.mark.parametrize(
    ("token", "visible", "list_status"),
    [
        (WORKER_A, True, 200),
        (WORKER_B, False, 200),
        (TRANSPORT, False, 200),
        (SUPERVISOR, True, 200),
        (DISTRICT_SUPERVISOR, True, 200),
        (OTHER_DISTRICT, False, 200),
        (ADMIN, True, 200),
        (bearer("reporter", "someone-else"), False, 403),  # a reporter has no staff list
        ({}, False, 401),
    ],
)
def test_out_of_scope_is_404_on_every_issue_endpoint(
    client, city, token, visible, list_status
) -> None:
    issue_id = submit(client, bearer("reporter", "resident-1"))["id"]
    expected = 200 if visible else 404
    assert client.get(f"/api/v1/issues/{issue_id}", headers=token).status_code == expected
    response = client.post(
        f"/api/v1/issues/{issue_id}/actions", json={"action": "extend"}, headers=token
    )
    assert (response.status_code == 404) is (not visible)
    photo = client.post(
        f"/api/v1/issues/{issue_id}/photos",
        files={"photo": ("a.png", b"not an image", "image/png")},
        headers=token,
    )
    assert (photo.status_code == 404) is (not visible)
    photos = client.get(f"/api/v1/issues/{issue_id}/photos", headers=token)
    assert photos.status_code == expected
    image = client.get(f"/api/v1/issues/{issue_id}/photos/1", headers=token)
    assert image.status_code == 404  # no such photo, or not in scope: the same answer
    listing = client.get("/api/v1/issues", headers=token)
    assert listing.status_code == list_status
    ids = [item["id"] for item in listing.json().get("issues", [])]
    assert (issue_id in ids) is visible


def test_own_reporter_sees_own_issue(client, city) -> None:
    mine = bearer("reporter", "resident-1")
    issue_id = submit(client, mine)["id"]
    assert client.get(f"/api/v1/issues/{issue_id}", headers=mine).status_code == 200
    act(client, issue_id, mine, "register", expect=403)


def test_merge_and_the_merged_report_follows_its_survivor(client, city) -> None:
    survivor = submit(client)
    duplicate = submit(client)
    assert survivor["public_id"] in [d["public_id"] for d in duplicate["duplicates"]]
    merged = act(client, duplicate["id"], WORKER_A, "merge", survivor_id=survivor["id"])
    assert merged["status"] == "duplicate" and merged["survivor_id"] == survivor["id"]
    act(client, survivor["id"], WORKER_A, "register")
    secret = {"X-Reporter-Secret": duplicate["secret"]}
    track = client.get("/api/v1/track", headers=secret).json()
    assert track["merged_into"] == survivor["public_id"]
    assert track["status"] == "registered"
    act(client, survivor["id"], WORKER_A, "merge", expect=422, survivor_id=survivor["id"])


def test_suspend_pauses_and_resume_restores(client, city) -> None:
    issue_id = submit(client)["id"]
    act(client, issue_id, WORKER_A, "register")
    act(client, issue_id, WORKER_A, "suspend", expect=403)
    suspended = act(client, issue_id, SUPERVISOR, "suspend", note="等待施工许可")
    assert suspended["status"] == "suspended" and suspended["deadline"] is None
    resumed = act(client, issue_id, SUPERVISOR, "resume")
    assert resumed["status"] == "registered" and resumed["deadline"] is not None


def test_extend_needs_a_supervisor_and_moves_the_deadline(client, city) -> None:
    issue = submit(client)
    act(client, issue["id"], WORKER_A, "extend", expect=403, extension="1d")
    act(client, issue["id"], SUPERVISOR, "extend", expect=422)
    extended = act(client, issue["id"], SUPERVISOR, "extend", extension="2d")
    assert extended["deadline"] > issue["deadline"]


def test_unrouted_issue_routed_by_hand(client, city) -> None:
    issue = submit(client, point=(107.0, 36.0))
    act(client, issue["id"], WORKER_A, "route", expect=404)
    act(client, issue["id"], SUPERVISOR, "route", expect=422, grid_code="150699999999999")
    routed = act(client, issue["id"], SUPERVISOR, "route", grid_code=GRID_B)
    assert routed["status"] == "reported" and routed["grid_code"] == GRID_B
    assert routed["department_code"] == "transport"
    assert routed["routing"]["method"] == "manual"
    assert client.get(f"/api/v1/issues/{issue['id']}", headers=WORKER_B).status_code == 200


def test_token_problems_are_401(client, city) -> None:
    response = client.get("/api/v1/issues", headers={"Authorization": "Bearer nonsense"})
    assert response.status_code == 401 and "invalid bearer token" in response.json()["detail"]
    assert client.get("/api/v1/issues").status_code == 401
    assert client.get("/api/v1/issues/overdue", headers=WORKER_A).status_code == 403


def test_extension_asked_by_the_handler_granted_by_a_supervisor(client, city) -> None:
    issue = submit(client)
    registered = act(client, issue["id"], WORKER_A, "register")
    act(client, issue["id"], WORKER_A, "request_extension", expect=422)  # how much?
    asked = act(client, issue["id"], WORKER_A, "request_extension", extension="3d", note="待材料")
    assert asked["status"] == "registered" and asked["deadline"] == registered["deadline"]
    act(client, issue["id"], WORKER_A, "extend", expect=403)
    granted = act(client, issue["id"], SUPERVISOR, "extend", note="同意延期")
    assert granted["deadline"] > asked["deadline"]
    assert [e["action"] for e in granted["events"]][-2:] == ["request_extension", "extend"]
    act(client, issue["id"], SUPERVISOR, "extend", expect=422)  # nothing asked any more
