"""吹哨报到 through the API: sign in, report parts, the lead closes; 报到率 from the events."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import pytest
from sqlalchemy import select

from gridsvc.issues.catalog.calendar import SHANGHAI
from gridsvc.issues.models import IssueEvent
from tests.issues.conftest import bearer
from tests.issues.test_workflow_api import ADMIN, SANITATION, TRANSPORT, WORKER_A, act, submit

URBAN = bearer("department", "urban-staff", department="urban_management")
MARKET = bearer("department", "market-staff", department="market_regulation")


def whistled_case(client, departments: list[str]) -> int:
    issue_id = submit(client)["id"]
    act(client, issue_id, WORKER_A, "register")
    act(client, issue_id, WORKER_A, "dispatch")
    act(client, issue_id, TRANSPORT, "accept")
    act(client, issue_id, WORKER_A, "whistle", departments=departments)
    act(client, issue_id, TRANSPORT, "accept")  # the lead goes on handling
    return issue_id


@pytest.fixture
def whistles(client, city) -> dict[str, int]:
    both = whistled_case(client, ["sanitation", "urban_management"])
    act(client, both, URBAN, "report_part", expect=409)  # not signed in yet
    act(client, both, SANITATION, "sign_in")
    act(client, both, SANITATION, "sign_in", expect=409)  # once
    act(client, both, SANITATION, "report_part")
    act(client, both, URBAN, "sign_in")
    act(client, both, MARKET, "sign_in", expect=404)  # not summoned: not in its scope
    refused = act(client, both, TRANSPORT, "resolve", expect=409)
    assert "urban_management" in refused["detail"]
    act(client, both, SANITATION, "close_whistle", note="done", expect=409)  # not the lead
    act(client, both, TRANSPORT, "close_whistle", expect=422)  # a reason is needed
    act(client, both, TRANSPORT, "close_whistle", note="城管部分已无必要")
    act(client, both, TRANSPORT, "resolve")
    one = whistled_case(client, ["sanitation"])
    act(client, one, SANITATION, "sign_in")
    act(client, one, SANITATION, "report_part")
    act(client, one, TRANSPORT, "resolve")
    silent = submit(client)["id"]
    act(client, silent, WORKER_A, "register")
    act(client, silent, WORKER_A, "whistle", departments=["sanitation", "transport"])
    return {"both": both, "one": one, "silent": silent}


def expected_rows(session) -> dict[str, dict[str, float]]:
    summoned, signed, parts = {}, {}, {}
    for event in session.scalars(select(IssueEvent).order_by(IssueEvent.created_at)):
        details = event.details or {}
        if event.action == "whistle":
            for department in details["departments"]:
                summoned.setdefault((event.issue_id, department), event.created_at)
        elif event.action == "sign_in":
            signed.setdefault((event.issue_id, details["department"]), event.created_at)
        elif event.action == "report_part":
            parts.setdefault((event.issue_id, details["department"]), event.created_at)
    rows: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for key, at in summoned.items():
        row = rows[key[1]]
        row["summoned"] += 1
        row["signed_in"] += key in signed
        row["reported"] += key in parts
        row["hours_to_sign_in"] += (signed[key] - at).total_seconds() / 3600 if key in signed else 0
    return rows


def test_sign_in_and_report_rates_match_the_events(client, db_session, whistles) -> None:
    today = datetime.now(SHANGHAI).date().isoformat()
    response = client.get(f"/api/v1/stats/whistles?from={today}&to={today}", headers=ADMIN)
    assert response.status_code == 200, response.text
    rows = {row["code"]: row for row in response.json()["rows"]}
    expected = expected_rows(db_session)
    assert set(rows) == set(expected) == {"sanitation", "urban_management", "transport"}
    for department, counts in expected.items():
        row = rows[department]
        for key, value in counts.items():
            assert row["counts"][key] == pytest.approx(value, abs=0.01), (department, key)
        figure = row["indicators"]["sign_in_rate"]
        assert figure["value"] == round(figure["numerator"] / figure["denominator"], 4)
    assert rows["sanitation"]["counts"]["summoned"] == 3
    assert rows["sanitation"]["indicators"]["part_report_rate"]["numerator"] == 2
    own = client.get(f"/api/v1/stats/whistles?from={today}&to={today}", headers=SANITATION)
    assert [row["code"] for row in own.json()["rows"]] == ["sanitation"]


def test_the_events_record_who_signed_in(client, db_session, whistles) -> None:
    events = db_session.scalars(
        select(IssueEvent).where(IssueEvent.issue_id == whistles["both"]).order_by(IssueEvent.id)
    ).all()
    steps = [(e.action, (e.details or {}).get("department")) for e in events]
    assert ("sign_in", "sanitation") in steps and ("report_part", "sanitation") in steps
    closing = next(e for e in events if e.action == "close_whistle")
    assert closing.details["missing"] == ["urban_management"] and closing.note
