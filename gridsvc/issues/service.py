"""Submitting issues, routing them to a grid and a department, and reading them in scope."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, any_, false, func, literal, select, true
from sqlalchemy.orm import Session

from gridsvc.auth.roles import Role
from gridsvc.auth.tokens import Principal
from gridsvc.common.coords import to_wgs84
from gridsvc.common.errors import InvalidParameterError, NotFoundError
from gridsvc.common.extent import check_in_city
from gridsvc.config import get_settings
from gridsvc.grids import placing as grid_placing
from gridsvc.grids import service as grids_service
from gridsvc.issues import duplicates, intake
from gridsvc.issues.catalog.calendar import load_cn_calendar, local
from gridsvc.issues.catalog.deadlines import DeadlineRule, Priority
from gridsvc.issues.models import (
    CategoryDeadline,
    Department,
    DepartmentRoute,
    Issue,
    IssueCategory,
    IssueEvent,
)
from gridsvc.issues.schemas import IssueAccepted, IssueSubmission, Named, Routing
from gridsvc.issues.workflow import OPEN_STATUSES, Stage, Status

# Public ids: no 0/O or 1/I/L, so an id read out over the phone is not misheard.
PUBLIC_ID_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
PUBLIC_ID_LENGTH = 10


def iso_local(moment: datetime | None) -> str | None:
    """Return ``moment`` as ISO 8601 text in the city's time zone, or None."""
    local_moment = local(moment)
    return local_moment.isoformat() if local_moment else None


def new_public_id() -> str:
    """Return a random public id like ``GS7K2M9QXR4T`` (not a credential)."""
    return "GS" + "".join(secrets.choice(PUBLIC_ID_ALPHABET) for _ in range(PUBLIC_ID_LENGTH))


def visible_to(principal: Principal) -> ColumnElement[bool]:
    """Issues within the principal's scope; everything else answers 404."""
    role = principal.role
    if role in (Role.ADMIN, Role.SYSTEM):
        return true()
    if role is Role.SUPERVISOR:
        return Issue.district_code == principal.district if principal.district else true()
    if role is Role.GRID_WORKER:
        return Issue.grid_code.in_(principal.grids)
    if role is Role.DEPARTMENT:
        return literal(principal.department) == any_(Issue.departments)
    if principal.anonymous:
        return false()
    return Issue.reporter_subject == principal.subject


def unknown_departments(session: Session, codes: list[str]) -> list[str]:
    """Return the codes among ``codes`` that name no department."""
    return [code for code in codes if session.get(Department, code) is None]


def get_category(session: Session, code: str, *, for_report: bool = False) -> IssueCategory:
    """Return the category with ``code``; an unknown code is a 422 naming the known ones.

    ``for_report``: a new report may not take a retired category (422 naming it).
    """
    category = session.get(IssueCategory, code)
    retired = category is not None and category.retired_at is not None
    if category is None or (for_report and retired):
        statement = select(IssueCategory.code).order_by(IssueCategory.code)
        if for_report:
            statement = statement.where(IssueCategory.retired_at.is_(None))
        known = ", ".join(session.scalars(statement))
        what = f"category '{code}' is retired" if retired else f"unknown category '{code}'"
        raise InvalidParameterError("category", f"{what}; known: {known}", "body")
    return category


def department_for(session: Session, category: IssueCategory, district_code: str) -> str:
    """Return the routing table's department for (category, district), else the category's own."""
    routed = session.get(DepartmentRoute, (category.code, district_code))
    return routed.department_code if routed else category.department_code


def deadline_rule(
    session: Session, category_code: str, stage: Stage, priority: str = Priority.NORMAL
) -> DeadlineRule | None:
    """Return the category's deadline for ``stage`` at ``priority``, or None if it has none.

    An urgent case whose category sets no urgent deadline for the stage runs on the normal
    one: urgency never leaves a stage without a deadline.
    """
    row = session.get(CategoryDeadline, (category_code, priority, stage.value))
    if row is None and priority != Priority.NORMAL:
        row = session.get(CategoryDeadline, (category_code, Priority.NORMAL.value, stage.value))
    return DeadlineRule(row.amount, row.unit) if row else None  # type: ignore[arg-type]


def stage_deadline(
    session: Session,
    category_code: str,
    stage: Stage | None,
    start: datetime,
    priority: str = Priority.NORMAL,
) -> datetime | None:
    """Return when ``stage`` of a case of this category and priority, started at ``start``, ends."""
    rule = deadline_rule(session, category_code, stage, priority) if stage else None
    return rule.due(load_cn_calendar(), start) if rule else None


