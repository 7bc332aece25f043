"""Admins edit categories and stage deadlines; everybody else is refused."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.issues.test_workflow_api import ADMIN, SUPERVISOR, WORKER_A, submit

NEW_CATEGORY = {
    "name": "共享单车乱停放",
    "name_en": "Shared bicycles parked in the way",
    "department": "urban_management",
    "deadlines": {"registration": "1h", "handling": "2d"},
}


def categories(client) -> dict[str, dict]:
    return {c["code"]: c for c in client.get("/api/v1/issue-categories").json()}


def test_admin_creates_and_changes_a_category(client, city) -> None:
    created = client.put("/api/v1/issue-categories/shared_bikes", json=NEW_CATEGORY, headers=ADMIN)
    assert created.status_code == 201, created.text
    assert created.json()["deadlines"] == {"registration": "1h", "handling": "2d"}
    listed = categories(client)["shared_bikes"]
    assert listed["department"] == "urban_management" and listed["name"] == "共享单车乱停放"
    issue = submit(client, category="shared_bikes")
    assert issue["department"]["code"] == "urban_management"

    renamed = {**NEW_CATEGORY, "name": "单车乱停", "department": "transport"}
    del renamed["deadlines"]  # left out: the deadlines stay
    changed = client.put("/api/v1/issue-categories/shared_bikes", json=renamed, headers=ADMIN)
    assert changed.status_code == 200, changed.text
    assert changed.json()["department"] == "transport"
    assert changed.json()["deadlines"] == {"registration": "1h", "handling": "2d"}
    replaced = client.put(
        "/api/v1/issue-categories/shared_bikes",
        json={**renamed, "deadlines": {"closing": "3d"}},
        headers=ADMIN,
    )
    assert replaced.json()["deadlines"] == {"closing": "3d"}


def test_admin_sets_and_removes_a_stage_deadline(client, city) -> None:
    url = "/api/v1/issue-categories/road_damage/deadlines/registration"
    before = submit(client)
    nothing = client.put(url, json={"deadline": "0h"}, headers=ADMIN)
    assert nothing.status_code == 422 and "deadline" in nothing.json()["detail"]
    response = client.put(url, json={"deadline": "0.5h"}, headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.json()["deadlines"]["registration"] == "0.5h"
    after = submit(client)
    assert datetime.fromisoformat(after["deadline"]) < datetime.fromisoformat(before["deadline"])
    removed = client.delete(url, headers=ADMIN)
    assert removed.status_code == 200 and "registration" not in removed.json()["deadlines"]
    assert submit(client)["deadline"] is None
    assert client.delete(url, headers=ADMIN).status_code == 404


@pytest.mark.parametrize("token", [None, WORKER_A, SUPERVISOR])
def test_only_admins_edit(client, token) -> None:
    expected = 401 if token is None else 403
    put = client.put("/api/v1/issue-categories/x_new", json=NEW_CATEGORY, headers=token or {})
    assert put.status_code == expected
    url = "/api/v1/issue-categories/road_damage/deadlines/handling"
    assert client.put(url, json={"deadline": "1d"}, headers=token or {}).status_code == expected
    assert client.delete(url, headers=token or {}).status_code == expected
    assert "x_new" not in categories(client)


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/v1/issue-categories/Bad-Code", NEW_CATEGORY, "code"),
        ("/api/v1/issue-categories/ok_code", {**NEW_CATEGORY, "department": "nasa"}, "department"),
        (
            "/api/v1/issue-categories/ok_code",
            {**NEW_CATEGORY, "deadlines": {"lunch": "1h"}},
            "deadlines",
        ),
        (
            "/api/v1/issue-categories/ok_code",
            {**NEW_CATEGORY, "deadlines": {"handling": "1.5d"}},
            "deadlines.handling",
        ),
        ("/api/v1/issue-categories/road_damage/deadlines/lunch", {"deadline": "1h"}, "stage"),
        (
            "/api/v1/issue-categories/road_damage/deadlines/handling",
            {"deadline": "soon"},
            "deadline",
        ),
        ("/api/v1/issue-categories/ufo/deadlines/handling", {"deadline": "1h"}, "category"),
    ],
)
def test_clear_422s(client, url, body, field) -> None:
    response = client.put(url, json=body, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert f"'{field}'" in response.json()["detail"]
    assert "ok_code" not in categories(client)
