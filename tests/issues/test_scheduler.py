"""The scheduler: bulletins issued once per period and scope, kept as issued; the lock.

Jobs run on sessions of the test's own connection (savepoints), so what they commit is
rolled back with the test; a second connection plays the other worker holding a lock.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from pydantic import ValidationError
from pypdf import PageObject, PdfReader
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from gridsvc.config import Settings, crontab_days, get_settings
from gridsvc.issues import scheduler
from gridsvc.issues.bulletins import archive as bulletin_archive
from gridsvc.issues.bulletins import document as bulletin
from gridsvc.issues.bulletins import figures as bulletin_figures
from gridsvc.issues.catalog.calendar import SHANGHAI
from gridsvc.issues.models import Issue, IssuedBulletin
from tests.issues.conftest import bearer
from tests.issues.indicator_cases import report, scenario
from tests.issues.test_deadlines_service import at
from tests.issues.test_notifications import receivers  # noqa: F401 - a fixture

ADMIN = bearer("admin")
MONDAY = datetime(2025, 12, 1, 9, 0, tzinfo=SHANGHAI)  # after November and its last week


@pytest.fixture
def factory(db_session: Session, monkeypatch) -> Iterator[sessionmaker[Session]]:
    """Sessions on the test's connection; bulletins of week and month, city and 150699."""
    monkeypatch.setenv("GRIDSVC_BULLETIN_PERIODS", "week,month")
    monkeypatch.setenv("GRIDSVC_BULLETIN_DISTRICTS", "150699")
    get_settings.cache_clear()
    yield sessionmaker(
        bind=db_session.connection(), join_transaction_mode="create_savepoint",
        expire_on_commit=False,
    )  # fmt: skip
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def cases(db_session, city):
    scenario(db_session)
    db_session.flush()
    return db_session


@contextmanager
def lock_elsewhere(engine, key: str) -> Iterator[None]:
    """Hold the advisory lock on ``key`` on another connection, as another worker would."""
    with engine.connect() as other:
        other.execute(text("SELECT pg_advisory_lock(hashtextextended(:key, 0))"), {"key": key})
        try:
            yield
        finally:  # a pooled connection keeps its session locks: let go before returning it
            other.execute(text("SELECT pg_advisory_unlock_all()"))


def test_due_bulletins_are_issued_once_and_kept_as_issued(cases, factory, receivers) -> None:  # noqa: F811
    hooks, mails = receivers
    issued = bulletin_archive.issue_due(factory, MONDAY)
    assert sorted((row["period"], row["from"], row["district_code"] or "") for row in issued) == [
        ("month", "2025-11-01", ""), ("month", "2025-11-01", "150699"),
        ("week", "2025-11-24", ""), ("week", "2025-11-24", "150699"),
    ]  # fmt: skip
    stored = cases.scalars(select(IssuedBulletin).where(IssuedBulletin.period == "month")).all()
    for row in stored:
        figures = bulletin_figures.bulletin_figures(
            cases, bulletin_archive.CENTRE, "month", row.start_date, row.district_code or None,
            MONDAY,
        )  # fmt: skip
        assert row.html == bulletin.render_html(figures)  # the bulletin of that moment
        assert row.csv == bulletin_figures.bulletin_csv(figures)
        assert row.title.endswith("2025年11月通报")
    assert {m["title"] for hook in hooks for m in hook["notifications"]} == {
        row["title"] for row in issued
    }
    assert "通报" in mails[0]["Subject"] and "/api/v1/bulletins/issued/" in mails[0].get_content()
    assert bulletin_archive.issue_due(factory, MONDAY + timedelta(hours=5)) == []  # once
    # The cases move on; what was issued stays as it went out.
    first = cases.scalars(select(Issue)).first()
    first.status = "closed"
    cases.flush()
    before = {row.id: row.html for row in stored}
    bulletin_archive.issue_due(factory, MONDAY + timedelta(days=1))
    cases.expire_all()
    assert {row_id: cases.get(IssuedBulletin, row_id).html for row_id in before} == before
    a_week_later = bulletin_archive.issue_due(factory, MONDAY + timedelta(days=7))
    assert {(row["period"], row["from"]) for row in a_week_later} == {("week", "2025-12-01")}


