"""Counting the indicators of ``definitions.py`` from the issues and their append-only events.

One pass over the events gives each case its flags (registered, dispatched, sent back...);
one grouped query over the cohort's cases then counts them per period and group. A case
counts under every department (and every grid worker) its events name, as the issue
statistics do.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Subquery,
    and_,
    false,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from gridsvc.auth.roles import Role
from gridsvc.auth.tokens import Principal
from gridsvc.common.errors import InvalidParameterError
from gridsvc.grids import service as grids_service
from gridsvc.issues.catalog.calendar import SHANGHAI
from gridsvc.issues.indicators import definitions as indicators
from gridsvc.issues.indicators import league
from gridsvc.issues.indicators.stats import NOT_STEPS, TIMEZONE, department_links
from gridsvc.issues.models import Department, Issue, IssueCategory, IssueEvent
from gridsvc.issues.names import code_names
from gridsvc.issues.workflow import OPEN_STATUSES, Action, Status

PERIODS = ("day", "week", "month", "quarter", "year")
WHOLE_RANGE = "range"  # one row per group for the whole range (the league table's)
AREAS = ("district", "street", "community", "grid")
GROUPS = (*AREAS, "department", "category", "grid_worker")
MAX_DAYS = 3660  # ten years: bounds the work and the rows of one answer
RESPONSES = (Action.REGISTER.value, Action.REJECT.value)
NONE_CODE = "(none)"


def local_range(start: date, end: date) -> tuple[datetime, datetime]:
    """Return the instants of local midnight on ``start`` and after ``end`` (both inclusive)."""
    if end < start:
        raise InvalidParameterError("to", f"{end} is before from={start}")
    if (end - start).days >= MAX_DAYS:
        raise InvalidParameterError("to", f"at most {MAX_DAYS} days from 'from'")
    if start < date(1900, 1, 1) or end >= date(9999, 1, 1):
        raise InvalidParameterError("from", "dates from 1900-01-01 to 9998-12-31")
    begin = datetime.combine(start, time(), tzinfo=SHANGHAI)
    return begin, datetime.combine(end + timedelta(days=1), time(), tzinfo=SHANGHAI)


def case_flags(cohort: ColumnElement[bool]) -> Subquery:
    """One row per issue of the cohort with what its events say: registered, dispatched..."""
    previous = func.lag(IssueEvent.deadline_at).over(
        partition_by=IssueEvent.issue_id, order_by=(IssueEvent.created_at, IssueEvent.id)
    )
    steps = select(
        IssueEvent.issue_id,
        IssueEvent.action,
        IssueEvent.from_status,
        IssueEvent.created_at,
        IssueEvent.id,
        previous.label("previous_deadline"),
    )
    # Only the cohort's events: the window and the grouping then read no other case's.
    steps = steps.where(IssueEvent.issue_id.in_(select(Issue.id).where(cohort))).subquery("steps")
    action, deadline = steps.c.action, steps.c.previous_deadline

    def any_event(condition: ColumnElement[bool]) -> ColumnElement[bool]:
        return func.coalesce(func.bool_or(condition), false())

    in_time = or_(deadline.is_(None), steps.c.created_at <= deadline)
    registered_at = func.min(steps.c.created_at).filter(action == Action.REGISTER.value)
    return (
        select(
            steps.c.issue_id,
            any_event(action == Action.REGISTER.value).label("registered"),
            any_event(
                or_(
                    action.in_([Action.DISPATCH.value, Action.WHISTLE.value]),
                    and_(action == Action.ACCEPT.value, steps.c.from_status == "registered"),
                )
            ).label("dispatched"),
            any_event(action.in_([Action.SEND_BACK.value, Action.REOPEN.value])).label("reworked"),
            any_event(action == Action.REOPEN.value).label("reopened"),
            any_event(action == Action.EXTEND.value).label("extended"),
            any_event(action == Action.ESCALATE.value).label("escalated"),
            # Late as the issue statistics count it: a step after the deadline then running.
            any_event(and_(action.not_in(NOT_STEPS), steps.c.created_at > deadline)).label("late"),
            # Whether the first registration or rejection came in time (one window less).
            func.coalesce(first_of(in_time, steps, action.in_(RESPONSES)), false()).label(
                "responded_on_time"
            ),
            registered_at.label("registered_at"),
        )
        .group_by(steps.c.issue_id)
        .subquery("case_flags")
    )


def first_of(
    value: ColumnElement[bool], steps: Subquery, where: ColumnElement[bool]
) -> ColumnElement[bool]:
    """Return the ``value`` of the group's first step (by time) meeting ``where``, or NULL."""
    ordered = aggregate_order_by(value, steps.c.created_at, steps.c.id)
    return func.array_agg(ordered).filter(where)[1]


def grid_worker_links(within: Select) -> Subquery:
    """(issue_id, grid worker) for every grid worker who took a step on a case ``within``."""
    return (
        select(IssueEvent.issue_id.label("issue_id"), IssueEvent.actor.label("grid_worker"))
        .where(IssueEvent.actor_role == Role.GRID_WORKER.value, IssueEvent.issue_id.in_(within))
        .distinct()
        .subquery("issue_grid_workers")
    )


