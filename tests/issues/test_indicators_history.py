"""Every indicator over a generated history: hundreds of cases, random paths, three months.

Each case takes a random path through the real workflow (on time or late, sent back,
extended, escalated, whistled, reopened, rejected, suspended, rated) at random local times;
the answer is compared with the plain-Python count over the event rows.
"""

from __future__ import annotations

import os
import random
from datetime import date, datetime, timedelta

from gridsvc.issues import actions
from gridsvc.issues.catalog.calendar import SHANGHAI
from tests.conftest import engine_of_its_own
from tests.issues.indicator_cases import (
    ADMIN,
    NORTH_WORKER,
    REPORTER,
    SANITATION,
    URL,
    check_rows,
    departments_of,
    expected_counts,
    report,
    steps,
)
from tests.issues.test_deadlines_service import DEPARTMENT, SUPERVISOR, WORKER

CASES = int(os.environ.get("GRIDSVC_TEST_HISTORY_CASES", "300"))
# Its counts scan every issue: over a database holding only this history, not other
# modules' committed rows.
engine = engine_of_its_own("history")


def random_path(generator: random.Random, north: bool) -> list[tuple]:
    """A plausible path of (principal, action[, fields]) for one case."""
    worker = NORTH_WORKER if north else WORKER
    if generator.random() < 0.08:
        return [(worker, "reject")]
    path: list[tuple] = [(worker, "register")]
    if generator.random() < 0.1:
        return path  # waits for dispatch
    if generator.random() < 0.15:
        path += [(worker, "accept")]  # the grid handles it itself
        handler = worker
    else:
        path += [(worker, "dispatch"), (DEPARTMENT, "accept")]
        handler = DEPARTMENT
        if generator.random() < 0.15:
            path += [(worker, "whistle", {"departments": ["sanitation"]}), (DEPARTMENT, "accept")]
            path += [(SANITATION, "sign_in"), (SANITATION, "report_part")]
    if generator.random() < 0.15:
        path += [(handler, "request_extension", {"extension": "1d"}), (SUPERVISOR, "extend")]
    if generator.random() < 0.05:
        return [*path, (SUPERVISOR, "suspend")]
    if generator.random() < 0.1:
        return path  # still being handled
    path += [(handler, "resolve")]
    if generator.random() < 0.15:
        path += [(worker, "send_back"), (handler, "resolve")]
    path += [(worker, "verify"), (SUPERVISOR, "close")]
    if generator.random() < 0.6:
        path += [(REPORTER, "rate", {"rating": generator.randint(1, 5)})]
    if generator.random() < 0.08:
        path += [(SUPERVISOR, "reopen")]
    return path


def test_every_indicator_over_a_generated_history(client, db_session, city) -> None:
    generator = random.Random(11)
    first = datetime(2025, 9, 1, 8, tzinfo=SHANGHAI)
    for number in range(CASES):
        moment = first + timedelta(minutes=generator.randint(0, 90 * 24 * 60 - 1))
        north = generator.random() < 0.3
        issue_id = report(db_session, moment, north=north)
        gap = timedelta(minutes=generator.choice([10, 40, 90, 300, 1500, 4000]))
        path = random_path(generator, north)
        if number % 9 == 0:
            actions.escalate_overdue(db_session, moment + gap * 2)
        steps(db_session, issue_id, moment, gap, *path)
    db_session.flush()
    start, end = date(2025, 9, 1), date(2025, 11, 30)
    query = f"from={start}&to={end}&period=month"
    body = client.get(f"{URL}?{query}&by=district", headers=ADMIN).json()
    now = datetime.fromisoformat(body["counted_at"])
    district = expected_counts(db_session, now, lambda i, _: {i.district_code}, start, end)
    check_rows(body["rows"], district)
    assert sum(row["counts"]["reports"] for row in body["rows"]) == CASES
    assert all(sum(r["counts"][key] for r in body["rows"]) > 0 for key in body["rows"][0]["counts"])
    body = client.get(f"{URL}?{query}&by=department", headers=ADMIN).json()
    check_rows(body["rows"], expected_counts(db_session, now, departments_of, start, end))
    body = client.get(f"{URL}?{query}&by=street", headers=ADMIN).json()
    streets = expected_counts(db_session, now, lambda i, _: {i.street_code}, start, end)
    check_rows(body["rows"], streets)
