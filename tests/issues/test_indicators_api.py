"""The command centre's indicators, each recomputed here from the raw event rows.

A scenario of cases driven through the workflow (on time, late, sent back, extended,
escalated, whistled, rejected, reopened, suspended, rated) at known local times; the answer
of ``GET /api/v1/stats/indicators`` is compared with a plain-Python count over
``issue_events``, for every group, period and role.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date, datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import select

from gridsvc.auth.roles import Role
from gridsvc.auth.tokens import ANONYMOUS, Principal
from gridsvc.issues import actions, service
from gridsvc.issues.catalog.calendar import SHANGHAI
from gridsvc.issues.models import Issue, IssueEvent
from gridsvc.issues.schemas import ActionRequest, IssueSubmission
from tests.factories import ORIGIN, STEP_LAT, STEP_LON
from tests.issues.conftest import GRID_A, bearer
from tests.issues.test_deadlines_service import DEPARTMENT, SUPERVISOR, WORKER, at

NORTH_GRID = "150699002001001"  # first cell of street 002 (row 3 of the lattice)
NORTH_WORKER = Principal(role=Role.GRID_WORKER, subject="w-north", grids=(NORTH_GRID,))
SANITATION = Principal(role=Role.DEPARTMENT, subject="s", department="sanitation")
REPORTER = Principal(role=Role.REPORTER, subject="anonymous")
ADMIN = bearer("admin")
URL = "/api/v1/stats/indicators"

# Independent of the code under test: the actions that are no step of the handling.
NOT_STEPS = {"escalate", "rate", "extend", "request_extension"}
OPEN = {"unrouted", "reported", "registered", "dispatched", "in_progress", "resolved"}
OPEN |= {"verified", "suspended"}


def report(session, moment: datetime, north: bool = False, category="road_damage") -> int:
    column, row = (0.5, 3.5) if north else (0.5, 0.5)
    body = IssueSubmission(
        lon=ORIGIN[0] + STEP_LON * column,
        lat=ORIGIN[1] + STEP_LAT * row,
        category=category,
        description="坑",
    )
    return service.submit(session, body, ANONYMOUS, now=moment)["id"]


def steps(session, issue_id: int, start: datetime, gap: timedelta, *plan) -> datetime:
    """Take each (principal, action[, fields]) of ``plan``, ``gap`` apart; return the last time."""
    moment = start
    for principal, action, *fields in plan:
        moment += gap
        fields = dict(fields[0]) if fields else {}
        if action in actions.NEEDS_REASON:
            fields.setdefault("note", "理由")
        request = ActionRequest(action=action, **fields)
        actions.act(session, principal, issue_id, request, moment, by_secret=principal is REPORTER)
    return moment


def handle(worker=WORKER, department=DEPARTMENT) -> list[tuple]:
    return [
        (worker, "register"),
        (worker, "dispatch"),
        (department, "accept"),
        (department, "resolve"),
        (worker, "verify"),
        (SUPERVISOR, "close"),
    ]


def scenario(session) -> None:
    """Cases in November 2025 (and two either side of the month's end, local time)."""
    quick, slow = timedelta(minutes=30), timedelta(days=6)
    day = at("2025-11-03", "09:00")  # a Monday
    on_time = report(session, day)
    steps(session, on_time, day, quick, *handle(), (REPORTER, "rate", {"rating": 5}))
    late = report(session, day)
    steps(session, late, day, slow, *handle(), (REPORTER, "rate", {"rating": 2}))
    sent_back = report(session, day + timedelta(days=1))
    plan = handle()[:4] + [(WORKER, "send_back"), (DEPARTMENT, "resolve")] + handle()[4:]
    steps(session, sent_back, day + timedelta(days=1), quick, *plan)
    steps(session, sent_back, day + timedelta(days=2), quick, (REPORTER, "rate", {"rating": 4}))
    extended = report(session, day + timedelta(days=2))
    plan = [*handle()[:3], (DEPARTMENT, "request_extension", {"extension": "2d"})]
    plan += [(SUPERVISOR, "extend"), *handle()[3:]]
    steps(session, extended, day + timedelta(days=2), quick, *plan)
    escalated = report(session, at("2025-11-10", "10:00"))
    actions.escalate_overdue(session, at("2025-11-14", "10:00"))
    steps(session, escalated, at("2025-11-14", "11:00"), quick, *handle())
    rejected = report(session, at("2025-11-11", "09:00"), north=True)
    steps(session, rejected, at("2025-11-11", "09:00"), quick, (NORTH_WORKER, "reject"))
    reopened = report(session, at("2025-11-12", "09:00"), north=True)
    plan = [*handle(NORTH_WORKER), (SUPERVISOR, "reopen")]
    steps(session, reopened, at("2025-11-12", "09:00"), quick, *plan)
    by_grid = report(session, at("2025-11-13", "09:00"), north=True)
    plan = [(NORTH_WORKER, "register"), (NORTH_WORKER, "accept"), (NORTH_WORKER, "resolve")]
    plan += [(NORTH_WORKER, "verify"), (SUPERVISOR, "close")]
    steps(session, by_grid, at("2025-11-13", "09:00"), quick, *plan)
    whistled = report(session, at("2025-11-17", "09:00"))
    plan = [(WORKER, "register"), (WORKER, "whistle", {"departments": ["sanitation"]})]
    plan += [(SANITATION, "accept"), (SANITATION, "resolve"), (WORKER, "verify")]
    steps(session, whistled, at("2025-11-17", "09:00"), quick, *plan, (SUPERVISOR, "close"))
    suspended = report(session, at("2025-11-18", "09:00"))
    steps(session, suspended, at("2025-11-18", "09:00"), quick, *handle()[:1])
    steps(session, suspended, at("2025-11-18", "10:00"), quick, (SUPERVISOR, "suspend"))
    report(session, at("2025-11-19", "09:00"), category="environmental_sanitation")  # never touched
    # Rejected a day late, reopened, then registered at once: the first answer was late.
    late_reply = report(session, at("2025-11-20", "09:00"), north=True)
    plan = [(NORTH_WORKER, "reject"), (SUPERVISOR, "reopen")]
    moment = steps(session, late_reply, at("2025-11-20", "09:00"), timedelta(days=1), *plan)
    steps(session, late_reply, moment, timedelta(minutes=10), (NORTH_WORKER, "register"))
    # Either side of local midnight at the month's end: 15:30 and 16:10 UTC on 30 Nov.
    last = report(session, datetime(2025, 11, 30, 23, 30, tzinfo=SHANGHAI))
    steps(session, last, at("2025-12-01", "09:00"), quick, (WORKER, "register"))
    report(session, datetime(2025, 12, 1, 0, 10, tzinfo=SHANGHAI))
    session.flush()


def expected_counts(session, now: datetime, group_of, start: date, end: date, keep=None):
    """Count every indicator's numerator and denominator from the event rows, in Python."""
    events = defaultdict(list)
    for event in session.scalars(select(IssueEvent).order_by(IssueEvent.id)):
        events[event.issue_id].append(event)
    rows: dict[tuple, dict] = {}
    for issue in session.scalars(select(Issue)):
        history = sorted(events[issue.id], key=lambda e: (e.created_at, e.id))
        local_day = history[0].created_at.astimezone(SHANGHAI).date()
        if not start <= local_day <= end or (keep and not keep(issue, history)):
            continue
        flags = case_flags(history, now)
        for code in group_of(issue, history):
            row = rows.setdefault((local_day.replace(day=1), code), defaultdict(float, reports=0))
            for key, value in flags.items():
                row[key] += value
    return rows


def case_flags(history: list[IssueEvent], now: datetime) -> dict[str, float]:
    actions = [event.action for event in history]
    last = history[-1]
    registered = "register" in actions
    closed = last.to_status == "closed"
    overdue = last.to_status in OPEN - {"suspended"} and last.deadline_at and last.deadline_at < now
    due = registered and (closed or bool(overdue))
    late = any(
        e.action not in NOT_STEPS and p.deadline_at and e.created_at > p.deadline_at
        for p, e in zip(history, history[1:], strict=False)
    )
    responses = [i for i, e in enumerate(history) if e.action in ("register", "reject")]
    on_time_response = bool(responses) and (
        history[responses[0] - 1].deadline_at is None
        or history[responses[0]].created_at <= history[responses[0] - 1].deadline_at
    )
    ratings = [e.details["rating"] for e in history if e.action == "rate"]
    escalated = "escalate" in actions
    first_register = next((e.created_at for e in history if e.action == "register"), None)
    dispatched = any(
        e.action in ("dispatch", "whistle")
        or (e.action == "accept" and e.from_status == "registered")
        for e in history
    )
    return {
        "reports": 1,
        "registered": registered,
        "dispatched": registered and dispatched,
        "due": due,
        "closed": closed,
        "closed_on_time": closed and not late,
        "reworked": due and bool({"send_back", "reopen"} & set(actions)),
        "extended": due and "extend" in actions,
        "resolved": closed and "reopen" not in actions,
        "responded_on_time": on_time_response,
        "rated": closed and bool(ratings),
        "satisfied": closed and bool(ratings) and ratings[-1] >= 4,
        "escalated": escalated,
        "escalated_closed": escalated and closed,
        "hours_to_register": (
            (first_register - history[0].created_at).total_seconds() / 3600 if first_register else 0
        ),
    }


def departments_of(issue: Issue, history: list[IssueEvent]) -> set[str]:
    named = set()
    for event in history:
        details = event.details or {}
        named |= {details["department_code"]} if details.get("department_code") else set()
        named |= set(details.get("departments") or [])
    return named or {"(none)"}


def check_rows(answer: list[dict], expected: dict[tuple, dict]) -> None:
    """Every answered row equals the independent count, and nothing is missing."""
    got = {
        (date.fromisoformat(row["period_start"]).replace(day=1), row["code"]): row for row in answer
    }
    assert set(got) == set(expected)
    for key, counts in expected.items():
        row = got[key]
        for name, value in counts.items():
            assert row["counts"][name] == pytest.approx(value, abs=0.01), (key, name)
        for figure in row["indicators"].values():
            numerator, denominator = figure["numerator"], figure["denominator"]
            want = round(numerator / denominator, 4) if denominator else None
            assert figure["value"] == pytest.approx(want, abs=0.01), (key, figure)


@pytest.fixture
def cases(db_session, city):
    scenario(db_session)
    return db_session


NOVEMBER = "from=2025-11-01&to=2025-11-30"


@pytest.mark.parametrize("by", ["district", "street", "community", "grid", "category"])
def test_every_indicator_by_area_matches_the_events(client, cases, by) -> None:
    response = client.get(f"{URL}?{NOVEMBER}&by={by}&period=month", headers=ADMIN)
    assert response.status_code == 200, response.text
    body = response.json()
    now = datetime.fromisoformat(body["counted_at"])
    code = "category_code" if by == "category" else f"{by}_code"
    expected = expected_counts(
        cases, now, lambda issue, _: {getattr(issue, code)}, date(2025, 11, 1), date(2025, 11, 30)
    )
    check_rows(body["rows"], expected)
    if by == "district":
        (row,) = body["rows"]
        assert row["name"] and row["period_start"] == "2025-11-01"
        counts = row["counts"]
        # The scenario reaches every count the indicators divide.
        assert all(counts[key] > 0 for key in counts), counts
        assert counts["reports"] == 13 and counts["due"] < counts["registered"]


def test_by_department_and_grid_worker_count_everyone_involved(client, cases) -> None:
    start, end = date(2025, 11, 1), date(2025, 11, 30)
    body = client.get(f"{URL}?{NOVEMBER}&by=department", headers=ADMIN).json()
    now = datetime.fromisoformat(body["counted_at"])
    check_rows(body["rows"], expected_counts(cases, now, departments_of, start, end))
    assert {row["code"]: row["name"] for row in body["rows"]}.keys() >= {"transport", "sanitation"}
    body = client.get(f"{URL}?{NOVEMBER}&by=grid_worker", headers=ADMIN).json()

    def workers(issue, history):
        return {e.actor for e in history if e.actor_role == "grid_worker"} or {"(none)"}

    check_rows(body["rows"], expected_counts(cases, now, workers, start, end))


def test_local_days_and_periods(client, cases) -> None:
    last_day = client.get(f"{URL}?from=2025-11-30&to=2025-11-30&period=day", headers=ADMIN)
    (row,) = last_day.json()["rows"]
    assert row["period_start"] == "2025-11-30" and row["counts"]["reports"] == 1
    first_day = client.get(f"{URL}?from=2025-12-01&to=2025-12-01&period=day", headers=ADMIN)
    (row,) = first_day.json()["rows"]
    assert row["period_start"] == "2025-12-01" and row["counts"]["reports"] == 1
    query = "from=2025-11-04&to=2025-11-30&period=week"
    weeks = client.get(f"{URL}?{query}", headers=ADMIN).json()["rows"]
    # ISO weeks start on Monday; the first row starts at 'from' (a Tuesday).
    starts = ["2025-11-04", "2025-11-10", "2025-11-17", "2025-11-24"]
    assert [row["period_start"] for row in weeks] == starts
    assert sum(row["counts"]["reports"] for row in weeks) == 13 - 2  # two on Monday 3rd
    year = client.get(f"{URL}?from=2025-01-01&to=2025-12-31&period=year", headers=ADMIN).json()
    assert [r["counts"]["reports"] for r in year["rows"]] == [14]


@pytest.mark.parametrize(
    ("token", "keep", "only"),
    [
        (bearer("department", "d", department="transport"), "transport", "transport"),
        (bearer("department", "s", department="sanitation"), "sanitation", "sanitation"),
        (bearer("grid_worker", "w", grids=(GRID_A,)), GRID_A, "w"),
        (bearer("grid_worker", "w-north", grids=(NORTH_GRID,)), NORTH_GRID, "w-north"),
        (bearer("supervisor", "c", district="150699"), None, None),
        (bearer("supervisor", "o", district="150602"), "nothing", None),
    ],
)
def test_each_role_sees_its_own_figures(client, cases, token, keep, only) -> None:
    start, end = date(2025, 11, 1), date(2025, 11, 30)

    def mine(issue, history):
        if keep is None:
            return True
        return issue.grid_code == keep or keep in departments_of(issue, history)

    body = client.get(f"{URL}?{NOVEMBER}&by=street", headers=token).json()
    now = datetime.fromisoformat(body["counted_at"])
    expected = expected_counts(cases, now, lambda i, _: {i.street_code}, start, end, mine)
    check_rows(body["rows"], expected)
    assert (body["rows"] == []) is (keep == "nothing")
    if only is not None:
        by = "grid_worker" if only.startswith("w") else "department"
        rows = client.get(f"{URL}?{NOVEMBER}&by={by}", headers=token).json()["rows"]
        assert {row["code"] for row in rows} == {only}


def test_reporters_are_refused(client, cases) -> None:
    assert client.get(URL).status_code == 401
    assert client.get(URL, headers=bearer("reporter", "someone")).status_code == 403


def test_csv_has_a_bom_and_the_same_figures(client, cases) -> None:
    answer = client.get(f"{URL}?{NOVEMBER}&by=community", headers=ADMIN).json()
    response = client.get(f"{URL}?{NOVEMBER}&by=community&format=csv", headers=ADMIN)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(table) == len(answer["rows"]) == 2
    for line, row in zip(table, answer["rows"], strict=True):
        assert (line["code"], line["name"]) == (row["code"], row["name"])
        for key, figure in row["indicators"].items():
            assert float(line[f"{key}_numerator"]) == figure["numerator"]
            assert float(line[f"{key}_denominator"]) == figure["denominator"]
            assert (line[key] or None) == (
                None if figure["value"] is None else str(figure["value"])
            )


def test_xlsx_reads_back(client, cases) -> None:
    answer = client.get(f"{URL}?{NOVEMBER}&by=category", headers=ADMIN).json()
    response = client.get(f"{URL}?{NOVEMBER}&by=category&format=xlsx", headers=ADMIN)
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book["指标"]
    labels, keys, *lines = list(sheet.iter_rows(min_row=2, values_only=True))
    assert labels[:4] == ("期间起", "代码", "名称", "立案率")
    assert len(lines) == len(answer["rows"])
    for line, row in zip(lines, answer["rows"], strict=True):
        record = dict(zip(keys, line, strict=True))
        assert (record["code"], record["name"]) == (row["code"], row["name"])
        for key, figure in row["indicators"].items():
            assert record[key] == figure["value"]
            assert record[f"{key}_denominator"] == figure["denominator"]
    formulas = {line[1]: line[2] for line in book["说明"].iter_rows(values_only=True)}
    assert formulas["closing_rate"] == "结案数 / 应结案数"


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("from=2025-11-30&to=2025-11-01", "to"),
        ("from=2000-01-01&to=2025-11-01", "to"),
        ("from=2025-13-01", "from"),
        ("by=planet", "by"),
        ("period=fortnight", "period"),
        ("format=pdf", "format"),
        ("colour=red", "colour"),
    ],
)
def test_bad_parameters_are_named(client, city, query, name) -> None:
    response = client.get(f"{URL}?{query}", headers=ADMIN)
    assert response.status_code == 422, response.text
    assert name in response.json()["detail"]


