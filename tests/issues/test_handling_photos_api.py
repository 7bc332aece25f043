"""Staff photos before and after handling (处置前后照片): who takes them, who sees them."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from gridsvc.config import get_settings
from tests.issues.test_workflow_api import (
    ADMIN,
    DISTRICT_SUPERVISOR,
    TRANSPORT,
    WORKER_A,
    WORKER_B,
    act,
    submit,
)


@pytest.fixture(autouse=True)
def photos_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(get_settings(), "photos_dir", tmp_path)
    return tmp_path


def jpeg(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 10), colour).save(out, "JPEG")
    return out.getvalue()


def upload(client, issue_id: int, headers: dict, stage: str | None = None, expect: int = 201):
    url = f"/api/v1/issues/{issue_id}/photos" + (f"?stage={stage}" if stage else "")
    response = client.post(url, files={"photo": ("p.jpg", jpeg((9, 9, 9)))}, headers=headers)
    assert response.status_code == expect, response.text
    return response.json()


def require_after_photo(client, required: bool) -> None:
    road = next(
        c for c in client.get("/api/v1/issue-categories").json() if c["code"] == "road_damage"
    )
    body = {key: road[key] for key in ("name", "name_en", "department")}
    response = client.put(
        "/api/v1/issue-categories/road_damage",
        json={**body, "after_photo_required": required},
        headers=ADMIN,
    )
    assert response.status_code == 200 and response.json()["after_photo_required"] is required


def test_staff_tag_photos_and_the_reporter_sees_only_the_after_ones(client, city) -> None:
    issue = submit(client)
    secret = {"X-Reporter-Secret": issue["secret"]}
    own = upload(client, issue["id"], secret)
    upload(client, issue["id"], secret, stage="after", expect=422)  # not the reporter's to tag
    act(client, issue["id"], WORKER_A, "register")
    act(client, issue["id"], WORKER_A, "dispatch")
    act(client, issue["id"], TRANSPORT, "accept")
    upload(client, issue["id"], WORKER_B, stage="before", expect=404)  # out of scope
    before = upload(client, issue["id"], TRANSPORT, stage="before")
    after = upload(client, issue["id"], TRANSPORT, stage="after")
    assert (before["stage"], after["stage"], own["stage"]) == ("before", "after", "report")
    assert after["uploaded_by"] == "transport-staff" and after["uploaded_role"] == "department"
    upload(client, issue["id"], TRANSPORT, stage="during", expect=422)

    staff = client.get(f"/api/v1/issues/{issue['id']}/photos", headers=WORKER_A).json()
    assert [(p["id"], p["stage"]) for p in staff] == [
        (own["id"], "report"), (before["id"], "before"), (after["id"], "after")
    ]  # fmt: skip
    assert staff[0]["uploaded_by"] is None  # the reporter is nobody's name here
    mine = client.get(f"/api/v1/issues/{issue['id']}/photos", headers=secret).json()
    assert [p["id"] for p in mine] == [own["id"], after["id"]]
    assert all(p["uploaded_by"] is None for p in mine)
    tracked = client.get("/api/v1/track", headers=secret).json()
    assert tracked["photos"] == [own["id"]] and tracked["handling_photos"] == [after["id"]]
    base = f"/api/v1/issues/{issue['id']}/photos"
    assert client.get(f"{base}/{after['id']}", headers=secret).status_code == 200
    assert client.get(f"{base}/{before['id']}", headers=secret).status_code == 404
    assert client.get(f"{base}/{before['id']}", headers=WORKER_A).status_code == 200


def test_resolve_needs_a_fresh_after_photo_when_the_category_says_so(client, city) -> None:
    require_after_photo(client, True)
    issue = submit(client)
    for token, action in ((WORKER_A, "register"), (WORKER_A, "dispatch"), (TRANSPORT, "accept")):
        act(client, issue["id"], token, action)
    upload(client, issue["id"], TRANSPORT, stage="before")
    refused = client.post(
        f"/api/v1/issues/{issue['id']}/actions", json={"action": "resolve"}, headers=TRANSPORT
    )
    assert refused.status_code == 409 and "stage=after" in refused.json()["detail"]
    upload(client, issue["id"], TRANSPORT, stage="after")
    assert act(client, issue["id"], TRANSPORT, "resolve")["status"] == "resolved"
    act(client, issue["id"], WORKER_A, "send_back", note="still broken")
    act(client, issue["id"], TRANSPORT, "resolve", expect=409)  # the old photo proves nothing
    upload(client, issue["id"], TRANSPORT, stage="after")
    act(client, issue["id"], TRANSPORT, "resolve")
    upload(client, issue["id"], WORKER_A, stage="after")  # the on-site check adds its own
    assert act(client, issue["id"], WORKER_A, "verify")["status"] == "verified"
    act(client, issue["id"], DISTRICT_SUPERVISOR, "close")
    require_after_photo(client, False)
    other = submit(client)
    for token, action in ((WORKER_A, "register"), (WORKER_A, "dispatch"), (TRANSPORT, "accept")):
        act(client, other["id"], token, action)
    assert act(client, other["id"], TRANSPORT, "resolve")["status"] == "resolved"
