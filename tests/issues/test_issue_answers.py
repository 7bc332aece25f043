"""Issue answers built by the schemas: one shape for a submission first and replayed, and
a fixed number of queries for a page or one issue, whatever its size or history."""

from __future__ import annotations

from geoalchemy2.shape import to_shape
from sqlalchemy import func, select

from gridsvc.auth.tokens import ANONYMOUS
from gridsvc.issues import service
from gridsvc.issues.models import Issue, IssueEvent
from gridsvc.issues.schemas import IssueCreated, IssueSubmission
from tests.factories import ORIGIN, STEP_LAT, STEP_LON
from tests.issues.test_issue_list_api import count_queries
from tests.issues.test_workflow_api import ADMIN, TRANSPORT, WORKER_A, act, submit

REPORT = {"lon": ORIGIN[0] + STEP_LON * 0.5, "lat": ORIGIN[1] + STEP_LAT * 0.5,
          "category": "road_damage", "description": "井盖缺失"}  # fmt: skip


def test_plain_first_and_replayed_submissions_answer_in_one_shape(client, city) -> None:
    plain = client.post("/api/v1/issues", json=REPORT)
    key = {"Idempotency-Key": "answers-shape-1"}
    first = client.post("/api/v1/issues", json=REPORT, headers=key)
    replayed = client.post("/api/v1/issues", json=REPORT, headers=key)
    assert plain.status_code == first.status_code == replayed.status_code == 201
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.content == first.content  # byte for byte
    fields = set(IssueCreated.model_fields)
    assert set(plain.json()) == set(first.json()) == fields
    for name in fields - {"id", "public_id", "secret", "created_at", "deadline", "duplicates"}:
        assert plain.json()[name] == first.json()[name], name
    # Nothing private of the reporter in the answer: only the secret, once, to its holder.
    assert not {"description", "reporter_contact"} & set(plain.json())


def make_issues(session, count: int) -> None:
    for number in range(count):
        lon = ORIGIN[0] + STEP_LON * (0.1 + (number % 50) * 0.1)
        lat = ORIGIN[1] + STEP_LAT * (0.1 + (number // 50) * 0.5)
        submission = IssueSubmission(
            lon=lon, lat=lat, category="road_damage", description=f"坑 #{number}",
            reporter_contact="13912345678",
        )  # fmt: skip
        service.submit(session, submission, ANONYMOUS)
    session.commit()


def test_a_page_of_10_costs_as_many_queries_as_a_page_of_100(client, db_session, city) -> None:
    make_issues(db_session, 100)
    engine = db_session.get_bind().engine
    pages = {}

    def page(size: int):
        def call() -> None:
            pages[size] = client.get(f"/api/v1/issues?limit={size}", headers=ADMIN).json()

        return call

    small, large = count_queries(engine, page(10)), count_queries(engine, page(100))
    assert len(pages[10]["issues"]) == 10 and len(pages[100]["issues"]) == 100
    assert small == large and large <= 12
    # The rows read in bulk say what the tables say, one issue at a time.
    for answer in pages[100]["issues"]:
        issue = db_session.get(Issue, answer["id"])
        point = to_shape(issue.geom)
        assert (answer["lon"], answer["lat"]) == (point.x, point.y)
        stored = db_session.scalar(
            select(func.count()).select_from(IssueEvent).where(IssueEvent.issue_id == issue.id)
        )
        assert len(answer["events"]) == stored and answer["reporter_contact"] is None


def test_one_issue_costs_the_same_queries_however_long_its_history(client, db_session, city):
    engine = db_session.get_bind().engine
    short, long = submit(client)["id"], submit(client)["id"]
    act(client, long, WORKER_A, "register")
    act(client, long, WORKER_A, "dispatch")
    act(client, long, TRANSPORT, "accept")
    answers = {}

    def read(issue_id: int):
        def call() -> None:
            answers[issue_id] = client.get(f"/api/v1/issues/{issue_id}", headers=WORKER_A).json()

        return call

    assert count_queries(engine, read(short)) == count_queries(engine, read(long))
    assert [event["action"] for event in answers[long]["events"]] == [
        "report", "register", "dispatch", "accept",
    ]  # fmt: skip
    assert len(answers[short]["events"]) == 1
