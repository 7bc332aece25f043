"""Pieces every listing route shares: paging and bbox parameters, links, the GeoJSON response."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import JSONResponse

from gridsvc.common.errors import InvalidParameterError
from gridsvc.common.geojson import GEOJSON_MEDIA_TYPE, BBox, parse_bbox
from gridsvc.config import get_settings

DEFAULT_PAGE_SIZE = 100


class GeoJSONResponse(JSONResponse):
    """JSON served as ``application/geo+json`` (RFC 7946)."""

    media_type = GEOJSON_MEDIA_TYPE


@dataclass(frozen=True)
class Page:
    """Which slice of an ordered listing to return."""

    limit: int
    offset: int


def page_parameters(
    limit: Annotated[
        int,
        Query(ge=1, description="Features per page, at most the server's max_page_size."),
    ] = DEFAULT_PAGE_SIZE,
    offset: Annotated[int, Query(ge=0, description="Features to skip.")] = 0,
) -> Page:
    """Paging parameters; the upper bound of ``limit`` comes from the settings."""
    largest = get_settings().max_page_size
    if limit > largest:
        raise InvalidParameterError("limit", f"must be at most {largest}, got {limit}")
    return Page(limit=limit, offset=offset)


def bbox_parameter(
    bbox: Annotated[
        str | None,
        Query(
            description="minlon,minlat,maxlon,maxlat in degrees (EPSG:4326); "
            "features intersecting the box are returned.",
            examples=["109.7,39.5,110.1,39.9"],
        ),
    ] = None,
) -> BBox | None:
    """Parse and check the optional ``bbox`` filter."""
    return None if bbox is None else parse_bbox(bbox)


PageDep = Annotated[Page, Depends(page_parameters)]
BBoxDep = Annotated[BBox | None, Depends(bbox_parameter)]


def page_links(
    request: Request, page: Page, number_matched: int, title: str = "features"
) -> list[dict[str, Any]]:
    """``self``, ``next`` and ``prev`` links of a page, keeping the request's other parameters."""

    def at(offset: int) -> str:
        return str(request.url.include_query_params(limit=page.limit, offset=offset))

    links = [{"href": at(page.offset), "rel": "self", "type": GEOJSON_MEDIA_TYPE, "title": title}]
    if page.offset + page.limit < number_matched:
        links.append(
            {
                "href": at(page.offset + page.limit),
                "rel": "next",
                "type": GEOJSON_MEDIA_TYPE,
                "title": f"next page of {title}",
            }
        )
    if page.offset > 0:
        links.append(
            {
                "href": at(max(page.offset - page.limit, 0)),
                "rel": "prev",
                "type": GEOJSON_MEDIA_TYPE,
                "title": f"previous page of {title}",
            }
        )
    return links
