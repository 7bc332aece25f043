"""Names beside codes in staff answers: loaded once for a whole page, never per issue.

A page of issues needs the names of its categories, departments and areas; one query per
kind of name (six in all) serves every issue and every event of the page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridsvc.grids import service as grids_service
from gridsvc.issues.models import Department, Issue, IssueCategory, IssueEvent

AREA_LEVELS = ("grid", "community", "street", "district")


def event_departments(details: dict[str, Any] | None) -> list[str]:
    """Return the codes of the departments an event named: routed to, dispatched, declined..."""
    details = details or {}
    codes = list(details.get("departments") or [])
    for key in ("department_code", "department"):
        if isinstance(details.get(key), str) and details[key] not in codes:
            codes.append(details[key])
    return codes


@dataclass
class NameBook:
    """The names of every code a page of issues (and their events) mentions."""

    categories: dict[str, str] = field(default_factory=dict)
    departments: dict[str, str] = field(default_factory=dict)
    areas: dict[str, dict[str, str]] = field(default_factory=dict)

    def area(self, level: str, code: str | None) -> str | None:
        """Name of the district, street, community or grid with ``code`` (None if unknown)."""
        return self.areas.get(level, {}).get(code) if code else None

    def category(self, code: str | None) -> str | None:
        """Name of the category with ``code``."""
        return self.categories.get(code) if code else None

    def department(self, code: str | None) -> str | None:
        """Name of the department with ``code``."""
        return self.departments.get(code) if code else None

    def named_departments(self, codes: Iterable[str]) -> list[dict[str, str]]:
        """``[{code, name}]`` for department codes (the code stands in for an unknown name)."""
        return [{"code": code, "name": self.departments.get(code) or code} for code in codes]


def code_names(
    session: Session, table: type[Department] | type[IssueCategory], codes: set[str]
) -> dict[str, str]:
    """Return the names of the departments or categories with ``codes`` (one query, if any)."""
    if not codes:
        return {}
    return dict(session.execute(select(table.code, table.name).where(table.code.in_(codes))).all())


def load_names(
    session: Session, issues: Iterable[Issue], events: Iterable[IssueEvent] = ()
) -> NameBook:
    """Load the names of every code ``issues`` and ``events`` mention, one query per kind."""
    issues = list(issues)
    category_codes = {issue.category_code for issue in issues}
    department_codes = {code for issue in issues for code in issue.departments or []}
    department_codes |= {issue.department_code for issue in issues if issue.department_code}
    department_codes |= {code for event in events for code in event_departments(event.details)}
    book = NameBook(
        categories=code_names(session, IssueCategory, category_codes),
        departments=code_names(session, Department, department_codes),
    )
    for level in AREA_LEVELS:
        codes = {getattr(issue, f"{level}_code") for issue in issues} - {None}
        book.areas[level] = grids_service.names_of(session, level, codes) if codes else {}
    return book
