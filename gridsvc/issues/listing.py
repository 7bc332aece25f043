"""The staff's issue list: filters, one issue's answer, and a page of them without N+1.

A page costs a fixed number of queries whatever its size: the issues with their positions,
their count, their events, and the names (``names.load_names``). The list never carries the
reporter's contact (only one issue's answer does, to those allowed); exports leave out the
reporter's own text too (``export.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from operator import attrgetter
from typing import Any

from sqlalchemy import ColumnElement, Select, any_, func, literal, or_, select
from sqlalchemy.orm import Session, selectinload, with_expression
from sqlalchemy.orm.attributes import set_committed_value

from gridsvc.auth.roles import Role
from gridsvc.auth.tokens import Principal
from gridsvc.common.errors import InvalidParameterError
from gridsvc.common.geojson import BBox
from gridsvc.grids import service as grids_service
from gridsvc.issues.catalog.calendar import SHANGHAI
from gridsvc.issues.models import Issue, IssueEvent
from gridsvc.issues.names import NameBook, event_departments, load_names
from gridsvc.issues.schemas import IssueOut
from gridsvc.issues.service import get_category, unknown_departments, visible_to
from gridsvc.issues.workflow import OPEN_STATUSES, Action, Status, allowed_actions


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


def page_query(*conditions: ColumnElement[bool], events: bool = True) -> Select[tuple[Issue]]:
    """Select issues with their position and (unless ``events`` is False) their events."""
    options = [
        with_expression(Issue.lon, func.ST_X(Issue.geom)),
        with_expression(Issue.lat, func.ST_Y(Issue.geom)),
    ]
    if events:
        options.append(selectinload(Issue.events))  # one more query for the whole page
    statement = select(Issue).where(*conditions).options(*options)
    return statement.execution_options(populate_existing=True)  # rows already in the session


def matching(
    session: Session,
    principal: Principal,
    wanted: IssueFilter,
    limit: int,
    offset: int,
    *,
    events: bool = True,
) -> tuple[int, list[Issue]]:
    """Count the issues that match and return one page of them, newest first."""
    where = conditions(principal, wanted)
    matched = session.scalar(select(func.count()).select_from(Issue).where(*where)) or 0
    statement = page_query(*where, events=events).order_by(Issue.id.desc()).limit(limit)
    issues = list(session.scalars(statement.offset(offset)))
    if not events:  # an export's rows: no history, and none loaded one issue at a time
        for issue in issues:
            set_committed_value(issue, "events", [])
    return matched, issues


@dataclass(frozen=True)
class Viewer:
    """Who looks at issues, with the names of every code a page of them uses."""

    names: NameBook
    principal: Principal
    now: datetime
    contact: bool = False  # one issue's answer only; never in the list
    next_actions: dict[str, list[Action]] = field(default_factory=dict)

    def actions_after(self, status: str) -> list[Action]:
        """Return what the viewer may do to an issue in ``status`` (worked out once each)."""
        if status not in self.next_actions:
            self.next_actions[status] = allowed_actions(Status(status), self.principal.role)
        return self.next_actions[status]


class SeenEvent:
    """An event as ``IssueEventOut`` reads it: its own columns, the departments named."""

    __slots__ = ("event", "viewer")

    def __init__(self, event: IssueEvent, viewer: Viewer) -> None:
        self.event, self.viewer = event, viewer

    action = property(attrgetter("event.action"))
    from_status = property(attrgetter("event.from_status"))
    to_status = property(attrgetter("event.to_status"))
    actor_role = property(attrgetter("event.actor_role"))
    actor = property(attrgetter("event.actor"))
    note = property(attrgetter("event.note"))
    at = property(attrgetter("event.created_at"))

    @property
    def departments(self) -> list[dict[str, str]]:
        """The departments the step named, with their names."""
        return self.viewer.names.named_departments(event_departments(self.event.details))


class SeenIssue:
    """An issue row as ``IssueOut`` reads it: its own columns and what the viewer adds."""

    __slots__ = ("issue", "viewer")

    def __init__(self, issue: Issue, viewer: Viewer) -> None:
        self.issue, self.viewer = issue, viewer

    # The row's own columns, as they are (attrgetter: these run for every row of a page).
    id = property(attrgetter("issue.id"))
    public_id = property(attrgetter("issue.public_id"))
    status = property(attrgetter("issue.status"))
    priority = property(attrgetter("issue.priority"))
    description = property(attrgetter("issue.description"))
    lon = property(attrgetter("issue.lon"))
    lat = property(attrgetter("issue.lat"))
    grid_code = property(attrgetter("issue.grid_code"))
    community_code = property(attrgetter("issue.community_code"))
    street_code = property(attrgetter("issue.street_code"))
    district_code = property(attrgetter("issue.district_code"))
    department_code = property(attrgetter("issue.department_code"))
    escalated_at = property(attrgetter("issue.escalated_at"))
    survivor_id = property(attrgetter("issue.survivor_id"))
    rating = property(attrgetter("issue.rating"))
    created_at = property(attrgetter("issue.created_at"))
    closed_at = property(attrgetter("issue.closed_at"))
    published_at = property(attrgetter("issue.published_at"))
    published_text = property(attrgetter("issue.published_text"))
    category = property(attrgetter("issue.category_code"))
    deadline = property(attrgetter("issue.deadline_at"))
    departments = property(lambda self: self.issue.departments or [], doc="Handling them.")
    grid_name = property(lambda self: self.area_name("grid"))
    community_name = property(lambda self: self.area_name("community"))
    street_name = property(lambda self: self.area_name("street"))
    district_name = property(lambda self: self.area_name("district"))

    def area_name(self, level: str) -> str | None:
        """Return the name of the issue's district, street, community or grid."""
        return self.viewer.names.area(level, getattr(self.issue, f"{level}_code"))

    @property
    def category_name(self) -> str | None:
        """The category's name."""
        return self.viewer.names.category(self.issue.category_code)

    @property
    def department_name(self) -> str | None:
        """The name of the department the case was routed to."""
        return self.viewer.names.department(self.issue.department_code)

    @property
    def departments_named(self) -> list[dict[str, str]]:
        """The departments handling the case, with their names."""
        return self.viewer.names.named_departments(self.departments)

    @property
    def routing(self) -> dict[str, Any]:
        """How the point found its grid."""
        return {"method": self.issue.routing, "distance_m": self.issue.routing_distance_m}

    @property
    def overdue(self) -> bool:
        """Whether the issue is open and past its stage deadline now."""
        deadline = self.issue.deadline_at
        return bool(self.issue.status in OPEN_STATUSES and deadline and deadline < self.viewer.now)

    @property
    def contact_shown(self) -> str | None:
        """The contact, if shown: not in lists, not of anonymous reports to non-admins."""
        issue, viewer = self.issue, self.viewer
        if not viewer.contact or (issue.anonymous and viewer.principal.role is not Role.ADMIN):
            return None
        return issue.reporter_contact

    @property
    def media_url(self) -> str | None:
        """The link an Open311 app sent with the report, kept with its first event."""
        reported = next((event for event in self.issue.events if event.action == "report"), None)
        return (reported.details or {}).get("media_url") if reported else None

    @property
    def allowed_actions(self) -> list[Action]:
        """What the viewer may do next."""
        return self.viewer.actions_after(self.issue.status)

    @property
    def events(self) -> list[SeenEvent]:
        """The history, oldest first."""
        return [SeenEvent(event, self.viewer) for event in self.issue.events]


def viewer_of(session: Session, principal: Principal, issues: list[Issue]) -> Viewer:
    """Return the viewer of a page of issues, with the names of every code the page uses."""
    every_event = [event for issue in issues for event in issue.events]
    return Viewer(load_names(session, issues, every_event), principal, datetime.now(UTC))


def page_bodies(session: Session, principal: Principal, issues: list[Issue]) -> list[IssueOut]:
    """Return the staff answers of a page of issues, in a fixed number of queries."""
    viewer = viewer_of(session, principal, issues)
    return [IssueOut.model_validate(SeenIssue(issue, viewer)) for issue in issues]


def issue_body(session: Session, issue: Issue, principal: Principal) -> IssueOut:
    """One issue as staff see it, with its history, the names and the contact they may see."""
    session.flush()
    loaded = session.scalars(page_query(Issue.id == issue.id)).one()
    viewer = replace(viewer_of(session, principal, [loaded]), contact=True)
    return IssueOut.model_validate(SeenIssue(loaded, viewer))


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
