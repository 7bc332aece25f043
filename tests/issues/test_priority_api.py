"""Priority (紧急/一般) with its own deadlines, reasons on record, retired categories."""

from __future__ import annotations

from datetime import datetime

import pytest

from gridsvc.auth.roles import Role
from gridsvc.auth.tokens import Principal
from gridsvc.common.errors import InvalidParameterError
from gridsvc.config import get_settings
from gridsvc.issues import actions
from gridsvc.issues.catalog.calendar import load_cn_calendar
from gridsvc.issues.catalog.deadlines import parse_rule
from gridsvc.issues.schemas import ActionRequest
from gridsvc.issues.workflow import Action, Status
from tests.issues.test_transitions_service import PRINCIPALS, issue_in
from tests.issues.test_workflow_api import (
    ADMIN,
    DISTRICT_SUPERVISOR,
    INSIDE_A,
    TRANSPORT,
    WORKER_A,
    act,
    submit,
)

URGENT_URL = "/api/v1/issue-categories/road_damage/deadlines/{stage}?priority=urgent"


def category(client, code: str = "road_damage", retired: bool = False) -> dict | None:
    listed = client.get(f"/api/v1/issue-categories?retired={str(retired).lower()}").json()
    return next((row for row in listed if row["code"] == code), None)


def due(rule: str, event: dict) -> datetime:
    """The deadline a stage started at the event's time gets under ``rule`` (independently)."""
    return parse_rule(rule).due(load_cn_calendar(), datetime.fromisoformat(event["at"]))


@pytest.fixture
def city(db_session, city):
    """The lattice city, kept when a request of the test fails (its rollback ends there)."""
    db_session.commit()
    return city


def test_a_report_arrives_normal_and_a_resident_cannot_mark_it_urgent(client, city) -> None:
    body = {"lon": INSIDE_A[0], "lat": INSIDE_A[1], "category": "road_damage",
            "description": "坑", "priority": "urgent"}  # fmt: skip
    refused = client.post("/api/v1/issues", json=body)
    assert refused.status_code == 422 and "priority" in refused.text
    created = submit(client)
    assert created["status"] == "reported"
    assert act(client, created["id"], ADMIN, "register", expect=200)["priority"] == "normal"


def test_urgent_at_intake_runs_on_the_urgent_deadlines(client, city) -> None:
    road = category(client)
    assert road["urgent_deadlines"]["dispatch"] != road["deadlines"]["dispatch"]
    normal_case, urgent_case = submit(client), submit(client)
    normal = act(client, normal_case["id"], WORKER_A, "register")
    urgent = act(client, urgent_case["id"], WORKER_A, "register", priority="urgent")
    assert urgent["priority"] == "urgent" and normal["priority"] == "normal"
    assert datetime.fromisoformat(normal["deadline"]) == due(
        road["deadlines"]["dispatch"], normal["events"][-1]
    )
    assert datetime.fromisoformat(urgent["deadline"]) == due(
        road["urgent_deadlines"]["dispatch"], urgent["events"][-1]
    )
    dispatched = act(client, urgent_case["id"], WORKER_A, "dispatch")
    assert datetime.fromisoformat(dispatched["deadline"]) == due(
        road["urgent_deadlines"]["acceptance"], dispatched["events"][-1]
    )
    # Handlers do not set the priority; the centre changes it later, with prioritize.
    act(client, urgent_case["id"], TRANSPORT, "accept", expect=422, priority="normal")
    act(client, normal_case["id"], WORKER_A, "prioritize", expect=403, priority="urgent")
    act(client, normal_case["id"], DISTRICT_SUPERVISOR, "prioritize", expect=422)
    raised = act(client, normal_case["id"], DISTRICT_SUPERVISOR, "prioritize", priority="urgent")
    expected = min(
        datetime.fromisoformat(normal["deadline"]),
        due(road["urgent_deadlines"]["dispatch"], raised["events"][-1]),
    )
    assert raised["priority"] == "urgent" and datetime.fromisoformat(raised["deadline"]) == expected
    assert raised["status"] == "registered" and raised["events"][-1]["action"] == "prioritize"
    urgent_only = client.get("/api/v1/issues?priority=urgent&limit=1000", headers=ADMIN).json()
    ids = {issue["id"] for issue in urgent_only["issues"]}
    assert {urgent_case["id"], normal_case["id"]} <= ids
    assert all(issue["priority"] == "urgent" for issue in urgent_only["issues"])


