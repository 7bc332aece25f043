"""Supervisors' statistics of issues per period and per grid, district, department...

Counts by status, on-time rate, median time to close and overdue cases.

By department, a case counts under every department involved in it: the one it was routed
to (the responsible department) and every department dispatched or whistled (吹哨) to it,
as its events recorded them (a department that declined, or held a case since reopened,
still counts).
A case with several departments counts once in each, so those rows add up to more cases
than there are.

A closed case was on time when no step of it came after the deadline that was running:
every event is compared with the deadline the event before it left (suspensions stop the
clock; extensions move it).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Subquery, and_, func, literal, select, union
from sqlalchemy.orm import Session

from gridsvc.auth.tokens import Principal
from gridsvc.common.errors import InvalidParameterError
from gridsvc.issues.models import Issue, IssueEvent
from gridsvc.issues.service import visible_to
from gridsvc.issues.workflow import OPEN_STATUSES, Action, Status

PERIODS = ("week", "month", "quarter")
GROUPS: dict[str, Any] = {
    "grid": Issue.grid_code,
    "community": Issue.community_code,
    "street": Issue.street_code,
    "district": Issue.district_code,
    "department": Issue.department_code,
    "category": Issue.category_code,
}
# Actions that are no step of the handling itself.
NOT_STEPS = tuple(
    action.value
    for action in (
        Action.ESCALATE,
        Action.RATE,
        Action.EXTEND,
        Action.REQUEST_EXTENSION,
        Action.SIGN_IN,
        Action.REPORT_PART,
        Action.CLOSE_WHISTLE,
        Action.PRIORITIZE,
    )
)
TIMEZONE = "Asia/Shanghai"


def late_issue_ids() -> Any:
    """Ids of issues with at least one step taken after the deadline then running."""
    previous = func.lag(IssueEvent.deadline_at).over(
        partition_by=IssueEvent.issue_id, order_by=(IssueEvent.created_at, IssueEvent.id)
    )
    steps = select(
        IssueEvent.issue_id,
        IssueEvent.action,
        IssueEvent.created_at,
        previous.label("previous_deadline"),
    ).subquery("steps")
    return (
        select(steps.c.issue_id)
        .where(steps.c.created_at > steps.c.previous_deadline, steps.c.action.not_in(NOT_STEPS))
        .distinct()
    )


def department_links(within: Any = None) -> Subquery:
    """(issue_id, department) for every department an event named: routed, dispatched, whistled.

    Read from the append-only events, never from ``issues.departments``, which a decline or a
    reopen overwrites. ``within``: a select of issue ids to read the events of (else all).
    """
    details = IssueEvent.details
    routed = select(
        IssueEvent.issue_id.label("issue_id"), details["department_code"].astext.label("department")
    ).where(details["department_code"].astext.is_not(None))
    departments = func.jsonb_array_elements_text(details["departments"])
    named = select(IssueEvent.issue_id, departments).where(
        func.jsonb_typeof(details["departments"]) == "array"
    )
    if within is not None:
        routed = routed.where(IssueEvent.issue_id.in_(within))
        named = named.where(IssueEvent.issue_id.in_(within))
    return union(routed, named).subquery("issue_departments")


def count_where(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """Count of the group's issues meeting ``condition``."""
    return func.count().filter(condition)


def issue_statistics(
    session: Session, principal: Principal, period: str, by: str, now: datetime | None = None
) -> list[dict[str, Any]]:
    """One row per (period start, group) of the issues in the principal's scope."""
    if period not in PERIODS:
        raise InvalidParameterError("period", f"one of {', '.join(PERIODS)}, not '{period}'")
    if by not in GROUPS:
        raise InvalidParameterError("by", f"one of {', '.join(GROUPS)}, not '{by}'")
    now = now or datetime.now(UTC)
    group = GROUPS[by]
    links = department_links() if by == "department" else None
    if links is not None:
        group = links.c.department
    start = func.date_trunc(period, func.timezone(TIMEZONE, Issue.created_at))
    closed = Issue.status == Status.CLOSED.value
    late = Issue.id.in_(late_issue_ids())
    hours_to_close = func.extract("epoch", Issue.closed_at - Issue.created_at) / 3600.0
    status_counts = [
        count_where(Issue.status == status.value).label(status.value) for status in Status
    ]
    statement = (
        select(
            func.date(start).label("period_start"),
            func.coalesce(group, literal("(none)")).label(by),
            func.count().label("total"),
            *status_counts,
            count_where(and_(closed, ~late)).label("closed_on_time"),
            func.percentile_cont(0.5)
            .within_group(hours_to_close)
            .filter(closed)
            .label("median_hours_to_close"),
            count_where(and_(Issue.status.in_(OPEN_STATUSES), Issue.deadline_at < now)).label(
                "overdue"
            ),
        )
        .select_from(Issue)
        .where(visible_to(principal))
        .group_by(start, group)
        .order_by(start, group)
    )
    if links is not None:
        statement = statement.outerjoin(links, links.c.issue_id == Issue.id)
    return [finish_row(row._asdict()) for row in session.execute(statement)]


def finish_row(record: dict[str, Any]) -> dict[str, Any]:
    """Add the on-time rate and round the median of one statistics row."""
    closed_count = record["closed"]
    record["period_start"] = record["period_start"].isoformat()
    record["on_time_rate"] = (
        round(record["closed_on_time"] / closed_count, 4) if closed_count else None
    )
    median = record["median_hours_to_close"]
    record["median_hours_to_close"] = round(median, 2) if median is not None else None
    return record


def to_csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """Return the rows as CSV text with a header line."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def columns(by: str) -> list[str]:
    """Return the column order of a statistics table grouped ``by``."""
    return [
        "period_start",
        by,
        "total",
        *(status.value for status in Status),
        "closed_on_time",
        "on_time_rate",
        "median_hours_to_close",
        "overdue",
    ]