def record_event(
    session: Session,
    issue: Issue,
    action: str,
    from_status: str | None,
    principal: Principal,
    now: datetime,
    note: str | None = None,
    details: dict[str, Any] | None = None,
) -> IssueEvent:
    """Append one event to the issue's history (the table refuses updates and deletes)."""
    event = IssueEvent(
        issue_id=issue.id,
        action=action,
        from_status=from_status,
        to_status=issue.status,
        actor_role=principal.role.value,
        actor=principal.subject,
        note=note,
        details=details,
        deadline_at=issue.deadline_at,
        created_at=now,
    )
    session.add(event)
    return event


def place(session: Session, issue: Issue, placement: dict[str, Any] | None) -> None:
    """Write a placement from the grids service (or none) onto the issue."""
    for level in ("grid", "community", "street", "district"):
        setattr(issue, f"{level}_code", placement[f"{level}_code"] if placement else None)
    issue.routing = placement["routing"] if placement else "unrouted"
    issue.routing_distance_m = placement["distance_m"] if placement else None


def submit(
    session: Session,
    submission: IssueSubmission,
    principal: Principal,
    secret_hash: str | None = None,
    now: datetime | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Accept a report: route it to a grid and a department, start its deadline, return it.

    ``secret_hash`` is the hash of the reporter's secret (the caller hands the secret
    itself to the reporter). A point beyond every grid and the snap distance but in the
    city's extent is still accepted, as ``unrouted``; one far outside the city (or with
    latitude and longitude swapped) is a 422 naming ``lon``. ``details`` (an Open311
    ``media_url``, ``account_id``) are kept with the report's first event.
    """
    now = now or datetime.now(UTC)
    lon, lat = (float(value) for value in to_wgs84(submission.lon, submission.lat, submission.crs))
    routed = intake.route(session, submission.category, lon, lat)
    if routed is None or routed["retired"]:
        get_category(session, submission.category, for_report=True)  # the 422 naming them
    check_in_city(lon, lat)
    grids_service.check_position(lon, lat)
    placement, department = placed(session, routed, lon, lat)
    rule = intake.registration_rule(routed)
    deadline = rule.due(load_cn_calendar(), now) if rule else None
    values = report_values(submission, principal, secret_hash, (lon, lat), placement)
    values.update(category_code=routed["category_code"], deadline_at=deadline)
    values["department_code"] = department["code"] if department else None
    values["details"] = {**routing_details_of(values), **(details or {})}
    issue_id = intake.insert_report(session, values, now)
    return created_body(session, issue_id, values, placement, routed, department, now)


LEVELS = ("grid", "community", "street", "district")


def report_values(
    submission: IssueSubmission,
    principal: Principal,
    secret_hash: str | None,
    position: tuple[float, float],
    placement: dict[str, Any] | None,
) -> dict[str, Any]:
    """Return the new issue's columns (and its first event's actor) for the insert."""
    return {
        "public_id": new_public_id(),
        "secret_hash": secret_hash,
        "description": submission.description,
        "reporter_contact": submission.reporter_contact,
        "anonymous": submission.anonymous,
        "reporter_subject": None if principal.anonymous else principal.subject,
        "crs": submission.crs.value,
        "reported_lon": submission.lon,
        "reported_lat": submission.lat,
        "accuracy_m": submission.accuracy_m,
        "lon": position[0],
        "lat": position[1],
        "status": (Status.REPORTED if placement else Status.UNROUTED).value,
        "priority": Priority.NORMAL.value,  # residents never mark their own report urgent
        **{f"{level}_code": (placement or {}).get(f"{level}_code") for level in LEVELS},
        "routing": placement["routing"] if placement else "unrouted",
        "routing_distance_m": placement["distance_m"] if placement else None,
        "actor_role": principal.role.value,
        "actor": principal.subject,
    }


def placed(
    session: Session, routed: dict[str, Any], lon: float, lat: float
) -> tuple[dict[str, Any] | None, dict[str, str] | None]:
    """Return the placement of a routed report and its department (code, name), or Nones.

    A grid covering the point came with the routed row; otherwise the nearest grid within
    the snap distance is looked for, and its department found as for any other.
    """
    if routed["grid_code"] is not None:
        placement = {key: routed[key] for key in intake.PLACEMENT_KEYS}
        department = {"code": routed["department_code"], "name": routed["department_name"]}
        return {**placement, "routing": "inside", "distance_m": 0.0}, department
    snap = get_settings().issue_snap_distance_m
    placement = grid_placing.nearest_placement(session, lon, lat, snap)
    if placement is None:
        return None, None
    category = session.get(IssueCategory, routed["category_code"])
    code = department_for(session, category, placement["district_code"])  # type: ignore[arg-type]
    row = session.get(Department, code)
    return placement, {"code": code, "name": row.name if row else code}


def routing_details(issue: Issue) -> dict[str, Any]:
    """Return what the routing decided, kept with the first event."""
    return {
        "routing": issue.routing,
        "distance_m": issue.routing_distance_m,
        "grid_code": issue.grid_code,
        "department_code": issue.department_code,
    }


def routing_details_of(values: dict[str, Any]) -> dict[str, Any]:
    """Return what the routing of a new report decided, as :func:`routing_details` does."""
    return {
        "routing": values["routing"],
        "distance_m": values["routing_distance_m"],
        "grid_code": values["grid_code"],
        "department_code": values["department_code"],
    }


def named(code: str | None, name: str | None) -> Named | None:
    """Return a code and its name, or None where there is no code."""
    return Named(code=code, name=name or code) if code else None


def created_body(
    session: Session,
    issue_id: int,
    values: dict[str, Any],
    placement: dict[str, Any] | None,
    routed: dict[str, Any],
    department: dict[str, str] | None,
    created_at: datetime,
) -> dict[str, Any]:
    """Return the 201 body of a submission (less the secret), as ``IssueAccepted`` JSON."""
    placement = placement or {}
    category = routed["category_code"]
    accepted = IssueAccepted(
        id=issue_id,
        public_id=values["public_id"],
        status=values["status"],
        category=named(category, routed["category_name"]),
        lon=values["lon"],
        lat=values["lat"],
        routing=Routing(method=values["routing"], distance_m=values["routing_distance_m"]),
        **{
            level: named(placement.get(f"{level}_code"), placement.get(f"{level}_name"))
            for level in LEVELS
        },
        department=named(department["code"], department["name"]) if department else None,
        deadline=values["deadline_at"],
        created_at=created_at,
        duplicates=duplicates.suggestions(
            session, issue_id, category, values["lon"], values["lat"]
        ),
    )
    return accepted.model_dump(mode="json")


def find_issue(
    session: Session, principal: Principal, issue_id: int, *, for_update: bool = False
) -> Issue:
    """Return the issue if the principal may see it; out of scope is the same 404 as absent."""
    statement = select(Issue).where(Issue.id == issue_id, visible_to(principal))
    if for_update:
        statement = statement.with_for_update()
    issue = session.scalars(statement).first()
    if issue is None:
        raise NotFoundError(f"no issue {issue_id} (or not within your scope)")
    return issue


def issue_events(session: Session, issue_id: int) -> list[IssueEvent]:
    """Return the issue's history, oldest first."""
    return list(
        session.scalars(
            select(IssueEvent)
            .where(IssueEvent.issue_id == issue_id)
            .order_by(IssueEvent.created_at, IssueEvent.id)
        )
    )