def counted(flags: Subquery, now: datetime) -> dict[str, ColumnElement[Any]]:
    """Return the SQL of every count of ``indicators.COUNTS``, by key."""
    closed = Issue.status == Status.CLOSED.value
    registered = flags.c.registered
    overdue = and_(
        Issue.status.in_(OPEN_STATUSES),
        Issue.status != Status.SUSPENDED.value,
        Issue.deadline_at < now,
    )
    due = and_(registered, or_(closed, overdue))
    hours = func.extract("epoch", flags.c.registered_at - Issue.created_at) / 3600.0

    def number(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.count().filter(condition)

    sql = {
        "reports": func.count(),
        "registered": number(registered),
        "dispatched": number(and_(registered, flags.c.dispatched)),
        "due": number(due),
        "closed": number(closed),
        "closed_on_time": number(and_(closed, ~flags.c.late)),
        "reworked": number(and_(due, flags.c.reworked)),
        "extended": number(and_(due, flags.c.extended)),
        "resolved": number(and_(closed, ~flags.c.reopened)),
        "responded_on_time": number(flags.c.responded_on_time),
        "rated": number(and_(closed, Issue.rating.is_not(None))),
        "satisfied": number(and_(closed, Issue.rating >= 4)),
        "escalated": number(flags.c.escalated),
        "escalated_closed": number(and_(flags.c.escalated, closed)),
        "hours_to_register": func.coalesce(func.sum(hours), 0.0),
    }
    assert set(sql) == {count.key for count in indicators.COUNTS}
    return sql


def scope(principal: Principal, departments: Subquery) -> ColumnElement[bool]:
    """Return the cases whose figures the principal may see: own grids, department, district."""
    role = principal.role
    if role is Role.SUPERVISOR and principal.district:
        return Issue.district_code == principal.district
    if role in (Role.SUPERVISOR, Role.ADMIN):
        return true()
    if role is Role.GRID_WORKER:
        return Issue.grid_code.in_(principal.grids)
    if role is Role.DEPARTMENT:
        own = select(departments.c.issue_id).where(departments.c.department == principal.department)
        return Issue.id.in_(own)
    return false()


def own_group(principal: Principal, by: str) -> str | None:
    """Return the one group a department or grid worker sees when grouped by itself."""
    if by == "department" and principal.role is Role.DEPARTMENT:
        return principal.department
    if by == "grid_worker" and principal.role is Role.GRID_WORKER:
        return principal.subject
    return None


def indicator_rows(
    session: Session,
    principal: Principal,
    start: date,
    end: date,
    by: str,
    period: str,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Every indicator per (period, group) of the cases reported from ``start`` to ``end``."""
    statement = indicator_statement(principal, start, end, by, period, now)
    rows = [row._asdict() for row in session.execute(statement)]
    names = group_names(session, by, {row["code"] for row in rows})
    return [
        indicators.finish_row(
            max(row.pop("period_start", start), start).isoformat(),
            row["code"],
            names.get(row["code"]),
            row,
        )
        for row in rows
    ]


def indicator_statement(
    principal: Principal, start: date, end: date, by: str, period: str, now: datetime | None
) -> Select:
    """Return the query counting every count per (period, group) in the principal's scope."""
    if by not in GROUPS:
        raise InvalidParameterError("by", f"one of {', '.join(GROUPS)}, not '{by}'")
    if period not in (*PERIODS, WHOLE_RANGE):
        raise InvalidParameterError("period", f"one of {', '.join(PERIODS)}, not '{period}'")
    now = now or datetime.now(UTC)
    begin, finish = local_range(start, end)
    cohort = and_(Issue.created_at >= begin, Issue.created_at < finish)
    cohort_ids = select(Issue.id).where(cohort)
    flags, departments = case_flags(cohort), department_links(cohort_ids)
    group: ColumnElement[Any]
    statement = select().select_from(Issue).join(flags, flags.c.issue_id == Issue.id)
    if by == "department":
        group = departments.c.department
        statement = statement.outerjoin(departments, departments.c.issue_id == Issue.id)
    elif by == "grid_worker":
        workers = grid_worker_links(cohort_ids)
        group = workers.c.grid_worker
        statement = statement.outerjoin(workers, workers.c.issue_id == Issue.id)
    else:
        group = getattr(Issue, f"{by}_code")
    counts = counted(flags, now)
    periods: list[ColumnElement[Any]] = []
    if period != WHOLE_RANGE:
        local = func.timezone(TIMEZONE, Issue.created_at)
        periods.append(func.date(func.date_trunc(period, local)).label("period_start"))
    statement = (
        statement.add_columns(
            *periods,
            func.coalesce(group, literal(NONE_CODE)).label("code"),
            *(sql.label(key) for key, sql in counts.items()),
        )
        .where(cohort, scope(principal, departments))
        .group_by(*periods, group)
        .order_by(*periods, group)
    )
    if (own := own_group(principal, by)) is not None:
        statement = statement.where(group == own)
    return statement


def group_names(session: Session, by: str, codes: set[str]) -> dict[str, str]:
    """Chinese names of the groups' codes (a grid worker is known by the token's subject)."""
    codes = codes - {NONE_CODE}
    if not codes:
        return {}
    if by in AREAS:
        return grids_service.names_of(session, by, codes)
    if by == "grid_worker":
        return {code: code for code in codes}
    return code_names(session, Department if by == "department" else IssueCategory, codes)


def league_table(
    session: Session,
    principal: Principal,
    start: date,
    end: date,
    by: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Rank the groups ``by`` over the whole range (红黑榜), with the scoring sheet used."""
    sheet = league.load_league()
    rows = indicator_rows(session, principal, start, end, by, WHOLE_RANGE, now)
    return {
        "weights": [vars(weight) for weight in sheet.weights],
        "total_points": sheet.total_points,
        "min_reports": sheet.min_reports,
        "rows": league.rank(sheet, rows),
    }
