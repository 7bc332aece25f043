"""Routes of facility types and facilities: thin wrappers over the facilities service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from gridsvc.common.api import BBoxDep, GeoJSONResponse, PageDep, page_links
from gridsvc.common.geojson import feature_collection
from gridsvc.db import SessionDep
from gridsvc.facilities import service
from gridsvc.facilities.schemas import FacilityCollection, FacilityTypeSummary

router = APIRouter(prefix="/api/v1", tags=["facilities"])


@router.get("/facility-types")
def list_facility_types(session: SessionDep) -> list[FacilityTypeSummary]:
    """Every facility type with its number of facilities."""
    return service.list_facility_types(session)


@router.get("/facilities", response_model=FacilityCollection, response_class=GeoJSONResponse)
def list_facilities(
    request: Request,
    session: SessionDep,
    page: PageDep,
    bbox: BBoxDep,
    type: Annotated[  # the public parameter's name
        str | None,
        Query(
            description="Facility type code, or several separated by commas "
            "(see /api/v1/facility-types); an unknown code is a 422.",
            examples=["practice_station"],
        ),
    ] = None,
    district: Annotated[
        str | None,
        Query(description="Only facilities inside the current district with this 6-digit code."),
    ] = None,
) -> GeoJSONResponse:
    """Facilities filtered by type, bbox and district, ordered by id, one page at a time."""
    type_codes = [code.strip() for code in type.split(",")] if type is not None else None
    result = service.list_facilities(
        session,
        type_codes=type_codes,
        bbox=bbox,
        district=district,
        limit=page.limit,
        offset=page.offset,
    )
    links = page_links(request, page, result.number_matched, "facilities")
    return GeoJSONResponse(feature_collection(result.features, result.number_matched, links))