def position(session: Session, issue: Issue) -> tuple[float, float]:
    """Return the stored WGS-84 lon/lat of the issue."""
    row = session.execute(
        select(func.ST_X(Issue.geom), func.ST_Y(Issue.geom)).where(Issue.id == issue.id)
    ).one()
    return float(row[0]), float(row[1])


def issue_points(
    session: Session,
    principal: Principal,
    *,
    status: str | None = None,
    district: str | None = None,
    since: datetime | None = None,
) -> list[Any]:
    """Issues in scope as map points: public id, category, status, overdue, lon, lat."""
    conditions = [visible_to(principal)]
    if status is not None:
        conditions.append(Issue.status == Status(status).value)
    if district is not None:
        conditions.append(Issue.district_code == district)
    if since is not None:
        conditions.append(Issue.created_at >= since)
    overdue = Issue.status.in_(OPEN_STATUSES) & (Issue.deadline_at < func.now())
    statement = (
        select(
            Issue.public_id,
            IssueCategory.name.label("category"),
            Issue.status,
            func.coalesce(overdue, false()).label("overdue"),
            func.ST_X(Issue.geom).label("lon"),
            func.ST_Y(Issue.geom).label("lat"),
        )
        .join(IssueCategory, IssueCategory.code == Issue.category_code)
        .where(*conditions)
        .order_by(Issue.id)
    )
    return list(session.execute(statement))
