"""Stage deadlines (限期): the default categories' rules and deadline arithmetic. Pure, no I/O.

A rule says how long a stage of a category's cases may take, in working hours (``"4h"``) or
working days (``"3d"``), on the work calendar (``gridsvc.issues.catalog.calendar``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from importlib import resources
from typing import Literal

from gridsvc.issues.catalog.calendar import WorkCalendar
from gridsvc.issues.workflow import Stage

Unit = Literal["hours", "days"]


class Priority(StrEnum):
    """How urgent a case is (紧急程度); an urgent case runs on its category's urgent deadlines."""

    NORMAL = "normal"  # 一般
    URGENT = "urgent"  # 紧急


@dataclass(frozen=True)
class DeadlineRule:
    """How long one stage may take."""

    amount: float
    unit: Unit

    def due(self, calendar: WorkCalendar, start: datetime) -> datetime:
        """Return the deadline of a stage that starts at ``start``."""
        if self.unit == "days":
            return calendar.add_working_days(start, int(self.amount))
        return calendar.add_working_hours(start, self.amount)

    def __str__(self) -> str:
        amount = int(self.amount) if float(self.amount).is_integer() else self.amount
        return f"{amount}{self.unit[0]}"


def parse_rule(text: str) -> DeadlineRule:
    """Parse ``"4h"`` (working hours) or ``"3d"`` (working days) into a rule.

    Raises
    ------
    ValueError
        If the text is neither, or the amount is negative; the message says what is accepted.
    """
    text = text.strip().lower()
    units: dict[str, Unit] = {"h": "hours", "d": "days"}
    try:
        amount = float(text[:-1])
        unit = units[text[-1:]]
    except (ValueError, KeyError):
        message = f"a deadline is like '4h' or '3d' (working hours/days), not {text!r}"
        raise ValueError(message) from None
    if amount < 0 or (unit == "days" and not amount.is_integer()):
        raise ValueError(f"a deadline is zero or more hours, or whole days, not {text!r}")
    return DeadlineRule(amount, unit)


def overdue_hours(calendar: WorkCalendar, deadline: datetime, now: datetime) -> float:
    """Working hours by which ``deadline`` has passed at ``now`` (negative: time left)."""
    return calendar.working_hours_between(deadline, now)


@dataclass(frozen=True)
class CategoryRow:
    """One default category: code, names, department and its stage deadlines."""

    code: str
    name: str
    name_en: str
    department_code: str
    deadlines: dict[Stage, DeadlineRule]


def _rows(filename: str) -> list[dict[str, str]]:
    resource = resources.files("gridsvc.issues") / "data" / filename
    with resource.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def default_departments() -> list[dict[str, str]]:
    """Return the shipped departments (``data/departments.csv``): code, name, name_en."""
    return _rows("departments.csv")


def default_categories() -> list[CategoryRow]:
    """Return the shipped categories (``data/categories.csv``) with their stage deadlines."""
    return [
        CategoryRow(
            code=row["code"],
            name=row["name"],
            name_en=row["name_en"],
            department_code=row["department_code"],
            deadlines={stage: parse_rule(row[stage.value]) for stage in Stage},
        )
        for row in _rows("categories.csv")
    ]


def default_urgent_deadlines() -> dict[str, dict[Stage, DeadlineRule]]:
    """Return the shipped urgent deadlines (``data/urgent_deadlines.csv``) by category code."""
    return {
        row["code"]: {stage: parse_rule(row[stage.value]) for stage in Stage if row[stage.value]}
        for row in _rows("urgent_deadlines.csv")
    }
