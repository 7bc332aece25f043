"""Routes of districts and grids: thin wrappers over the grids service."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from gridsvc.common.api import BBoxDep, GeoJSONResponse, PageDep, page_links
from gridsvc.common.geojson import feature_collection
from gridsvc.db import SessionDep
from gridsvc.grids import service
from gridsvc.grids.schemas import DistrictCollection, GridCollection, GridFeature

router = APIRouter(prefix="/api/v1", tags=["grids"])

NOT_FOUND = {404: {"description": "No current grid matches."}}

LOCATE_RULE = (
    "The current grid containing the point (WGS-84 lon/lat).\n\n"
    "A grid's boundary belongs to the grid (ST_Intersects), so a point on an edge or a "
    "vertex shared by several grids matches all of them; the grid with the lowest code "
    "is returned, so every point goes to exactly one grid, always the same one. "
    "404 when no current grid contains the point."
)


def code_filter(level: str, digits: int) -> Any:
    """Declare a query parameter filtering grids by the code of one of their parents."""
    return Query(
        description=f"Only grids of the {level} with this {digits}-digit code "
        "(an unknown code matches nothing)."
    )


@router.get("/districts", response_model=DistrictCollection, response_class=GeoJSONResponse)
def list_districts(session: SessionDep) -> GeoJSONResponse:
    """List current districts with area on the ground (km²), population and number of grids."""
    features = service.list_districts(session)
    return GeoJSONResponse(feature_collection(features, len(features)))


@router.get("/grids", response_model=GridCollection, response_class=GeoJSONResponse)
def list_grids(
    request: Request,
    session: SessionDep,
    page: PageDep,
    bbox: BBoxDep,
    district: Annotated[str | None, code_filter("district", 6)] = None,
    street: Annotated[str | None, code_filter("street", 9)] = None,
    community: Annotated[str | None, code_filter("community", 12)] = None,
) -> GeoJSONResponse:
    """List current grids by bbox and parent codes, ordered by code, one page at a time."""
    result = service.list_grids(
        session,
        bbox=bbox,
        district=district,
        street=street,
        community=community,
        limit=page.limit,
        offset=page.offset,
    )
    links = page_links(request, page, result.number_matched, "grids")
    return GeoJSONResponse(feature_collection(result.features, result.number_matched, links))


@router.get(
    "/grids/locate",
    response_model=GridFeature,
    response_class=GeoJSONResponse,
    responses=NOT_FOUND,
    description=LOCATE_RULE,
)
def locate_grid(
    session: SessionDep,
    lon: Annotated[
        float, Query(ge=-180, le=180, allow_inf_nan=False, description="Longitude, WGS-84 degrees.")
    ],
    lat: Annotated[
        float, Query(ge=-90, le=90, allow_inf_nan=False, description="Latitude, WGS-84 degrees.")
    ],
) -> GeoJSONResponse:
    """Find the current grid containing the point; on a shared edge or vertex, the lowest code."""
    return GeoJSONResponse(service.locate_grid(session, lon, lat))


@router.get(
    "/grids/{code}",
    response_model=GridFeature,
    response_class=GeoJSONResponse,
    responses=NOT_FOUND,
)
def get_grid(
    session: SessionDep,
    code: Annotated[str, Path(description="15-digit grid code.", examples=["150602001001001"])],
) -> GeoJSONResponse:
    """Get the current grid with this 15-digit code."""
    return GeoJSONResponse(service.get_grid(session, code))