def test_admin_sets_urgent_deadlines_but_never_0h(client, city) -> None:
    url = URGENT_URL.format(stage="dispatch")
    refused = client.put(url, json={"deadline": "0h"}, headers=ADMIN)
    assert refused.status_code == 422 and "'deadline'" in refused.json()["detail"]
    changed = client.put(url, json={"deadline": "0.25h"}, headers=ADMIN)
    assert changed.status_code == 200, changed.text
    assert changed.json()["urgent_deadlines"]["dispatch"] == "0.25h"
    assert changed.json()["deadlines"]["dispatch"] == category(client)["deadlines"]["dispatch"]
    case = act(client, submit(client)["id"], WORKER_A, "register", priority="urgent")
    assert datetime.fromisoformat(case["deadline"]) == due("0.25h", case["events"][-1])
    # Without an urgent deadline for a stage, urgent cases run on the normal one.
    assert client.delete(url, headers=ADMIN).status_code == 200
    assert client.delete(url, headers=ADMIN).status_code == 404
    case = act(client, submit(client)["id"], WORKER_A, "register", priority="urgent")
    normal_rule = category(client)["deadlines"]["dispatch"]
    assert datetime.fromisoformat(case["deadline"]) == due(normal_rule, case["events"][-1])
    body = {"name": "x", "name_en": "x", "department": "transport",
            "urgent_deadlines": {"handling": "0d"}}  # fmt: skip
    put = client.put("/api/v1/issue-categories/x_new", json=body, headers=ADMIN)
    assert put.status_code == 422 and "urgent_deadlines.handling" in put.json()["detail"]
    assert client.put(url, json={"deadline": "1h"}, headers=WORKER_A).status_code == 403


@pytest.mark.parametrize(
    ("action", "status", "role"),
    [
        (Action.REJECT, Status.REPORTED, Role.GRID_WORKER),
        (Action.DECLINE, Status.DISPATCHED, Role.DEPARTMENT),
        (Action.SEND_BACK, Status.RESOLVED, Role.GRID_WORKER),
        (Action.SUSPEND, Status.IN_PROGRESS, Role.SUPERVISOR),
    ],
)
def test_turning_away_or_stopping_a_case_needs_a_reason(db_session, city, action, status, role):
    issue = issue_in(db_session, status)
    actor: Principal = PRINCIPALS[role]
    for note in (None, "  "):
        with pytest.raises(InvalidParameterError) as refused:
            actions.act(db_session, actor, issue.id, ActionRequest(action=action, note=note))
        assert refused.value.name == "note" and refused.value.location == "body"
    assert issue.status == status.value
    done = actions.act(db_session, actor, issue.id, ActionRequest(action=action, note="理由"))
    assert done.status != status.value


def test_a_retired_category_stays_for_old_cases_and_takes_no_new_ones(
    client, city, monkeypatch
) -> None:
    old = submit(client)
    retired = client.put("/api/v1/issue-categories/road_damage/retirement", headers=ADMIN)
    assert retired.status_code == 200 and retired.json()["retired_at"]
    assert client.put("/api/v1/issue-categories/road_damage/retirement").status_code == 401
    assert category(client) is None  # the residents' picker
    assert category(client, retired=True)["retired_at"] == retired.json()["retired_at"]
    services = client.get("/open311/v2/services.json").json()
    assert "road_damage" not in {service["service_code"] for service in services}
    body = {"lon": INSIDE_A[0], "lat": INSIDE_A[1], "category": "road_damage", "description": "坑"}
    refused = client.post("/api/v1/issues", json=body)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == ["body", "category"]
    assert "road_damage' is retired" in refused.json()["detail"]
    monkeypatch.setattr(get_settings(), "open311_api_keys", "app-key")
    form = {"service_code": "road_damage", "lat": INSIDE_A[1], "long": INSIDE_A[0],
            "description": "坑", "api_key": "app-key"}  # fmt: skip
    open311 = client.post("/open311/v2/requests.json", data=form)
    assert open311.status_code == 400 and "retired" in open311.text
    kept = client.get(f"/api/v1/issues/{old['id']}", headers=ADMIN).json()
    assert kept["category"] == "road_damage" and kept["category_name"] == "道路破损"
    assert act(client, old["id"], WORKER_A, "register")["status"] == "registered"
    restored = client.delete("/api/v1/issue-categories/road_damage/retirement", headers=ADMIN)
    assert restored.status_code == 200 and restored.json()["retired_at"] is None
    assert category(client) is not None
    assert submit(client)["category"]["code"] == "road_damage"
    assert client.put("/api/v1/issue-categories/nope/retirement", headers=ADMIN).status_code == 422
