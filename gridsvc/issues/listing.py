"""The staff's issue list: filters, one issue's answer, and a page of them without N+1.

A page costs a fixed number of queries whatever its size: the issues with their positions,
their count, their events, and the names (``names.load_names``). The list never carries the
reporter's contact (only one issue's answer does, to those allowed); exports leave out the
reporter's own text too (``export.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, any_, func, literal, or_, select
from sqlalchemy.orm import Session

from gridsvc.auth.roles import Role
from gridsvc.auth.tokens import Principal
from gridsvc.common.errors import InvalidParameterError
from gridsvc.common.geojson import BBox
from gridsvc.grids import service as grids_service
from gridsvc.issues.catalog.calendar import SHANGHAI
from gridsvc.issues.models import Issue, IssueEvent
from gridsvc.issues.names import AREA_LEVELS, NameBook, event_departments, load_names
from gridsvc.issues.service import get_category, local, unknown_departments, visible_to
from gridsvc.issues.workflow import OPEN_STATUSES, Status, allowed_actions


@dataclass(frozen=True)
class IssueFilter:
    """What the staff's list asks for; every field left None matches every issue."""

    status: str | None = None
    priority: str | None = None
    category: str | None = None
    grid: str | None = None
    district: str | None = None
    department: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    overdue: bool | None = None
    bbox: BBox | None = None
    text: str | None = None


def city_midnight(day: date) -> datetime:
    """Return the start of ``day`` in the city's time zone."""
    return datetime.combine(day, time(), tzinfo=SHANGHAI)


def like_pattern(text: str) -> str:
    """Return a LIKE pattern matching ``text`` anywhere, its wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def is_overdue() -> ColumnElement[bool]:
    """Open and past the running stage deadline."""
    return Issue.status.in_(OPEN_STATUSES) & (Issue.deadline_at < func.now())


def conditions(principal: Principal, wanted: IssueFilter) -> list[ColumnElement[bool]]:
    """Return the SQL conditions of the caller's scope and of the filter."""
    found: list[ColumnElement[bool]] = [visible_to(principal)]
    equal = {
        Issue.status: wanted.status,
        Issue.priority: wanted.priority,
        Issue.category_code: wanted.category,
        Issue.grid_code: wanted.grid,
        Issue.district_code: wanted.district,
    }
    found += [column == value for column, value in equal.items() if value is not None]
    if wanted.department is not None:
        handled = literal(wanted.department) == any_(Issue.departments)
        found.append(or_(Issue.department_code == wanted.department, handled))
    if wanted.date_from is not None:
        found.append(Issue.created_at >= city_midnight(wanted.date_from))
    if wanted.date_to is not None:
        found.append(Issue.created_at < city_midnight(wanted.date_to + timedelta(days=1)))
    if wanted.overdue is not None:
        overdue = func.coalesce(is_overdue(), False)
        found.append(overdue if wanted.overdue else ~overdue)
    if wanted.bbox is not None:
        found.append(grids_service.intersects_bbox(Issue.geom, wanted.bbox))
    if wanted.text:
        found.append(Issue.description.ilike(like_pattern(wanted.text), escape="\\"))
    return found


