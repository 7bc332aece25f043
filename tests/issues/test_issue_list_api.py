"""The staff's issue list: filters against an independent Python filter (bbox against
shapely), names beside codes without N+1, CSV and GeoJSON exports, nothing private."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from shapely.geometry import Point, box
from sqlalchemy import event, text

from gridsvc.auth.tokens import ANONYMOUS
from gridsvc.config import get_settings
from gridsvc.issues import service
from gridsvc.issues.models import Issue
from gridsvc.issues.schemas import IssueSubmission
from gridsvc.issues.workflow import OPEN_STATUSES
from tests.factories import ORIGIN, STEP_LAT, STEP_LON
from tests.issues.conftest import GRID_A
from tests.issues.test_workflow_api import ADMIN, WORKER_A

CITY_TIME = ZoneInfo("Asia/Shanghai")
CATEGORIES = ["road_damage", "environmental_sanitation", "greenery", "illegal_parking"]
DEPARTMENTS = ["transport", "sanitation", "landscaping"]
WORDS = ["井盖松动", "路灯不亮", "垃圾满溢 50%", "占道经营", "50 percent"]
STATUSES = ["reported", "registered", "dispatched", "in_progress", "closed", "suspended"]
CONTACT = "13912345678"


@pytest.fixture
def issues(db_session, city) -> list[tuple[Issue, float, float]]:
    """Sixty issues at random points of the lattice city, with known attributes."""
    rng = random.Random(11)
    now = datetime.now(UTC)
    made = []
    for number in range(60):
        lon = ORIGIN[0] + rng.uniform(0.02, 5.98) * STEP_LON
        lat = ORIGIN[1] + rng.uniform(0.02, 4.98) * STEP_LAT
        submission = IssueSubmission(
            lon=lon, lat=lat, category=rng.choice(CATEGORIES),
            description=f"{rng.choice(WORDS)} #{number}", reporter_contact=CONTACT,
        )  # fmt: skip
        issue = db_session.get(Issue, service.submit(db_session, submission, ANONYMOUS)["id"])
        issue.status = rng.choice(STATUSES)
        issue.priority = rng.choice(["normal", "normal", "urgent"])
        issue.departments = rng.sample(DEPARTMENTS, rng.randint(0, 2))
        issue.created_at = now - timedelta(hours=rng.uniform(0, 24 * 12))
        issue.deadline_at = now + timedelta(hours=rng.uniform(-48, 48))
        if issue.status in ("suspended", "closed"):  # no clock runs (paused, stopped)
            issue.deadline_at = None
        made.append((issue, lon, lat))
    db_session.commit()  # kept when a request of the test fails (its rollback ends there)
    return made


def checks_for(issue: Issue, lon: float, lat: float, now: datetime) -> dict:
    """Each filter's test of one issue, in plain Python."""
    day = issue.created_at.astimezone(CITY_TIME).date()
    overdue = issue.status in OPEN_STATUSES and bool(issue.deadline_at) and issue.deadline_at < now
    return {
        "category": lambda v: issue.category_code == v,
        "grid": lambda v: issue.grid_code == v,
        "district": lambda v: issue.district_code == v,
        "department": lambda v: v == issue.department_code or v in issue.departments,
        "priority": lambda v: issue.priority == v,
        "status": lambda v: issue.status == v,
        "from": lambda v: day >= datetime.fromisoformat(v).date(),
        "to": lambda v: day <= datetime.fromisoformat(v).date(),
        "overdue": lambda v: overdue == (v == "true"),
        "bbox": lambda v: box(*map(float, v.split(","))).intersects(Point(lon, lat)),
        "text": lambda v: v.lower() in issue.description.lower(),
    }


def python_filter(issues, **wanted) -> set[int]:
    """The ids the filters select, computed in plain Python over the created issues."""
    now = datetime.now(UTC)
    kept = set()
    for issue, lon, lat in issues:
        checks = checks_for(issue, lon, lat, now)
        if all(checks[name](value) for name, value in wanted.items()):
            kept.add(issue.id)
    return kept