def test_a_bulletin_another_worker_is_issuing_is_left_to_it(cases, factory, engine) -> None:
    month_key = bulletin_archive.DueBulletin("month", MONDAY.date() - timedelta(days=1), "")
    with lock_elsewhere(engine, month_key.lock_key):
        issued = bulletin_archive.issue_due(factory, MONDAY)
    assert len(issued) == 3 and ("month", None) not in {
        (row["period"], row["district_code"]) for row in issued
    }
    (left,) = bulletin_archive.issue_due(factory, MONDAY)  # the lock is gone: issued now
    assert (left["period"], left["district_code"]) == ("month", None)


def test_escalation_runs_in_one_worker_at_a_time(db_session, city, factory, engine) -> None:
    start = at("2025-11-03", "09:00")
    overdue = report(db_session, start)
    db_session.flush()
    with lock_elsewhere(engine, "gridsvc:escalate"):
        skipped = scheduler.escalate(factory, start + timedelta(days=3))
    assert skipped == {"job": "escalate", "ran": False, "escalated": []}
    ran = scheduler.escalate(factory, start + timedelta(days=3))
    public_id = db_session.get(Issue, overdue).public_id
    assert ran == {"job": "escalate", "ran": True, "escalated": [public_id]}
    assert scheduler.escalate(factory, start + timedelta(days=4))["escalated"] == []
    assert scheduler.summary(ran) == "1 case(s) escalated"


def test_the_scheduler_runs_its_jobs_in_the_city_time(db_session, city, factory) -> None:
    settings = Settings(escalate_schedule="*/15 * * * *", bulletin_schedule="0 8 * * 1")
    jobs = scheduler.build(factory, settings)
    assert {job.id for job in jobs.get_jobs()} == {"escalate", "bulletins", "bulletins-at-start"}
    runs = scheduler.next_runs(settings, datetime(2025, 12, 2, 23, 50, tzinfo=SHANGHAI))
    assert runs["escalate"] == datetime(2025, 12, 3, 0, 0, tzinfo=SHANGHAI)
    assert runs["bulletins"] == datetime(2025, 12, 8, 8, 0, tzinfo=SHANGHAI)  # Monday 08:00
    overdue = report(db_session, datetime.now(SHANGHAI) - timedelta(days=20))
    db_session.flush()
    done = threading.Event()  # the connection is the test's: not used from two threads at once
    jobs.add_listener(lambda event: done.set(), EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    jobs.start()
    try:
        jobs.get_job("escalate").modify(next_run_time=datetime.now(SHANGHAI))
        assert done.wait(20)
    finally:
        jobs.shutdown()
    db_session.expire_all()
    assert db_session.get(Issue, overdue).escalated_at is not None  # run by the scheduler


@pytest.mark.parametrize(
    ("field", "days"),
    [("1", "mon"), ("0", "sun"), ("7", "sun"), ("1-5", "mon,tue,wed,thu,fri"),
     ("*/2", "sun,tue,thu,sat"), ("5-7", "sun,fri,sat"), ("mon-fri", "mon-fri"), ("*", "*")],
)  # fmt: skip
def test_crontab_days_read_as_cron_reads_them(field, days) -> None:
    assert crontab_days(field) == days


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("escalate_schedule", "every 15 minutes"),
        ("bulletin_schedule", "0 25 * * *"),
        ("bulletin_periods", "week,fortnight"),
        ("bulletin_districts", "150602,east"),
        ("bulletin_schedule", "0 8 * * 8"),
        ("escalate_schedule", "0 8 * *"),
    ],
)
def test_a_wrong_schedule_setting_fails_at_start(name, value) -> None:
    with pytest.raises(ValidationError, match=name):
        Settings(**{name: value})


