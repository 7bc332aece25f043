"""Categories, departments and the routing table (category, district) -> department."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridsvc.common.errors import InvalidParameterError, NotFoundError
from gridsvc.grids import service as grids_service
from gridsvc.issues.catalog.deadlines import Priority
from gridsvc.issues.models import CategoryDeadline, Department, DepartmentRoute, IssueCategory
from gridsvc.issues.service import get_category, local


def list_departments(session: Session) -> list[dict[str, str]]:
    """Every department, by code."""
    return [
        {"code": d.code, "name": d.name, "name_en": d.name_en}
        for d in session.scalars(select(Department).order_by(Department.code))
    ]


def list_categories(session: Session, *, retired: bool = False) -> list[dict[str, Any]]:
    """Categories with default department and stage deadlines; ``retired``: retired ones too."""
    deadlines: dict[tuple[str, str], dict[str, str]] = {}
    for row in session.scalars(select(CategoryDeadline)):
        amount = int(row.amount) if float(row.amount).is_integer() else row.amount
        key = (row.category_code, row.priority)
        deadlines.setdefault(key, {})[row.stage] = f"{amount}{row.unit[0]}"
    statement = select(IssueCategory).order_by(IssueCategory.code)
    if not retired:
        statement = statement.where(IssueCategory.retired_at.is_(None))
    return [
        {
            "code": c.code,
            "name": c.name,
            "name_en": c.name_en,
            "department": c.department_code,
            "deadlines": deadlines.get((c.code, Priority.NORMAL.value), {}),
            "urgent_deadlines": deadlines.get((c.code, Priority.URGENT.value), {}),
            "after_photo_required": bool(c.after_photo_required),
            "retired_at": local(c.retired_at),
        }
        for c in session.scalars(statement)
    ]


def list_routes(session: Session, district: str | None = None) -> list[dict[str, Any]]:
    """Return the overriding rows of the routing table, optionally of one district."""
    statement = select(DepartmentRoute).order_by(
        DepartmentRoute.district_code, DepartmentRoute.category_code
    )
    if district is not None:
        grids_service.check_code("district", district)
        statement = statement.where(DepartmentRoute.district_code == district)
    return [route_body(route) for route in session.scalars(statement)]


def route_body(route: DepartmentRoute) -> dict[str, Any]:
    """Return one routing-table row as the API shows it."""
    return {
        "category": route.category_code,
        "district": route.district_code,
        "department": route.department_code,
        "default": False,
    }


def set_route(session: Session, category: str, district: str, department: str) -> dict[str, Any]:
    """Send the category's cases in the district to ``department`` from now on."""
    get_category(session, category)
    grids_service.check_code("district", district, "district", "path")
    if session.get(Department, department) is None:
        raise InvalidParameterError("department", f"unknown department '{department}'", "body")
    route = session.get(DepartmentRoute, (category, district))
    if route is None:
        route = DepartmentRoute(category_code=category, district_code=district)
        session.add(route)
    route.department_code = department
    session.flush()
    return route_body(route)


def remove_route(session: Session, category: str, district: str) -> dict[str, Any]:
    """Drop the override: the category's own department acts in the district again."""
    route = session.get(DepartmentRoute, (category, district))
    if route is None:
        raise NotFoundError(f"no routing-table row for ({category}, {district})")
    session.delete(route)
    session.flush()
    default = get_category(session, category).department_code
    return {"category": category, "district": district, "department": default, "default": True}
