"""OGC API - Features routes at ``/ogc``: landing page, conformance, API, collections, items.

JSON or HTML by ``f=`` or the Accept header. Only the collections of
:mod:`gridsvc.ogc.collections` exist here; their items take ``limit``/``offset`` paging
(``next`` links), ``bbox`` with ``bbox-crs``, ``crs`` (``Content-Crs`` says which),
``datetime`` and CQL2 text ``filter``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import morecantile
from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from gridsvc.common.errors import InvalidParameterError, NotFoundError
from gridsvc.db import SessionDep
from gridsvc.grids import service as grids_service
from gridsvc.ogc import documents, features
from gridsvc.ogc.collections import BOUNDARIES, Collection, feature_collections
from gridsvc.ogc.crs import parse_box, parse_crs
from gridsvc.ogc.documents import GEOJSON, HTML, JSON

router = APIRouter(prefix="/ogc", tags=["ogc features"])

#: Largest ``limit`` of an items page (declared in the OpenAPI document, read by GDAL).
MAX_LIMIT = 10000
DEFAULT_LIMIT = 100

Format = Annotated[
    Literal["json", "html"] | None,
    Query(description="Answer as JSON (default) or HTML; else the Accept header decides."),
]
CollectionId = Annotated[str, Path(alias="collectionId", description="A collection's id.")]


def content(kind: str, extra: str | None = None) -> dict[str, Any]:
    """Return a documented 200 answer in ``kind`` (or ``extra``) or HTML."""
    kinds = {kind: {"schema": {"type": "object"}}, HTML: {}}
    if extra:
        kinds[extra] = {"schema": {"type": "object"}}
    return {200: {"description": "The document.", "content": kinds}}


def wants_html(request: Request, f: str | None) -> bool:
    """Whether to answer HTML: ``f=html``, or a browser's Accept without ``f``."""
    if f is not None:
        return f == "html"
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "json" not in accept


def base_url(request: Request) -> str:
    """Return the service's URL (``…/ogc``)."""
    return str(request.base_url).rstrip("/") + "/ogc"


def answer(
    request: Request, f: str | None, title: str, document: dict, kind: str = JSON
) -> Response:
    """Return the document as JSON (of ``kind``) or HTML."""
    if wants_html(request, f):
        return HTMLResponse(documents.as_html(title, document))
    return JSONResponse(document, media_type=kind)


def collection_named(collection_id: str) -> Collection:
    """Return the collection ``collection_id``; 404 for anything not listed."""
    found = feature_collections().get(collection_id)
    if found is None:
        raise NotFoundError(f"no collection '{collection_id}'")
    return found


@router.get("", responses=content(JSON))
def landing_page(request: Request, f: Format = None) -> Response:
    """Landing page of the OGC API (links to the API, conformance and collections)."""
    return answer(request, f, "gridsvc OGC API", documents.landing(base_url(request)))


@router.get("/conformance", responses=content(JSON))
def conformance(request: Request, f: Format = None) -> Response:
    """Conformance classes the service implements."""
    return answer(request, f, "Conformance", {"conformsTo": documents.CONFORMANCE})


@router.get("/api", responses=content(documents.OPENAPI))
def api_definition(request: Request, f: Format = None) -> Response:
    """Return the OpenAPI 3.0 document of the whole service (its ``/ogc`` paths included)."""
    if wants_html(request, f):
        return HTMLResponse(documents.page("API", '<p><a href="/docs">API documentation</a></p>'))
    document = documents.rooted_api(request.app.openapi(), base_url(request))
    return JSONResponse(document, media_type=documents.OPENAPI)


@router.get("/collections", responses=content(JSON))
def list_collections(request: Request, session: SessionDep, f: Format = None) -> Response:
    """Every collection: boundaries, grids, facilities, published issues, coverage and gaps."""
    base = base_url(request)
    city = features.extent(session, BOUNDARIES[0])
    srid = grids_service.metric_srid(session)
    document = {
        "links": [documents.link(f"{base}/collections", "self", JSON, "collections")],
        "crs": [],
        "collections": [
            documents.collection(base, c, city, srid) for c in feature_collections().values()
        ],
    }
    return answer(request, f, "Collections", document)


@router.get("/collections/{collectionId}", responses=content(JSON))
def describe_collection(
    request: Request, session: SessionDep, collection_id: CollectionId, f: Format = None
) -> Response:
    """One collection: its extent, CRSs and links to items, queryables and tiles."""
    found = collection_named(collection_id)
    extent = features.extent(session, found)
    srid = grids_service.metric_srid(session)
    document = documents.collection(base_url(request), found, extent, srid)
    return answer(request, f, found.title, document)


@router.get(
    "/collections/{collectionId}/queryables",
    responses=content("application/schema+json", extra=JSON),
)
def queryables(request: Request, collection_id: CollectionId, f: Format = None) -> Response:
    """Properties a CQL2 filter may name, as JSON Schema."""
    found = collection_named(collection_id)
    document = documents.schema(base_url(request), found)
    return answer(request, f, f"Queryables of {found.title}", document, schema_type(request))


@router.get(
    "/collections/{collectionId}/schema", responses=content("application/schema+json", extra=JSON)
)
def collection_schema(request: Request, collection_id: CollectionId, f: Format = None) -> Response:
    """Return the features' properties, as JSON Schema."""
    found = collection_named(collection_id)
    document = documents.schema(base_url(request), found)
    return answer(request, f, f"Schema of {found.title}", document, schema_type(request))


SCHEMA = "application/schema+json"


def schema_type(request: Request) -> str:
    """``application/schema+json`` when asked for, else plain JSON (what GDAL 3.6 accepts)."""
    return SCHEMA if SCHEMA in request.headers.get("accept", "") else JSON