def test_a_deadline_still_to_come_is_not_due(db_session, city) -> None:
    from gridsvc.issues.indicators import service as indicator_service

    start = at("2025-11-03", "09:00")
    issue_id = report(db_session, start)
    steps(db_session, issue_id, start, timedelta(minutes=10), *handle()[:3])
    admin = Principal(role=Role.ADMIN, subject="admin")
    day = date(2025, 11, 3)

    def counts(now):
        rows = indicator_service.indicator_rows(db_session, admin, day, day, "district", "day", now)
        return rows[0]["counts"]

    issue = db_session.get(Issue, issue_id)
    assert counts(issue.deadline_at - timedelta(minutes=1))["due"] == 0
    assert counts(issue.deadline_at + timedelta(minutes=1))["due"] == 1


def test_league_table_ranks_what_the_indicators_say(client, cases) -> None:
    from gridsvc.issues.indicators import league

    response = client.get(f"/api/v1/stats/league?{NOVEMBER}&by=department", headers=ADMIN)
    assert response.status_code == 200, response.text
    body = response.json()
    sheet = league.load_league()
    assert body["total_points"] == sheet.total_points and body["min_reports"] == sheet.min_reports
    year = client.get(f"{URL}?{NOVEMBER}&by=department&period=year", headers=ADMIN).json()
    figures = {row["code"]: row["indicators"] for row in year["rows"]}
    assert {row["code"] for row in body["rows"]} == set(figures)
    for row in body["rows"]:
        assert row["indicators"] == figures[row["code"]]
        earned = {
            w.indicator: w.points * (value if w.better == "higher" else 1 - value)
            for w in sheet.weights
            if (value := row["indicators"][w.indicator]["value"]) is not None
        }
        counted = sum(w.points for w in sheet.weights if w.indicator in earned)
        assert row["score"] == pytest.approx(sum(earned.values()) * 100 / counted, abs=0.02)
        assert row["ranked"] is (row["counts"]["reports"] >= sheet.min_reports)
    assert {row["ranked"] for row in body["rows"]} == {True, False}  # sanitation: 2 reports
    transport = bearer("department", "d", department="transport")
    assert client.get("/api/v1/stats/league", headers=transport).status_code == 403


@pytest.mark.parametrize(
    "query", ["from=0001-01-01&to=0001-01-02", "from=9999-12-30&to=9999-12-31"]
)
def test_the_ends_of_the_calendar(client, city, query) -> None:
    for path in (URL, "/api/v1/stats/league", "/api/v1/stats/hotspots"):
        response = client.get(f"{path}?{query}", headers=ADMIN)
        assert response.status_code == 422, (path, response.text)
        assert "1900-01-01" in response.json()["detail"]
