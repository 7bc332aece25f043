"""吹哨报到 per department: how often it was summoned, signed in (报到) and reported its part."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select, Subquery, and_, func, select
from sqlalchemy.orm import Session

from gridsvc.auth.roles import Role
from gridsvc.auth.tokens import Principal
from gridsvc.issues.indicators import definitions as indicators
from gridsvc.issues.indicators import service as indicator_service
from gridsvc.issues.indicators.stats import department_links
from gridsvc.issues.models import Issue, IssueEvent
from gridsvc.issues.workflow import Action


def first_by_department(action: Action, cohort_ids: Any) -> Any:
    """(issue_id, department, first time) of ``action`` events naming their department."""
    department = IssueEvent.details["department"].astext
    return (
        select(
            IssueEvent.issue_id,
            department.label("department"),
            func.min(IssueEvent.created_at).label("at"),
        )
        .where(IssueEvent.action == action.value, IssueEvent.issue_id.in_(cohort_ids))
        .group_by(IssueEvent.issue_id, department)
        .subquery(f"first_{action.value}")
    )


def cohort_of(principal: Principal, start: date, end: date) -> Select[tuple[int]]:
    """Select the ids of the cases reported from ``start`` to ``end`` in the caller's scope."""
    begin, finish = indicator_service.local_range(start, end)
    cohort = and_(Issue.created_at >= begin, Issue.created_at < finish)
    return select(Issue.id).where(
        cohort, indicator_service.scope(principal, department_links(select(Issue.id).where(cohort)))
    )


def first_summons(cohort_ids: Select[tuple[int]]) -> Subquery:
    """Each (case, department) a whistle summoned, with when it was first summoned."""
    named = func.jsonb_array_elements_text(IssueEvent.details["departments"])
    whistled = (
        select(IssueEvent.issue_id, named.label("department"), IssueEvent.created_at)
        .where(IssueEvent.action == Action.WHISTLE.value, IssueEvent.issue_id.in_(cohort_ids))
        .subquery("whistled")
    )
    return (
        select(
            whistled.c.issue_id,
            whistled.c.department,
            func.min(whistled.c.created_at).label("at"),
        )
        .group_by(whistled.c.issue_id, whistled.c.department)
        .subquery("summons")
    )


def whistle_rows(
    session: Session, principal: Principal, start: date, end: date
) -> list[dict[str, Any]]:
    """One row per summoned department of the cases reported from ``start`` to ``end``."""
    cohort_ids = cohort_of(principal, start, end)
    summons = first_summons(cohort_ids)
    signed = first_by_department(Action.SIGN_IN, cohort_ids)
    parts = first_by_department(Action.REPORT_PART, cohort_ids)

    def same(other: Any) -> Any:
        return and_(
            other.c.issue_id == summons.c.issue_id, other.c.department == summons.c.department
        )

    hours = func.extract("epoch", signed.c.at - summons.c.at) / 3600.0
    statement = (
        select(
            summons.c.department.label("code"),
            func.count().label("summoned"),
            func.count(signed.c.at).label("signed_in"),
            func.count(parts.c.at).label("reported"),
            func.coalesce(func.sum(hours), 0.0).label("hours_to_sign_in"),
        )
        .outerjoin(signed, same(signed))
        .outerjoin(parts, same(parts))
        .group_by(summons.c.department)
        .order_by(summons.c.department)
    )
    if principal.role is Role.DEPARTMENT:
        statement = statement.where(summons.c.department == principal.department)
    rows = [row._asdict() for row in session.execute(statement)]
    names = indicator_service.group_names(session, "department", {row["code"] for row in rows})
    return [indicators.whistle_row(row["code"], names.get(row["code"]), row) for row in rows]