def crs_headers(crs_uri: str) -> dict[str, str]:
    """Return the Content-Crs header."""
    return {"Content-Crs": f"<{crs_uri}>"}


@router.get(
    "/collections/{collectionId}/items",
    responses={
        200: {
            "description": "A page of features (GeoJSON), with next/prev links.",
            "content": {GEOJSON: {"schema": {"type": "object"}}, HTML: {}},
            "headers": {"Content-Crs": {"schema": {"type": "string"}}},
        }
    },
)
def list_items(
    request: Request,
    session: SessionDep,
    collection_id: CollectionId,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Features per page.")] = (
        DEFAULT_LIMIT
    ),
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Features skipped.")] = 0,
    bbox: Annotated[
        str | None, Query(max_length=200, description="x1,y1,x2,y2 in bbox-crs.")
    ] = None,
    bbox_crs: Annotated[str | None, Query(alias="bbox-crs", max_length=200)] = None,
    crs: Annotated[str | None, Query(max_length=200, description="Output CRS URI.")] = None,
    datetime_: Annotated[str | None, Query(alias="datetime", max_length=100)] = None,
    filter_: Annotated[str | None, Query(alias="filter", max_length=4000)] = None,
    # "cql-text" is the draft's name, which GDAL 3.6 sends; simple comparisons read the same.
    filter_lang: Annotated[
        Literal["cql2-text", "cql-text"], Query(alias="filter-lang")
    ] = "cql2-text",
    f: Format = None,
) -> Response:
    """Features of a collection, by box, time and CQL2 filter, one page at a time."""
    found = collection_named(collection_id)
    srid = grids_service.metric_srid(session)
    output = parse_crs(crs, srid)
    box_crs = parse_crs(bbox_crs, srid, "bbox-crs")
    if bbox_crs is not None and bbox is None:
        raise InvalidParameterError("bbox-crs", "is given without bbox")
    query = features.Query(
        output,
        limit,
        offset,
        None if bbox is None else parse_box(bbox, box_crs),
        box_crs,
        filter_,
        datetime_,
    )
    matched, returned, array = features.features_text(session, found, query)
    links = page_links(request, found, offset, limit, matched)
    if wants_html(request, f):
        return HTMLResponse(documents.features_html(found.title, json.loads(array), links))
    stamp = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    head = json.dumps(
        {"numberMatched": matched, "numberReturned": returned, "timeStamp": stamp, "links": links},
        ensure_ascii=False,
    )
    body = f'{{"type":"FeatureCollection","features":{array},{head[1:]}'
    return Response(body, media_type=GEOJSON, headers=crs_headers(output.uri))


def page_links(
    request: Request, found: Collection, offset: int, limit: int, matched: int
) -> list[dict[str, str]]:
    """``self``, ``alternate``, ``next``, ``prev`` and ``collection`` links of an items page."""

    def at(start: int, kind: str = "json") -> str:
        return str(request.url.include_query_params(limit=limit, offset=start, f=kind))

    links = [
        documents.link(at(offset), "self", GEOJSON, "this page"),
        documents.link(at(offset, "html"), "alternate", HTML, "this page as HTML"),
        documents.link(f"{base_url(request)}/collections/{found.id}", "collection", JSON, found.id),
    ]
    if offset + limit < matched:
        links.append(documents.link(at(offset + limit), "next", GEOJSON, "next page"))
    if offset > 0:
        links.append(documents.link(at(max(offset - limit, 0)), "prev", GEOJSON, "previous page"))
    return links


@router.get(
    "/collections/{collectionId}/items/{featureId}",
    responses={
        200: {
            "description": "One feature (GeoJSON).",
            "content": {GEOJSON: {"schema": {"type": "object"}}, HTML: {}},
            "headers": {"Content-Crs": {"schema": {"type": "string"}}},
        }
    },
)
def get_item(
    request: Request,
    session: SessionDep,
    collection_id: CollectionId,
    feature_id: Annotated[str, Path(alias="featureId", max_length=100)],
    crs: Annotated[str | None, Query(max_length=200, description="Output CRS URI.")] = None,
    f: Format = None,
) -> Response:
    """One feature of a collection."""
    found = collection_named(collection_id)
    output = parse_crs(crs, grids_service.metric_srid(session))
    feature = json.loads(features.feature_text(session, found, feature_id, output))
    here = f"{base_url(request)}/collections/{found.id}"
    feature["links"] = [
        documents.link(f"{here}/items/{feature_id}", "self", GEOJSON, "this feature"),
        documents.link(here, "collection", JSON, found.id),
    ]
    if wants_html(request, f):
        return HTMLResponse(documents.features_html(found.title, [feature], feature["links"]))
    return Response(
        json.dumps(feature, ensure_ascii=False), media_type=GEOJSON, headers=crs_headers(output.uri)
    )


@router.get("/tileMatrixSets", responses=content(JSON))
def tile_matrix_sets(request: Request, f: Format = None) -> Response:
    """Return the tiling schemes of the vector tiles: WebMercatorQuad only."""
    href = f"{base_url(request)}/tileMatrixSets/WebMercatorQuad"
    document = {
        "tileMatrixSets": [
            {
                "id": "WebMercatorQuad",
                "links": [documents.link(href, "self", JSON, "WebMercatorQuad")],
            }
        ]
    }
    return answer(request, f, "Tile matrix sets", document)


@router.get("/tileMatrixSets/WebMercatorQuad", responses=content(JSON))
def web_mercator_quad(request: Request, f: Format = None) -> Response:
    """Return the WebMercatorQuad tile matrix set (OGC 17-083r4), as morecantile defines it."""
    document = morecantile.tms.get("WebMercatorQuad").model_dump(mode="json", exclude_none=True)
    return answer(request, f, "WebMercatorQuad", document)
