"""Gathering a bulletin's figures: the period's indicators, the league table, the overdue list."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.orm import Session

from gridsvc.auth.roles import Role
from gridsvc.auth.tokens import ForbiddenError, Principal
from gridsvc.common.errors import InvalidParameterError
from gridsvc.grids import service as grids_service
from gridsvc.issues import actions
from gridsvc.issues.bulletins import document as bulletin
from gridsvc.issues.bulletins import hotspot_map as bulletin_map
from gridsvc.issues.catalog.calendar import SHANGHAI
from gridsvc.issues.indicators import definitions as indicators
from gridsvc.issues.indicators import export as indicator_export
from gridsvc.issues.indicators import hotspots
from gridsvc.issues.indicators import service as indicator_service

HOTSPOT_GRIDS = 200  # grids on the hotspot map, most cases first
HOTSPOTS_LISTED = 10
OVERDUE_SHOWN = 200  # the longest overdue cases listed; the count says how many there are


def scoped(session: Session, principal: Principal, district: str | None) -> Principal:
    """Return the principal narrowed to ``district``; a district supervisor keeps its own."""
    if district is None:
        return principal
    grids_service.check_code("district", district)
    if principal.district and principal.district != district:
        raise ForbiddenError(f"this token covers district {principal.district}, not {district}")
    grids_service.get_district_name(session, district)  # 404 for a district that is not
    return replace(principal, role=Role.SUPERVISOR, district=district)


def totals(rows: list[dict[str, Any]], start: date) -> dict[str, Any]:
    """Add up rows of areas (each case in exactly one) into one row for the whole scope."""
    summed = {
        count.key: sum(row["counts"][count.key] for row in rows) for count in indicators.COUNTS
    }
    return indicators.finish_row(start.isoformat(), "total", "合计", summed)


def period_ranges(period: str, day: date) -> tuple[tuple[date, date], tuple[date, date]]:
    """Return the period ``day`` falls in and the one before (a 422 naming ``date`` if none)."""
    try:
        span = bulletin.period_range(period, day)
        before = bulletin.period_range(period, bulletin.previous_day(period, day))
    except (OverflowError, ValueError):
        raise InvalidParameterError("date", f"no bulletin period around {day}") from None
    return span, before


def bulletin_figures(
    session: Session,
    principal: Principal,
    period: str,
    day: date,
    district: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Everything a bulletin shows for the period ``day`` falls in, within the scope."""
    now = now or datetime.now(UTC)
    principal = scoped(session, principal, district)
    district = principal.district
    (start, end), before = period_ranges(period, day)
    area = "street" if district else "district"
    whole = indicator_service.WHOLE_RANGE

    def rows(by: str, span: tuple[date, date]) -> list[dict[str, Any]]:
        return indicator_service.indicator_rows(session, principal, *span, by, whole, now)

    areas, departments = rows(area, (start, end)), rows("department", (start, end))
    overdue = actions.list_overdue(session, principal, now)
    layer = hotspots.hotspot_layer(session, principal, start, end, HOTSPOT_GRIDS)
    scope_name = grids_service.get_district_name(session, district) if district else "全市"
    area_word = "各街道" if district else "各旗区"
    return {
        "title": f"{scope_name}网格化管理{bulletin.period_title(period, start)}通报",
        "period": period,
        "district": district,
        "scope_name": scope_name,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "counted_at": f"{now.astimezone(SHANGHAI):%Y-%m-%d %H:%M}",
        "total": totals(areas, start),
        "previous": totals(rows(area, before), before[0]),
        "sections": [
            {"heading": f"二、{area_word}情况", "by": area, "rows": areas},
            {"heading": "三、各部门情况", "by": "department", "rows": departments},
        ],
        "league_heading": "四、部门红黑榜",
        "league": indicator_service.league_table(session, principal, start, end, "department", now),
        "hotspot_heading": "六、热点网格",
        "hotspots": [feature["properties"] for feature in layer["features"][:HOTSPOTS_LISTED]],
        "hotspot_map": bulletin_map.svg_map(layer["features"]),
        "overdue_heading": "五、超期案件(逐一销号)",
        "overdue_total": len(overdue),
        "overdue": named_cases(session, overdue[:OVERDUE_SHOWN]),
    }


def bulletin_name(figures: dict[str, Any]) -> str:
    """Return a file name for the bulletin, without extension."""
    scope = f"-{figures['district']}" if figures["district"] else ""
    return f"bulletin-{figures['period']}-{figures['start']}{scope}"


def bulletin_csv(figures: dict[str, Any]) -> bytes:
    """Return the bulletin's tables (total, areas, departments) as one CSV."""
    sections = [("total", [figures["total"]])]
    sections += [(section["by"], section["rows"]) for section in figures["sections"]]
    return indicator_export.sections_to_csv(sections)


def named_cases(session: Session, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the overdue cases with category and department names and local times."""
    categories = indicator_service.group_names(session, "category", {c["category"] for c in cases})
    departments = indicator_service.group_names(
        session, "department", {d for c in cases for d in c["departments"] or []}
    )
    return [
        {
            **case,
            "category": categories.get(case["category"], case["category"]),
            "departments": [departments.get(d, d) for d in case["departments"] or []],
            "deadline": f"{case['deadline']:%Y-%m-%d %H:%M}",
            "escalated_at": f"{case['escalated_at']:%Y-%m-%d %H:%M}"
            if case["escalated_at"]
            else None,
        }
        for case in cases
    ]