def matching(
    session: Session, principal: Principal, wanted: IssueFilter, limit: int, offset: int
) -> tuple[int, list[Row]]:
    """Count the issues that match and return one page of ``(Issue, lon, lat)``, newest first."""
    where = conditions(principal, wanted)
    matched = session.scalar(select(func.count()).select_from(Issue).where(*where)) or 0
    rows = session.execute(
        select(Issue, func.ST_X(Issue.geom), func.ST_Y(Issue.geom))
        .where(*where)
        .order_by(Issue.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return matched, list(rows)


def events_of(session: Session, ids: list[int]) -> dict[int, list[IssueEvent]]:
    """Return the histories of the issues ``ids``, oldest first, in one query."""
    histories: dict[int, list[IssueEvent]] = {issue_id: [] for issue_id in ids}
    if ids:
        statement = (
            select(IssueEvent)
            .where(IssueEvent.issue_id.in_(ids))
            .order_by(IssueEvent.created_at, IssueEvent.id)
        )
        for event in session.scalars(statement):
            histories[event.issue_id].append(event)
    return histories


def visible_contact(issue: Issue, principal: Principal) -> str | None:
    """Return the reporter's contact, unless the report is anonymous and the caller is not admin."""
    if issue.anonymous and principal.role is not Role.ADMIN:
        return None
    return issue.reporter_contact


def overdue_now(issue: Issue, now: datetime) -> bool:
    """Whether the issue is open and past its stage deadline at ``now``."""
    return bool(issue.status in OPEN_STATUSES and issue.deadline_at and issue.deadline_at < now)


def area_fields(issue: Issue, names: NameBook) -> dict[str, Any]:
    """``grid_code``, ``grid_name``, ... ``district_code``, ``district_name``."""
    fields: dict[str, Any] = {}
    for level in AREA_LEVELS:
        code = getattr(issue, f"{level}_code")
        fields[f"{level}_code"], fields[f"{level}_name"] = code, names.area(level, code)
    return fields


def event_body(event: IssueEvent, names: NameBook) -> dict[str, Any]:
    """One row of an issue's history, with the departments it named."""
    return {
        "action": event.action,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "actor_role": event.actor_role,
        "actor": event.actor,
        "note": event.note,
        "departments": names.named_departments(event_departments(event.details)),
        "at": local(event.created_at),
    }


def staff_body(
    row: Row, events: list[IssueEvent], names: NameBook, principal: Principal, now: datetime
) -> dict[str, Any]:
    """Return an issue as staff see it (the contact is added by one issue's answer only)."""
    issue, lon, lat = row
    reported = next((event for event in events if event.action == "report"), None)
    return {
        "id": issue.id,
        "public_id": issue.public_id,
        "status": issue.status,
        "priority": issue.priority,
        "category": issue.category_code,
        "category_name": names.category(issue.category_code),
        "description": issue.description,
        "reporter_contact": None,
        "lon": float(lon),
        "lat": float(lat),
        "routing": {"method": issue.routing, "distance_m": issue.routing_distance_m},
        **area_fields(issue, names),
        "department_code": issue.department_code,
        "department_name": names.department(issue.department_code),
        "departments": issue.departments or [],
        "departments_named": names.named_departments(issue.departments or []),
        "overdue": overdue_now(issue, now),
        "deadline": local(issue.deadline_at),
        "escalated_at": local(issue.escalated_at),
        "survivor_id": issue.survivor_id,
        "rating": issue.rating,
        "created_at": local(issue.created_at),
        "closed_at": local(issue.closed_at),
        "published_at": local(issue.published_at),
        "published_text": issue.published_text,
        "media_url": ((reported.details or {}).get("media_url") if reported else None),
        "allowed_actions": allowed_actions(Status(issue.status), principal.role),
        "events": [event_body(event, names) for event in events],
    }


def page_bodies(session: Session, principal: Principal, rows: list[Row]) -> list[dict[str, Any]]:
    """Return the staff answers of a page of ``(Issue, lon, lat)``, in a fixed number of queries."""
    now = datetime.now(UTC)
    histories = events_of(session, [row[0].id for row in rows])
    every_event = [event for events in histories.values() for event in events]
    names = load_names(session, [row[0] for row in rows], every_event)
    return [staff_body(row, histories[row[0].id], names, principal, now) for row in rows]


def issue_body(session: Session, issue: Issue, principal: Principal) -> dict[str, Any]:
    """One issue as staff see it, with its history, the names and the contact they may see."""
    session.flush()
    row = session.execute(
        select(Issue, func.ST_X(Issue.geom), func.ST_Y(Issue.geom)).where(Issue.id == issue.id)
    ).one()
    body = page_bodies(session, principal, [row])[0]
    body["reporter_contact"] = visible_contact(issue, principal)
    return body


def check_filter(session: Session, wanted: IssueFilter) -> IssueFilter:
    """Refuse (422, naming the parameter) codes of the wrong shape or naming nothing."""
    if wanted.grid is not None:
        grids_service.check_code("grid", wanted.grid)
    if wanted.district is not None:
        grids_service.check_code("district", wanted.district)
    if wanted.category is not None:
        try:
            get_category(session, wanted.category)
        except InvalidParameterError as error:
            raise InvalidParameterError("category", error.reason) from None
    if wanted.department is not None and unknown_departments(session, [wanted.department]):
        raise InvalidParameterError("department", f"unknown department '{wanted.department}'")
    if wanted.date_from and wanted.date_to and wanted.date_from > wanted.date_to:
        raise InvalidParameterError(
            "to", f"the range ends ({wanted.date_to}) before it starts ({wanted.date_from})"
        )
    return wanted
