"""The statements of a submission's hot path: few round trips, each built and compiled once.

Profiling POST /api/v1/issues under load (bench/bench_intake.py) found the worker's time
in SQLAlchemy building, cache-keying and flushing about 15 statements per report, not in
PostgreSQL. A report now takes one statement to find its category, grid (with community,
street and district), department and registration deadline, and one to insert the issue
with its first event. Both are module constants with bind parameters: compiled once, then
prepared by psycopg after a few uses. A point outside every grid or an unknown or retired
category take the ordinary path of the service (nearest grid, the 422 naming the
categories), which is rare.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Float, Select, and_, bindparam, func, select, text, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause

from gridsvc.grids import placing as grid_placing
from gridsvc.issues.catalog.deadlines import DeadlineRule, Priority
from gridsvc.issues.models import CategoryDeadline, Department, DepartmentRoute, IssueCategory
from gridsvc.issues.workflow import Stage

#: The placement's columns, as the grids service names them.
PLACEMENT_KEYS = tuple(
    f"{level}_{part}"
    for level in ("grid", "community", "street", "district")
    for part in ("code", "name")
)


@cache
def route_statement() -> Select:
    """Return the statement of category, covering grid and parents, department and deadline.

    One row when the category exists; its placement columns are NULL when no grid covers
    the point. The department is the routing table's for (category, district), else the
    category's own, and only for a placed report, as :func:`service.department_for` says.
    """
    lon, lat = bindparam("lon", type_=Float), bindparam("lat", type_=Float)
    placement = grid_placing.inside_placement(lon, lat).lateral("placement")
    department_code = func.coalesce(DepartmentRoute.department_code, IssueCategory.department_code)
    return (
        select(
            IssueCategory.code.label("category_code"),
            IssueCategory.name.label("category_name"),
            IssueCategory.retired_at.is_not(None).label("retired"),
            *(placement.c[key] for key in PLACEMENT_KEYS),
            Department.code.label("department_code"),
            Department.name.label("department_name"),
            CategoryDeadline.amount,
            CategoryDeadline.unit,
        )
        .select_from(IssueCategory)
        .outerjoin(placement, true())
        .outerjoin(
            DepartmentRoute,
            and_(
                DepartmentRoute.category_code == IssueCategory.code,
                DepartmentRoute.district_code == placement.c.district_code,
            ),
        )
        .outerjoin(
            Department,
            and_(placement.c.grid_code.is_not(None), Department.code == department_code),
        )
        .outerjoin(
            CategoryDeadline,
            and_(
                CategoryDeadline.category_code == IssueCategory.code,
                CategoryDeadline.priority == Priority.NORMAL.value,
                CategoryDeadline.stage == Stage.REGISTRATION.value,
            ),
        )
        .where(IssueCategory.code == bindparam("category"))
    )


def route(session: Session, category: str, lon: float, lat: float) -> dict[str, Any] | None:
    """Return the row of :func:`route_statement`, or None for an unknown category."""
    row = session.connection().execute(
        route_statement(), {"category": category, "lon": lon, "lat": lat}
    )
    found = row.mappings().first()
    return dict(found) if found is not None else None


def registration_rule(routed: dict[str, Any]) -> DeadlineRule | None:
    """Return the normal registration deadline of a routed row's category, if it has one."""
    if routed["amount"] is None:
        return None
    return DeadlineRule(routed["amount"], routed["unit"])


#: The issue and its first event ("report"), in one statement. The event's details are
#: what the routing decided (with an Open311 media_url or account_id, when given).
INSERT_REPORT: TextClause = text(
    "WITH issue AS ("
    " INSERT INTO issues (public_id, secret_hash, category_code, description,"
    " reporter_contact, anonymous, reporter_subject, crs, reported_lon, reported_lat,"
    " accuracy_m, geom, status, priority, routing, routing_distance_m, grid_code,"
    " community_code, street_code, district_code, department_code, deadline_at, created_at)"
    " VALUES (:public_id, :secret_hash, :category_code, :description, :reporter_contact,"
    " :anonymous, :reporter_subject, :crs, :reported_lon, :reported_lat, :accuracy_m,"
    " ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :status, :priority, :routing,"
    " :routing_distance_m, :grid_code, :community_code, :street_code, :district_code,"
    " :department_code, :deadline_at, :created_at)"
    " RETURNING id),"
    " event AS ("
    " INSERT INTO issue_events (issue_id, action, from_status, to_status, actor_role, actor,"
    " details, deadline_at, created_at)"
    " SELECT id, 'report', NULL, :status, :actor_role, :actor, :details, :deadline_at,"
    " :created_at FROM issue)"
    " SELECT id FROM issue"
).bindparams(bindparam("details", type_=JSONB))


def insert_report(session: Session, values: dict[str, Any], created_at: datetime) -> int:
    """Insert an issue and its "report" event in the session's transaction; return its id."""
    return (
        session.connection()
        .execute(INSERT_REPORT, {**values, "created_at": created_at})
        .scalar_one()
    )