def listed(client, headers=ADMIN, **params) -> set[int]:
    response = client.get("/api/v1/issues", params={**params, "limit": 1000}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["numberMatched"] == len(body["issues"])
    return {issue["id"] for issue in body["issues"]}


def test_filters_agree_with_an_independent_filter(client, issues) -> None:
    rng = random.Random(5)
    today = datetime.now(CITY_TIME).date()
    west, south = ORIGIN[0] + 1.3 * STEP_LON, ORIGIN[1] + 0.7 * STEP_LAT
    cases = [
        {"category": "road_damage"},
        {"grid": issues[0][0].grid_code},
        {"district": "150699"},
        {"department": "transport"},
        {"priority": "urgent", "status": "dispatched"},
        {"from": str(today - timedelta(days=5)), "to": str(today - timedelta(days=2))},
        {"to": str(today - timedelta(days=7))},
        {"overdue": "true"},
        {"overdue": "false", "department": "sanitation"},
        {"bbox": f"{west},{south},{west + 2.1 * STEP_LON},{south + 2.6 * STEP_LAT}"},
        {"text": "50%"},
        {"text": "路灯", "priority": "normal"},
    ]
    for _ in range(8):  # random combinations of two
        first, second = rng.sample(cases, 2)
        cases.append({**first, **second})
    nonempty = 0
    for wanted in cases:
        expected = python_filter(issues, **wanted)
        assert listed(client, **wanted) == expected, wanted
        nonempty += bool(expected)
    assert nonempty >= len(cases) // 2  # the filters were tried on cases that match
    assert listed(client, headers=WORKER_A, category="road_damage") == {
        i for i in python_filter(issues, category="road_damage")
        if next(x for x, _, _ in issues if x.id == i).grid_code == GRID_A
    }  # fmt: skip


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"grid": "12"}, "grid"),
        ({"district": "abc"}, "district"),
        ({"category": "ufo"}, "category"),
        ({"department": "nobody"}, "department"),
        ({"from": "2026-05-02", "to": "2026-05-01"}, "to"),
        ({"from": "yesterday"}, "from"),
        ({"bbox": "1,2,3"}, "bbox"),
        ({"priority": "high"}, "priority"),
        ({"overdue": "maybe"}, "overdue"),
        ({"format": "xml"}, "format"),
    ],
)
def test_bad_filters_are_named(client, city, params, name) -> None:
    response = client.get("/api/v1/issues", params=params, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"][-1] == name


def test_names_beside_codes_from_the_tables(client, db_session, issues) -> None:
    issue = issues[0][0]
    issue.departments = ["transport", "sanitation"]
    db_session.flush()
    body = client.get(f"/api/v1/issues/{issue.id}", headers=ADMIN).json()
    names = {
        "category": "SELECT name FROM issue_categories WHERE code = :code",
        "department": "SELECT name FROM departments WHERE code = :code",
        **{level: f"SELECT name FROM {table} WHERE code = :code AND valid_to IS NULL"
           for level, table in (("grid", "grids"), ("community", "communities"),
                                ("street", "streets"), ("district", "districts"))},
    }  # fmt: skip
    for field, sql in names.items():
        code = body["category"] if field == "category" else body[f"{field}_code"]
        expected = db_session.execute(text(sql), {"code": code}).scalar_one()
        assert body[f"{field}_name"] == expected, field
    departments = dict(db_session.execute(text("SELECT code, name FROM departments")).all())
    assert body["departments_named"] == [
        {"code": code, "name": departments[code]} for code in body["departments"]
    ]
    assert body["reporter_contact"] == CONTACT  # one issue's answer, to those allowed
    listing = client.get("/api/v1/issues?limit=1000", headers=ADMIN).json()["issues"]
    row = next(item for item in listing if item["id"] == issue.id)
    assert {k: v for k, v in row.items() if k != "events"} == {
        k: v for k, v in body.items() if k not in ("events", "reporter_contact")
    } | {"reporter_contact": None}
    dispatched = [e for item in listing for e in item["events"] if e["action"] == "report"]
    assert all(e["departments"][0]["name"] == departments[e["departments"][0]["code"]]
               for e in dispatched if e["departments"])  # fmt: skip


def count_queries(engine, call) -> int:
    seen = []

    def counted(*_args) -> None:
        seen.append(1)

    event.listen(engine, "before_cursor_execute", counted)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", counted)
    return len(seen)


def test_a_page_costs_the_same_queries_whatever_its_size(client, db_session, issues) -> None:
    engine = db_session.get_bind().engine

    def page(size: int):
        def call() -> None:
            response = client.get(f"/api/v1/issues?limit={size}", headers=ADMIN)
            assert len(response.json()["issues"]) == size

        return call

    small, large = count_queries(engine, page(2)), count_queries(engine, page(60))
    assert small == large and large <= 15


def test_exports_carry_every_match_and_nothing_private(client, issues, monkeypatch) -> None:
    wanted = {"department": "transport"}
    expected = python_filter(issues, **wanted)
    raw = client.get("/api/v1/issues", params={**wanted, "format": "csv"}, headers=ADMIN)
    assert raw.status_code == 200 and raw.headers["content-type"].startswith("text/csv")
    assert raw.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.content.decode("utf-8-sig"))))
    assert {int(row["id"]) for row in rows} == expected
    positions = {issue.id: (lon, lat) for issue, lon, lat in issues}
    by_id = {issue.id: issue for issue, _, _ in issues}
    for row in rows:
        assert row["category_name"] and row["grid_name"] and row["district_name"]
        assert row["priority"] == by_id[int(row["id"])].priority
    geo = client.get("/api/v1/issues", params={**wanted, "format": "geojson"}, headers=ADMIN)
    assert geo.headers["content-type"].startswith("application/geo+json")
    features = geo.json()["features"]
    assert {f["properties"]["id"] for f in features} == expected
    for feature in features:
        lon, lat = positions[feature["properties"]["id"]]
        assert feature["geometry"]["coordinates"] == pytest.approx([lon, lat], abs=1e-9)
    for answer in (raw.content.decode("utf-8-sig"), json.dumps(geo.json(), ensure_ascii=False)):
        assert CONTACT not in answer and "井盖松动" not in answer and "#" not in answer
    listing = client.get("/api/v1/issues?limit=1000", headers=ADMIN).text
    assert CONTACT not in listing
    monkeypatch.setattr(get_settings(), "issue_export_max_rows", len(expected) - 1)
    bounded = client.get("/api/v1/issues", params={**wanted, "format": "csv"}, headers=ADMIN)
    assert bounded.status_code == 422 and "GRIDSVC_ISSUE_EXPORT_MAX_ROWS" in bounded.text
    assert bounded.json()["errors"][0]["loc"] == ["query", "format"]


def test_the_overdue_list_names_what_it_codes(client, issues) -> None:
    overdue = client.get("/api/v1/issues/overdue", headers=ADMIN).json()
    assert {row["id"] for row in overdue} == python_filter(issues, overdue="true")
    listing = {
        i["id"]: i for i in client.get("/api/v1/issues?limit=1000", headers=ADMIN).json()["issues"]
    }
    for row in overdue:
        same = listing[row["id"]]
        for field in (
            "category_name",
            "grid_name",
            "district_name",
            "departments_named",
            "priority",
        ):
            assert row[field] == same[field], field
