"""Routes of the command centre's indicators (立案率, 结案率, 按期结案率...)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from gridsvc.auth.dependencies import StaffDep, SupervisorDep
from gridsvc.common.errors import InvalidParameterError
from gridsvc.db import SessionDep
from gridsvc.issues.catalog.calendar import SHANGHAI
from gridsvc.issues.indicators import definitions as indicators
from gridsvc.issues.indicators import export as indicator_export
from gridsvc.issues.indicators import hotspots, whistle_stats
from gridsvc.issues.indicators import service as indicator_service
from gridsvc.issues.indicators.schemas import IndicatorTable, LeagueTable

router = APIRouter(prefix="/api/v1", tags=["supervision"])

StartQuery = Annotated[
    date | None,
    Query(alias="from", description="First day reported (local date); default: 1st of month."),
]
EndQuery = Annotated[
    date | None, Query(alias="to", description="Last day reported (local date, inclusive).")
]

FILES = {
    "text/csv": {"schema": {"type": "string"}},
    indicator_export.XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
}


def default_range(start: date | None, end: date | None) -> tuple[date, date]:
    """Return the range asked for; by default the current month up to today (local)."""
    end = end or datetime.now(SHANGHAI).date()
    return start or end.replace(day=1), end


@router.get("/stats/indicators", response_model=IndicatorTable, responses={200: {"content": FILES}})
def indicator_table(
    session: SessionDep,
    principal: StaffDep,
    start: StartQuery = None,
    end: EndQuery = None,
    by: Annotated[
        Literal["district", "street", "community", "grid", "department", "category", "grid_worker"],
        Query(),
    ] = "district",
    period: Annotated[Literal["day", "week", "month", "quarter", "year"], Query()] = "month",
    format: Annotated[Literal["json", "csv", "xlsx"], Query()] = "json",
) -> Any:
    """Rate the cases reported in a date range: each indicator with numerator and denominator.

    Departments and grid workers get their own figures, supervisors their district or the
    city, admins everything.
    """
    start, end = default_range(start, end)
    now = datetime.now(UTC)
    rows = indicator_service.indicator_rows(session, principal, start, end, by, period, now)
    name = f"indicators-{start}-{end}-{by}-{period}"
    if format == "csv":
        return Response(
            indicator_export.to_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    if format == "xlsx":
        title = f"考核指标 {start} 至 {end} (按{by}, {period})"
        return Response(
            indicator_export.to_xlsx(rows, title),
            media_type=indicator_export.XLSX_MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    return IndicatorTable.model_validate(
        {
            "from": start.isoformat(),
            "to": end.isoformat(),
            "by": by,
            "period": period,
            "time_zone": str(SHANGHAI),
            "counted_at": now.astimezone(SHANGHAI).isoformat(),
            "indicators": [
                {**vars(indicator), "formula": indicator.formula}
                for indicator in indicators.INDICATORS
            ],
            "counts": [vars(count) for count in indicators.COUNTS],
            "rows": rows,
        }
    )


@router.get("/stats/league", response_model=LeagueTable)
def league_table(
    session: SessionDep,
    principal: SupervisorDep,
    start: StartQuery = None,
    end: EndQuery = None,
    by: Annotated[Literal["department", "district", "street"], Query()] = "department",
) -> Any:
    """Rank departments, districts or streets by a composite score (红黑榜), indicators shown.

    The weights come from the scoring sheet (``GRIDSVC_LEAGUE_FILE``); a group with fewer
    reports than its ``min_reports`` is listed unranked.
    """
    start, end = default_range(start, end)
    now = datetime.now(UTC)
    table = indicator_service.league_table(session, principal, start, end, by, now)
    return LeagueTable.model_validate(
        {
            "from": start.isoformat(),
            "to": end.isoformat(),
            "by": by,
            "time_zone": str(SHANGHAI),
            "counted_at": now.astimezone(SHANGHAI).isoformat(),
            **table,
        }
    )


@router.get("/stats/hotspots")
def hotspot_list(
    session: SessionDep,
    principal: StaffDep,
    start: StartQuery = None,
    end: EndQuery = None,
    by: Annotated[Literal["grid", "category", "location", "h3"], Query()] = "grid",
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    radius_m: Annotated[
        float,
        Query(ge=1, le=5000, description="location: cases this close (metres) repeat a place."),
    ] = 50.0,
    resolution: Annotated[
        int,
        Query(ge=5, le=9, description="h3: the cells' resolution (8: about 0.74 km² each)."),
    ] = 8,
    format: Annotated[
        Literal["json", "geojson"],
        Query(description="geojson: by=grid or by=h3 as a map layer (grids or hexagons)."),
    ] = "json",
) -> dict[str, Any]:
    """List the grids, categories or repeated locations with most cases, and the trend.

    Each hotspot has its count in the period of the same length just before; a repeated
    location is a cluster of one category's cases within ``radius_m`` of one another,
    shown by its centre rounded to 0.001°; ``by=h3`` counts cases in the H3 hexagons of
    ``resolution``.
    """
    start, end = default_range(start, end)
    if format == "geojson" and by not in ("grid", "h3"):
        raise InvalidParameterError("format", "geojson is for by=grid or by=h3 (a map layer)")
    if by == "h3":
        if format == "geojson":
            return hotspots.hexagon_layer(session, principal, start, end, resolution, limit)
        rows = hotspots.hexagons(session, principal, start, end, resolution, limit)
    elif format == "geojson":
        return hotspots.hotspot_layer(session, principal, start, end, limit)
    else:
        rows = hotspots.hotspots(session, principal, start, end, by, limit, radius_m)
    before = hotspots.previous_range(start, end)
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "previous_from": before[0].isoformat(),
        "previous_to": before[1].isoformat(),
        "by": by,
        "rows": rows,
    }


@router.get("/stats/whistles")
def whistle_table(
    session: SessionDep,
    principal: StaffDep,
    start: StartQuery = None,
    end: EndQuery = None,
) -> dict[str, Any]:
    """Rate each department's 吹哨报到: summoned, signed in (报到率), reported (反馈率).

    Over the cases reported in the range; a department sees its own row.
    """
    start, end = default_range(start, end)
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "indicators": [
            {**vars(indicator), "formula": indicator.formula}
            for indicator in indicators.WHISTLE_INDICATORS
        ],
        "rows": whistle_stats.whistle_rows(session, principal, start, end),
    }
