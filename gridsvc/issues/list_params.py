"""The query parameters of the staff's issue list, declared once (unknown ones are refused)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Query

from gridsvc.common.api import BBoxDep
from gridsvc.issues.catalog.deadlines import Priority
from gridsvc.issues.listing import IssueFilter
from gridsvc.issues.workflow import Status


def issue_filter(
    bbox: BBoxDep,
    status: Annotated[Status | None, Query(description="Only issues in this status.")] = None,
    priority: Annotated[
        Priority | None, Query(description="normal (一般) or urgent (紧急).")
    ] = None,
    category: Annotated[str | None, Query(max_length=40, description="Category code.")] = None,
    grid: Annotated[str | None, Query(description="15-digit grid code.")] = None,
    district: Annotated[str | None, Query(description="6-digit district code.")] = None,
    department: Annotated[
        str | None,
        Query(max_length=40, description="Department code: routed to it, or summoned."),
    ] = None,
    date_from: Annotated[
        date | None,
        Query(alias="from", description="Reported on or after this day (city time, YYYY-MM-DD)."),
    ] = None,
    date_to: Annotated[
        date | None,
        Query(alias="to", description="Reported on or before this day (city time, YYYY-MM-DD)."),
    ] = None,
    overdue: Annotated[
        bool | None, Query(description="true: open and past the stage deadline; false: not.")
    ] = None,
    text: Annotated[
        str | None,
        Query(min_length=1, max_length=200, description="Words in the description (staff only)."),
    ] = None,
) -> IssueFilter:
    """Read the list's filters; every one left out matches every issue."""
    return IssueFilter(
        status=status.value if status else None,
        priority=priority.value if priority else None,
        category=category,
        grid=grid,
        district=district,
        department=department,
        date_from=date_from,
        date_to=date_to,
        overdue=overdue,
        bbox=bbox,
        text=text,
    )


IssueFilterDep = Annotated[IssueFilter, Depends(issue_filter)]
