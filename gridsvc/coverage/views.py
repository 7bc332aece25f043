"""Routes of circles, coverage, gaps, what-if and siting: thin wrappers over the services."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from gridsvc.common.api import GeoJSONResponse, PageDep, page_links
from gridsvc.common.errors import InvalidParameterError
from gridsvc.common.geojson import feature_collection
from gridsvc.common.heavy import heavy
from gridsvc.coverage import planning, service
from gridsvc.coverage.schemas import (
    CircleOut,
    Level,
    Mode,
    SitingRequest,
    Weight,
    WhatIfRequest,
)
from gridsvc.coverage.what_if_geojson import what_if_geojson
from gridsvc.db import SessionDep

router = APIRouter(prefix="/api/v1", tags=["coverage"])

CircleQuery = Annotated[
    str | None,
    Query(description="Circle code (see /api/v1/circles); or give types and threshold_m."),
]
TypesQuery = Annotated[
    str | None, Query(description="Facility type codes, comma-separated, instead of a circle.")
]
ThresholdQuery = Annotated[float | None, Query(gt=0, le=5000, description="Metres.")]
DistrictQuery = Annotated[str | None, Query(description="Only this district (6-digit code).")]


def _types(types: str | None) -> list[str] | None:
    return [code.strip() for code in types.split(",") if code.strip()] if types else None


@router.get("/circles")
def list_circles() -> list[CircleOut]:
    """Living circles: walking thresholds in metres (minutes beside) and facility types."""
    return [CircleOut(**circle) for circle in service.list_circles()]


@router.get("/coverage")
def coverage(
    request: Request,
    session: SessionDep,
    page: PageDep,
    circle: CircleQuery = None,
    types: TypesQuery = None,
    threshold_m: ThresholdQuery = None,
    mode: Mode = "network",
    weight: Weight = "population",
    district: DistrictQuery = None,
    level: Level = "grid",
    format: Literal["json", "geojson"] = "json",  # the public parameter's name
) -> Any:
    """Coverage per grid (or per community, street, district, city) for a circle."""
    if format == "geojson" and level != "grid":
        raise InvalidParameterError("format", "GeoJSON is served per grid: use level=grid")
    chosen = service.resolve_circle(session, circle, _types(types), threshold_m)
    rows, source = service.coverage_rows(session, chosen, mode, district, level, weight)
    matched, rows = len(rows), rows[page.offset : page.offset + page.limit]
    if format == "geojson":
        features = service.grid_features(session, rows)
        links = page_links(request, page, matched, "coverage")
        return GeoJSONResponse(feature_collection(features, matched, links))
    return {
        "circle": chosen.code,
        "threshold_m": chosen.threshold_m,
        "facility_types": list(chosen.facility_types),
        "mode": mode,
        "weight": weight,
        "level": level,
        "source": source,
        "numberMatched": matched,
        "numberReturned": len(rows),
        "rows": rows,
    }


@router.get("/coverage/gaps", response_class=GeoJSONResponse)
def gaps(
    session: SessionDep,
    circle: CircleQuery = None,
    types: TypesQuery = None,
    threshold_m: ThresholdQuery = None,
    mode: Mode = "network",
    district: DistrictQuery = None,
    limit: Annotated[int, Query(ge=1, le=10000, description="Worst gaps to return.")] = 100,
    min_residents: Annotated[int, Query(ge=0, description="Least uncovered residents.")] = 0,
) -> GeoJSONResponse:
    """Gap polygons (parts of grids no service area reaches) with residents, worst first."""
    chosen = service.resolve_circle(session, circle, _types(types), threshold_m)
    result = service.grid_coverage(session, chosen, mode, district)
    matched, features = service.gap_features(session, result, limit, min_residents)
    return GeoJSONResponse(feature_collection(features, matched))


@router.get("/coverage/service-areas", response_class=GeoJSONResponse)
def service_areas(
    request: Request,
    session: SessionDep,
    page: PageDep,
    circle: CircleQuery = None,
    mode: Mode = "network",
    district: DistrictQuery = None,
) -> GeoJSONResponse:
    """List stored service areas of a circle's facilities (after `gridsvc coverage refresh`)."""
    chosen = service.resolve_circle(session, circle)
    matched, features = service.service_area_features(
        session, chosen, mode, district, page.limit, page.offset
    )
    links = page_links(request, page, matched, "service areas")
    return GeoJSONResponse(feature_collection(features, matched, links))


@router.post(
    "/coverage/what-if",
    responses={200: {"content": {"application/geo+json": {}}}},
)
@heavy
def what_if(session: SessionDep, body: WhatIfRequest) -> Any:
    """Change in coverage per grid and in total if facilities were added, moved or removed."""
    chosen = service.resolve_circle(session, body.circle, body.types, body.threshold_m, "body")
    change = planning.Change(
        add=[(a.type_code, planning.Place(a.lon, a.lat, a.crs)) for a in body.add],
        move=[(m.id, planning.Place(m.lon, m.lat, m.crs)) for m in body.move],
        remove=body.remove,
    )
    answer = planning.what_if(session, chosen, body.mode, body.weight, body.district, change)
    if body.format == "geojson":
        return GeoJSONResponse(what_if_geojson(session, answer, change))
    return answer


@router.post(
    "/coverage/siting",
    responses={200: {"content": {"application/geo+json": {}}}},
)
@heavy
def siting(session: SessionDep, body: SitingRequest) -> Any:
    """Find the k sites that would cover the most residents the circle misses now."""
    chosen = service.resolve_circle(session, body.circle, body.types, body.threshold_m, "body")
    places = None
    if body.candidates != "gap_nodes":
        places = [planning.Place(p.lon, p.lat, p.crs) for p in body.candidates]
    ask = planning.SitingAsk(body.k, places, body.method, body.max_candidates)
    answer = planning.site(session, chosen, body.mode, body.district, ask)
    if body.format == "geojson":
        return GeoJSONResponse(planning.sites_geojson(answer))
    return planning.sites_in(answer, body.crs)
