"""The staff's issue list at scale: a page, filtered pages and an export, with query counts.

Loads the lattice test city and N generated issues (one report event each) into its own
database, then times, in process (no HTTP): a page of 100 with names and histories,
filtered pages (district + date range, bbox, text, overdue + priority), and a CSV export
of up to GRIDSVC_ISSUE_EXPORT_MAX_ROWS rows; and counts the SQL statements of a page.

Run: .venv/bin/python bench/bench_issue_list.py [--issues N]
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

from common import bench_database_url, database_version, print_machine, timed
from sqlalchemy import create_engine, event, text
from sqlalchemy.orm import Session

from gridsvc.auth.roles import Role
from gridsvc.auth.tokens import Principal
from gridsvc.common.geojson import BBox
from gridsvc.issues import export, listing
from tests.factories import ORIGIN, STEP_LAT, STEP_LON, make_test_city

BENCH_DATABASE = "gridsvc_bench_issue_list"
ADMIN = Principal(Role.ADMIN, "bench")

GENERATE = """
INSERT INTO issues (public_id, category_code, description, crs, reported_lon, reported_lat,
                    geom, routing, grid_code, community_code, street_code, district_code,
                    department_code, departments, status, priority, deadline_at, created_at)
SELECT 'B' || lpad(n::text, 15, '0'), c.code,
       '描述 ' || n || CASE WHEN n % 97 = 0 THEN ' 井盖' ELSE '' END,
       'wgs84', p.lon, p.lat, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326), 'inside',
       g.code, substr(g.code, 1, 12), substr(g.code, 1, 9), substr(g.code, 1, 6),
       c.department_code, ARRAY[c.department_code]::varchar[],
       (ARRAY['reported','registered','dispatched','in_progress','closed'])[1 + n % 5],
       CASE WHEN n % 7 = 0 THEN 'urgent' ELSE 'normal' END,
       now() + ((n % 96) - 48) * interval '1 hour',
       now() - (n % 365) * interval '1 day'
FROM generate_series(1, :count) AS n
CROSS JOIN LATERAL (SELECT :lon0 + random() * :width + 0 * n AS lon,
                           :lat0 + random() * :height + 0 * n AS lat) p
JOIN LATERAL (SELECT code FROM grids WHERE valid_to IS NULL
              AND ST_Intersects(geom, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326))
              ORDER BY code LIMIT 1) g ON true
JOIN LATERAL (SELECT code, department_code FROM issue_categories
              ORDER BY md5(code || n) LIMIT 1) c ON true
"""


def load(url: str, count: int) -> None:
    engine = create_engine(url)
    with Session(engine) as session, session.begin():
        session.execute(text("TRUNCATE issues, issue_events, issue_photos CASCADE"))
        if not session.execute(text("SELECT count(*) FROM grids")).scalar_one():
            make_test_city(session)
        session.execute(
            text(GENERATE),
            {
                "count": count,
                "lon0": ORIGIN[0],
                "lat0": ORIGIN[1],
                "width": 6 * STEP_LON,
                "height": 5 * STEP_LAT,
            },
        )
        session.execute(
            text(
                "INSERT INTO issue_events (issue_id, action, to_status, actor_role, actor, "
                "created_at) SELECT id, 'report', 'reported', 'reporter', 'anonymous', "
                "created_at FROM issues"
            )
        )
        session.execute(text("ANALYZE issues; ANALYZE issue_events"))
    engine.dispose()


def statements(session: Session, call) -> int:
    seen: list[int] = []
    engine = session.get_bind().engine

    def counted(*_args) -> None:
        seen.append(1)

    event.listen(engine, "before_cursor_execute", counted)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", counted)
    return len(seen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=100_000, help="Issues to generate.")
    arguments = parser.parse_args()
    print_machine("staff issue list")
    url = bench_database_url(BENCH_DATABASE)
    print(f"database: {database_version(url)}")
    with timed() as took:
        load(url, arguments.issues)
    print(f"generated {arguments.issues:,} issues in {took[0]:.1f} s")
    today = datetime.now(UTC).date()
    west, south = ORIGIN[0] + STEP_LON, ORIGIN[1] + STEP_LAT
    filters = {
        "no filter": listing.IssueFilter(),
        "district + 30 days": listing.IssueFilter(
            district="150699", date_from=today - timedelta(days=30), date_to=today
        ),
        "bbox 2x2 grids": listing.IssueFilter(
            bbox=BBox(west, south, west + 2 * STEP_LON, south + 2 * STEP_LAT)
        ),
        "text 井盖": listing.IssueFilter(text="井盖"),
        "overdue + urgent": listing.IssueFilter(overdue=True, priority="urgent"),
        "90 days (export)": listing.IssueFilter(
            date_from=today - timedelta(days=89), date_to=today
        ),
    }
    engine = create_engine(url)
    with Session(engine) as session:
        for name, wanted in filters.items():
            with timed() as took:
                matched, rows = listing.matching(session, ADMIN, wanted, 100, 0)
                listing.page_bodies(session, ADMIN, rows)
            print(f"page of 100, {name}: {took[0] * 1000:.0f} ms ({matched:,} match)")

        def page() -> None:
            listing.page_bodies(
                session, ADMIN, listing.matching(session, ADMIN, filters["no filter"], 100, 0)[1]
            )

        print(f"SQL statements for a page of 100: {statements(session, page)}")
        with timed() as took:
            rows = export.export_rows(session, ADMIN, filters["90 days (export)"])
            size = len(export.to_csv(rows))
        print(f"CSV export of {len(rows):,} rows: {took[0]:.2f} s, {size / 2**20:.1f} MiB")
    engine.dispose()


if __name__ == "__main__":
    main()