def test_the_app_starts_and_stops_its_scheduler(monkeypatch) -> None:
    from fastapi.testclient import TestClient

    from gridsvc.main import create_app

    monkeypatch.setenv("GRIDSVC_SCHEDULER", "true")
    get_settings.cache_clear()
    try:
        app = create_app()
        with TestClient(app):
            assert app.state.scheduler.running
            assert {job.id for job in app.state.scheduler.get_jobs()} >= {"escalate", "bulletins"}
        assert not app.state.scheduler.running
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def pdf_text(document: bytes) -> tuple[list[PageObject], str]:
    """Return a PDF's pages and its text without white space (CJK extraction spaces it)."""
    pages = PdfReader(io.BytesIO(document)).pages
    return list(pages), "".join("".join(page.extract_text().split()) for page in pages)


def test_issued_bulletins_are_listed_and_served_in_scope(client, cases, factory, chromium) -> None:
    bulletin_archive.issue_due(factory, MONDAY)
    listing = client.get("/api/v1/bulletins", headers=ADMIN)
    assert listing.status_code == 200, listing.text
    body = listing.json()
    assert body["numberMatched"] == 4 and [row["from"] for row in body["bulletins"]] == [
        "2025-11-24", "2025-11-24", "2025-11-01", "2025-11-01",
    ]  # fmt: skip
    month = client.get("/api/v1/bulletins?period=month", headers=ADMIN).json()["bulletins"]
    city = next(row for row in month if row["district_code"] is None)
    stored = cases.get(IssuedBulletin, city["id"])
    page = client.get(city["links"]["html"], headers=ADMIN)
    assert page.status_code == 200 and page.text == stored.html
    table = client.get(city["links"]["csv"], headers=ADMIN)
    assert table.content == stored.csv and table.content.startswith(b"\xef\xbb\xbf")
    printed = client.get(city["links"]["pdf"], headers=ADMIN)
    assert printed.status_code == 200 and printed.headers["content-type"] == "application/pdf"
    pages, words = pdf_text(printed.content)
    width, height = float(pages[0].mediabox.width), float(pages[0].mediabox.height)
    assert (round(width), round(height)) == (842, 595)  # A4 landscape, in points
    assert stored.title in words and "一、总体情况" in words
    own = bearer("supervisor", "c", district="150699")
    theirs = client.get("/api/v1/bulletins", headers=own).json()
    assert {row["district_code"] for row in theirs["bulletins"]} == {"150699"}
    refused = client.get(city["links"]["html"], headers=own)
    assert refused.status_code == 403 and "150699" in refused.json()["detail"]
    assert client.get("/api/v1/bulletins/issued/999999", headers=ADMIN).status_code == 404
    worker = bearer("grid_worker", "w", grids=("150699001001001",))
    assert client.get("/api/v1/bulletins", headers=worker).status_code == 403
    unknown = client.get("/api/v1/bulletins?periode=month", headers=ADMIN)
    assert unknown.status_code == 422 and "periode" in unknown.json()["detail"]


def test_the_live_bulletin_prints_to_pdf(client, cases, chromium) -> None:
    response = client.get("/api/v1/bulletins/month?date=2025-11-15&format=pdf", headers=ADMIN)
    assert response.status_code == 200, response.text
    assert 'filename="bulletin-month-2025-11-01.pdf"' in response.headers["content-disposition"]
    _, words = pdf_text(response.content)
    assert "全市网格化管理2025年11月通报" in words and "五、超期案件(逐一销号)" in words


def test_no_chromium_is_a_503_that_says_so(client, cases, monkeypatch) -> None:
    monkeypatch.setenv("GRIDSVC_CHROMIUM", "/nowhere/chromium")
    response = client.get("/api/v1/bulletins/month?date=2025-11-15&format=pdf", headers=ADMIN)
    assert response.status_code == 503 and "chromium" in response.json()["detail"]
