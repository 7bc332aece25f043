"""The command centre's indicators over a year of generated cases.

Generates N cases (default 1,000,000) over 2025 in a benchmark database of its own, with
their events (report, register, dispatch, accept, resolve, verify, close; some sent back,
extended, escalated, rated, left open), then times ``indicator_rows`` for the whole city by
district and by department per month, and one week by district, and prints the plans.

Run: .venv/bin/python bench/bench_indicators.py [--cases N] [--explain]
"""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime

from common import bench_database_url, database_version, print_machine, timed
from sqlalchemy import create_engine, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from gridsvc.auth.roles import Role
from gridsvc.auth.tokens import Principal
from gridsvc.issues.indicators import service as indicator_service

BENCH_DATABASE = "gridsvc_bench_indicators"
ADMIN = Principal(role=Role.ADMIN, subject="bench")

# One statement per table: cases spread evenly over 2025 (local time), nine districts.
ISSUES = """
INSERT INTO issues (id, public_id, category_code, description, crs, reported_lon,
    reported_lat, geom, routing, grid_code, community_code, street_code, district_code,
    department_code, departments, status, deadline_at, rating, created_at, closed_at)
SELECT g, 'BENCH' || g, c.code, 'bench', 'wgs84', 109.8, 39.6,
    ST_SetSRID(ST_MakePoint(109.8, 39.6), 4326), 'inside',
    d || lpad((g % 7)::text, 3, '0') || lpad((g % 5)::text, 3, '0') || lpad((g % 11)::text, 3, '0'),
    d || lpad((g % 7)::text, 3, '0') || lpad((g % 5)::text, 3, '0'),
    d || lpad((g % 7)::text, 3, '0'), d, c.department_code, ARRAY[c.department_code],
    CASE WHEN g % 20 = 0 THEN 'in_progress' WHEN g % 50 = 1 THEN 'reported' ELSE 'closed' END,
    CASE WHEN g % 20 = 0 OR g % 50 = 1 THEN t + interval '3 days' END,
    CASE WHEN g % 2 = 0 AND g % 20 <> 0 AND g % 50 <> 1 THEN 1 + g % 5 END,
    t, CASE WHEN g % 20 <> 0 AND g % 50 <> 1 THEN t + interval '30 hours' END
FROM (
    SELECT g, timestamptz '2025-01-01 00:00+08' + (g - 1) * (interval '365 days' / :cases) AS t,
        (ARRAY['150602','150603','150621','150622','150623','150624','150625','150626',
               '150627'])[1 + g % 9] AS d
    FROM generate_series(1, :cases) AS g
) AS s
JOIN (SELECT code, department_code, row_number() OVER (ORDER BY code) - 1 AS n
      FROM issue_categories) AS c
  ON c.n = s.g % (SELECT count(*) FROM issue_categories)
"""

# (action, from, to, hours after the report, which cases): the main line and its detours.
STEPS = [
    ("report", None, "reported", 0, "true"),
    ("register", "reported", "registered", 1, "status <> 'reported'"),
    ("dispatch", "registered", "dispatched", 2, "status <> 'reported'"),
    ("accept", "dispatched", "in_progress", 3, "status <> 'reported'"),
    ("request_extension", "in_progress", "in_progress", 4, "id % 10 = 3"),
    ("extend", "in_progress", "in_progress", 5, "id % 10 = 3"),
    ("escalate", "in_progress", "in_progress", 6, "id % 20 = 7 OR id % 20 = 0"),
    ("resolve", "in_progress", "resolved", 20, "status = 'closed'"),
    ("send_back", "resolved", "in_progress", 21, "status = 'closed' AND id % 25 = 4"),
    ("resolve", "in_progress", "resolved", 22, "status = 'closed' AND id % 25 = 4"),
    ("verify", "resolved", "verified", 26, "status = 'closed'"),
    ("close", "verified", "closed", 30, "status = 'closed'"),
    ("rate", "closed", "closed", 40, "rating IS NOT NULL"),
]


def events_statement(action: str, before: str | None, after: str, hours: int, where: str) -> str:
    """Insert one step for every case it applies to; late ones (id % 6 = 5) miss deadlines."""
    details = (
        "jsonb_build_object('departments', jsonb_build_array(department_code))"
        if action == "dispatch"
        else "jsonb_build_object('department_code', department_code)"
        if action == "report"
        else "jsonb_build_object('rating', rating)"
        if action == "rate"
        else "NULL"
    )
    deadline = (
        "NULL"
        if after == "closed"
        else (
            f"created_at + interval '{hours} hours' + "
            "CASE WHEN id % 6 = 5 THEN interval '10 minutes' ELSE interval '2 hours' END"
        )
    )
    return f"""
INSERT INTO issue_events (issue_id, action, from_status, to_status, actor_role, actor,
    details, deadline_at, created_at)
SELECT id, '{action}', {f"'{before}'" if before else "NULL"}, '{after}', 'system', 'bench',
    {details}, {deadline}, created_at + interval '{hours} hours'
FROM issues WHERE public_id LIKE 'BENCH%' AND ({where})
"""


def generate(url: str, cases: int) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        have = connection.execute(
            text("SELECT count(*) FROM issues WHERE public_id LIKE 'BENCH%'")
        ).scalar_one()
        if have == cases:
            print(f"{cases:,} cases already generated")
            return
        connection.execute(text("ALTER TABLE issue_events DISABLE TRIGGER USER"))
        connection.execute(text("DELETE FROM issue_events"))
        connection.execute(text("DELETE FROM issues"))
        connection.execute(text("ALTER TABLE issue_events ENABLE TRIGGER USER"))
        with timed() as t:
            connection.execute(text(ISSUES), {"cases": cases})
            for step in STEPS:
                connection.execute(text(events_statement(*step)))
        events = connection.execute(text("SELECT count(*) FROM issue_events")).scalar_one()
        print(f"generated {cases:,} cases and {events:,} events in {t[0]:.1f} s")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE issues"))
        connection.execute(text("VACUUM ANALYZE issue_events"))
    engine.dispose()


def measure(url: str, explain: bool) -> None:
    engine = create_engine(url)
    now = datetime(2026, 1, 15, tzinfo=UTC)
    year, week = (date(2025, 1, 1), date(2025, 12, 31)), (date(2025, 6, 2), date(2025, 6, 8))
    for label, (start, end), by, period in (
        ("city by district, per month", year, "district", "month"),
        ("city by department, per month", year, "department", "month"),
        ("one week by district", week, "district", "week"),
    ):
        with Session(engine) as session:
            indicator_service.indicator_rows(session, ADMIN, start, end, by, period, now)  # warm
            with timed() as t:
                rows = indicator_service.indicator_rows(session, ADMIN, start, end, by, period, now)
            reports = sum(row["counts"]["reports"] for row in rows)
            print(f"{label:32s} {t[0]:7.2f} s   {len(rows):4d} rows   {reports:,} reports")
            if explain:
                statement = indicator_service.indicator_statement(
                    ADMIN, start, end, by, period, now
                )
                sql = str(
                    statement.compile(
                        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
                    )
                )
                plan = session.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")).scalars()
                print("\n".join(f"    {line}" for line in plan))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE plans")
    arguments = parser.parse_args()
    print_machine("Indicators (立案率, 结案率, 按期结案率...) over a year of cases")
    url = bench_database_url(BENCH_DATABASE)
    print(database_version(url))
    generate(url, arguments.cases)
    measure(url, arguments.explain)


if __name__ == "__main__":
    main()
