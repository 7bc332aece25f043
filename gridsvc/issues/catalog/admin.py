"""Admins edit the catalogue: categories (names, default department) and stage deadlines.

A new deadline applies to stages started from now on; running stages keep theirs.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from gridsvc.common.errors import InvalidParameterError, NotFoundError
from gridsvc.issues.catalog.deadlines import DeadlineRule, Priority, parse_rule
from gridsvc.issues.catalog.schemas import CategoryIn
from gridsvc.issues.catalog.service import list_categories
from gridsvc.issues.models import CODE_FORMAT, CategoryDeadline, Department, IssueCategory
from gridsvc.issues.service import get_category
from gridsvc.issues.workflow import Stage

MAX_CODE_LENGTH = 40
STAGES = ", ".join(stage.value for stage in Stage)


def check_category_code(code: str) -> str:
    """Return ``code`` if it is a usable category code, else a 422 saying what is."""
    if len(code) > MAX_CODE_LENGTH or not re.fullmatch(CODE_FORMAT, code):
        raise InvalidParameterError(
            "code",
            f"a category code is 1-{MAX_CODE_LENGTH} lower-case letters, digits and '_', "
            f"starting with a letter, not '{code}'",
            "path",
        )
    return code


def check_stage(stage: str) -> Stage:
    """Return the stage named ``stage``, else a 422 naming the stages."""
    try:
        return Stage(stage)
    except ValueError:
        raise InvalidParameterError("stage", f"one of {STAGES}, not '{stage}'", "path") from None


def check_rule(text: str, name: str) -> DeadlineRule:
    """Read a deadline like '4h' or '3d', else a 422 naming the field.

    A deadline of nothing ('0h') would make every case overdue the moment it arrives.
    """
    try:
        rule = parse_rule(text)
    except ValueError as error:
        raise InvalidParameterError(name, str(error), "body") from None
    if rule.amount <= 0:
        raise InvalidParameterError(name, f"a stage deadline is more than 0, not {text!r}", "body")
    return rule


def category_body(session: Session, code: str) -> dict[str, Any]:
    """Return one category as ``GET /issue-categories`` lists it."""
    session.flush()
    return next(row for row in list_categories(session, retired=True) if row["code"] == code)


def put_category(session: Session, code: str, body: CategoryIn) -> tuple[dict[str, Any], bool]:
    """Create or update a category; deadlines given replace all of that priority's stages.

    Returns the category and whether it was created.
    """
    check_category_code(code)
    if session.get(Department, body.department) is None:
        known = ", ".join(session.scalars(select(Department.code).order_by(Department.code)))
        raise InvalidParameterError(
            "department", f"unknown department '{body.department}'; known: {known}", "body"
        )
    replaced = {
        priority: check_rules(given, field)
        for priority, given, field in (
            (Priority.NORMAL, body.deadlines, "deadlines"),
            (Priority.URGENT, body.urgent_deadlines, "urgent_deadlines"),
        )
        if given is not None
    }
    category = session.get(IssueCategory, code)
    created = category is None
    if category is None:
        category = IssueCategory(code=code)
        session.add(category)
    category.name, category.name_en = body.name, body.name_en
    category.department_code = body.department
    if body.after_photo_required is not None:
        category.after_photo_required = body.after_photo_required
    session.flush()
    for priority, rules in replaced.items():
        session.execute(
            delete(CategoryDeadline).where(
                CategoryDeadline.category_code == code, CategoryDeadline.priority == priority.value
            )
        )
        for stage, rule in rules.items():
            row = CategoryDeadline(category_code=code, priority=priority.value, stage=stage.value)
            row.amount, row.unit = rule.amount, rule.unit
            session.add(row)
    return category_body(session, code), created


def check_rules(given: dict[str, str], field: str) -> dict[Stage, DeadlineRule]:
    """Read every stage's deadline of a body's ``deadlines``/``urgent_deadlines``."""
    return {
        check_stage_in_body(stage, field): check_rule(text, f"{field}.{stage}")
        for stage, text in given.items()
    }


def check_stage_in_body(stage: str, field: str = "deadlines") -> Stage:
    """Return the stage named by a key of ``field``, else a 422 naming the stages."""
    try:
        return Stage(stage)
    except ValueError:
        raise InvalidParameterError(field, f"stages are {STAGES}, not '{stage}'", "body") from None


def set_deadline(
    session: Session, code: str, stage: str, deadline: str, priority: Priority = Priority.NORMAL
) -> dict[str, Any]:
    """Set how long one stage of the category's cases of ``priority`` may take from now on."""
    get_category(session, code)
    which = check_stage(stage)
    rule = check_rule(deadline, "deadline")
    row = session.get(CategoryDeadline, (code, priority.value, which.value))
    if row is None:
        row = CategoryDeadline(category_code=code, priority=priority.value, stage=which.value)
        session.add(row)
    row.amount, row.unit = rule.amount, rule.unit
    return category_body(session, code)


def remove_deadline(
    session: Session, code: str, stage: str, priority: Priority = Priority.NORMAL
) -> dict[str, Any]:
    """Drop a stage's deadline of ``priority``.

    Without a normal deadline the stage runs without one; without an urgent one, urgent
    cases run on the normal deadline.
    """
    get_category(session, code)
    which = check_stage(stage)
    row = session.get(CategoryDeadline, (code, priority.value, which.value))
    if row is None:
        raise NotFoundError(
            f"category '{code}' has no {priority.value} deadline for stage '{which}'"
        )
    session.delete(row)
    return category_body(session, code)


def retire(session: Session, code: str, now: datetime | None = None) -> dict[str, Any]:
    """Retire a category: gone from the pickers and new reports, kept for its old cases."""
    category = get_category(session, code)
    if category.retired_at is None:
        category.retired_at = now or datetime.now(UTC)
    return category_body(session, code)


def restore(session: Session, code: str) -> dict[str, Any]:
    """Bring a retired category back into the pickers and new reports."""
    category = get_category(session, code)
    category.retired_at = None
    return category_body(session, code)
