"""The submission's hot path agrees with the service's step-by-step lookups it replaces."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from gridsvc.auth.tokens import ANONYMOUS
from gridsvc.grids import placing as grid_placing
from gridsvc.issues import intake, service
from gridsvc.issues.idempotency import body_hash
from gridsvc.issues.models import Department, DepartmentRoute, IdempotencyKey, IssueCategory
from gridsvc.issues.reporters import secrets as reporter
from gridsvc.issues.workflow import Stage
from tests.factories import DISTRICT_CODE, ORIGIN, STEP_LAT, STEP_LON
from tests.issues.test_workflow_api import INSIDE_A


def points(count: int = 150) -> list[tuple[float, float]]:
    """Points over the lattice city and a little around it, lattice vertices included."""
    rng = random.Random(8)
    west, south = ORIGIN
    found = [
        (rng.uniform(west - 0.002, west + 6 * STEP_LON + 0.002),
         rng.uniform(south - 0.002, south + 5 * STEP_LAT + 0.002))
        for _ in range(count)
    ]  # fmt: skip
    return found + [(west + c * STEP_LON, south + r * STEP_LAT) for c in range(7) for r in (0, 2)]


def test_route_agrees_with_the_step_by_step_lookups(db_session, city) -> None:
    categories = list(db_session.scalars(select(IssueCategory).order_by(IssueCategory.code)))
    departments = [d.code for d in db_session.scalars(select(Department).order_by(Department.code))]
    routed_category = categories[0]
    other = next(code for code in departments if code != routed_category.department_code)
    db_session.add(DepartmentRoute(category_code=routed_category.code,
                                   district_code=DISTRICT_CODE, department_code=other))  # fmt: skip
    db_session.flush()
    placed = 0
    for lon, lat in points():
        placement = grid_placing.place_point(db_session, lon, lat, 0.0)  # inside only
        for category in categories:
            row = intake.route(db_session, category.code, lon, lat)
            assert row is not None and row["category_name"] == category.name
            assert row["retired"] is (category.retired_at is not None)
            expected = {key: (placement or {}).get(key) for key in intake.PLACEMENT_KEYS}
            assert {key: row[key] for key in intake.PLACEMENT_KEYS} == expected, (lon, lat)
            if placement is None:
                assert row["department_code"] is None
            else:
                placed += 1
                code = service.department_for(db_session, category, placement["district_code"])
                assert row["department_code"] == code
                assert row["department_name"] == db_session.get(Department, code).name
            rule = service.deadline_rule(db_session, category.code, Stage.REGISTRATION)
            assert intake.registration_rule(row) == rule
    assert placed > 100
    assert intake.route(db_session, "no_such_category", *INSIDE_A) is None


def test_routing_table_row_wins_in_the_answer(client, db_session, city) -> None:
    category = db_session.get(IssueCategory, "public_facility_damage")
    other = next(
        code
        for code in db_session.scalars(select(Department.code).order_by(Department.code))
        if code != category.department_code
    )
    db_session.add(DepartmentRoute(category_code=category.code, district_code=DISTRICT_CODE,
                                   department_code=other))  # fmt: skip
    db_session.flush()
    body = {"lon": INSIDE_A[0], "lat": INSIDE_A[1], "category": category.code,
            "description": "路灯不亮"}  # fmt: skip
    answer = client.post("/api/v1/issues", json=body)
    assert answer.status_code == 201, answer.text
    assert answer.json()["department"]["code"] == other
    stored = service.issue_events(db_session, answer.json()["id"])
    assert [event.action for event in stored] == ["report"]
    assert stored[0].details["department_code"] == other
    assert stored[0].details["grid_code"] == answer.json()["grid"]["code"]


def test_an_expired_key_is_taken_over_by_a_new_report(client, db_session, city) -> None:
    key = f"old-{uuid.uuid4().hex}"
    scope = reporter.idempotency_scope(ANONYMOUS, None, "testclient")
    old_body = {"lon": INSIDE_A[0], "lat": INSIDE_A[1], "category": "greenery"}
    db_session.add(IdempotencyKey(
        principal=scope, key=key, request_hash=body_hash(old_body), status_code=201,
        response={"id": -1}, created_at=datetime.now(UTC) - timedelta(hours=25),
    ))  # fmt: skip
    db_session.flush()
    body = {"lon": INSIDE_A[0], "lat": INSIDE_A[1], "category": "public_facility_damage",
            "description": "井盖缺失"}  # fmt: skip
    first = client.post("/api/v1/issues", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == 201, first.text  # not 422: the old use expired
    assert "idempotent-replayed" not in first.headers and first.json()["id"] > 0
    again = client.post("/api/v1/issues", json=body, headers={"Idempotency-Key": key})
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    kept = db_session.scalars(
        select(IdempotencyKey).where(IdempotencyKey.principal == scope, IdempotencyKey.key == key)
    ).one()
    assert kept.request_hash != body_hash(old_body) and kept.response["id"] == first.json()["id"]
