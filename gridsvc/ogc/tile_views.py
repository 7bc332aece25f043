"""Vector tile routes (OGC API - Tiles, WebMercatorQuad, Mapbox Vector Tiles).

URL templates (``{z}`` tile matrix = zoom, ``{y}`` tile row, ``{x}`` tile column, as
OGC API - Tiles orders them; note ``z/y/x``, not ``z/x/y``):

- ``/ogc/collections/{collectionId}/tiles/WebMercatorQuad/{z}/{y}/{x}``: one layer named
  after the collection (``grids``, ``coverage-living_10min-network``...);
- ``/ogc/tiles/WebMercatorQuad/{z}/{y}/{x}?collections=districts,streets,...``: several
  layers in one tile; the default is the reference map (districts, streets, communities,
  grids, network, labels).

Each layer appears from its collection's ``min_zoom`` (see ``tile_collections``);
answers carry ``ETag`` (the data version) and ``Cache-Control``; ``If-None-Match`` gives 304;
tiles are gzip-encoded for clients that accept it (browsers, GDAL). A tile asked with
``?v=`` its current data version (the maps write it in their tile URLs) is sent as
``immutable`` for a year: new data give new URLs. Without ``v`` (or with an old one) a
client keeps it ``tile_max_age_s`` (``no-cache`` for an old one) and then revalidates.
"""

from __future__ import annotations

import gzip
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from gridsvc.common.errors import InvalidParameterError, NotFoundError
from gridsvc.config import get_settings
from gridsvc.db import SessionDep
from gridsvc.ogc import tiles
from gridsvc.ogc.collections import Collection, tile_collections

router = APIRouter(prefix="/ogc", tags=["ogc tiles"])

MVT = "application/vnd.mapbox-vector-tile"
#: The layers of a dataset tile when ``collections`` is not given.
REFERENCE_LAYERS = ("districts", "streets", "communities", "grids", "network", "labels")
TILE_RESPONSES: dict[int | str, dict] = {
    200: {
        "description": "The tile (empty where no feature reaches it).",
        "content": {MVT: {"schema": {"type": "string", "format": "binary"}}},
        "headers": {
            "ETag": {"schema": {"type": "string"}},
            "Cache-Control": {"schema": {"type": "string"}},
            "Content-Encoding": {
                "description": "gzip when the request's Accept-Encoding admits it.",
                "schema": {"type": "string"},
            },
        },
    },
    304: {"description": "Unchanged since the ETag given in If-None-Match."},
    404: {"description": "No such collection, tile matrix or tile."},
}

LAST = 2**tiles.MAX_ZOOM - 1
Zoom = Annotated[int, Path(alias="tileMatrix", ge=0, le=tiles.MAX_ZOOM, description="Zoom.")]
Row = Annotated[int, Path(alias="tileRow", ge=0, le=LAST, description="Tile row (y).")]
Column = Annotated[int, Path(alias="tileCol", ge=0, le=LAST, description="Tile column (x).")]
Version = Annotated[
    str | None,
    Query(
        alias="v",
        max_length=64,
        pattern=r"^[0-9a-f]+$",
        description="The data version the URL was made with (the maps write it): when "
        "current, the tile is cached as immutable.",
    ),
]


def tile_cache(request: Request) -> tiles.TileCache:
    """Return the app's tile cache (one per app, made on first use)."""
    cache = getattr(request.app.state, "ogc_tile_cache", None)
    if cache is None:
        settings = get_settings()
        cache = tiles.TileCache(int(settings.tile_cache_mb * 1024 * 1024))
        cache.version_ttl_s = settings.tile_version_ttl_s
        request.app.state.ogc_tile_cache = cache
    return cache


def cache_control(asked_version: str | None, version: str) -> str:
    """How long a client may keep a tile: a year if its URL names its data version."""
    settings = get_settings()
    if asked_version is None:
        return f"public, max-age={settings.tile_max_age_s}"
    if asked_version == version:
        return f"public, max-age={settings.tile_versioned_max_age_s}, immutable"
    return "no-cache"  # an old version's URL: the content is today's, so always revalidate


def tile_response(
    request: Request,
    session: SessionDep,
    collections: list[Collection],
    tile_at: tuple[int, int, int],
    asked_version: str | None = None,
) -> Response:
    """Answer the tile (gzip-encoded when the client accepts it), or 304 when its ETag is current.

    The two encodings are two representations: each has its own ETag, and ``Vary`` says so.
    ``tile_at``: zoom, row, column.
    """
    cache = tile_cache(request)
    tile, etag, version = tiles.cached_tile(cache, session, collections, *tile_at, asked_version)
    encoded = accepts_gzip(request.headers.get("accept-encoding", ""))
    headers = {
        "ETag": f'{etag[:-1]}-gzip"' if encoded else etag,
        "Cache-Control": cache_control(asked_version, version),
        "Vary": "Accept-Encoding",
    }
    if headers["ETag"] in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    if encoded:
        return Response(tile, media_type=MVT, headers={**headers, "Content-Encoding": "gzip"})
    return Response(gzip.decompress(tile), media_type=MVT, headers=headers)


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header admits gzip (not refused with ``q=0``)."""
    for part in accept_encoding.lower().split(","):
        coding, _, parameters = part.strip().partition(";")
        if coding.strip() in ("gzip", "*"):
            quality = parameters.strip().removeprefix("q=")
            try:
                return not parameters.strip() or float(quality) > 0
            except ValueError:
                return False
    return False


def tiled(collection_id: str) -> Collection:
    """Return the collection with tiles named ``collection_id``; 404 otherwise."""
    found = tile_collections().get(collection_id)
    if found is None:
        raise NotFoundError(f"no collection '{collection_id}' with tiles")
    return found


@router.get(
    "/collections/{collectionId}/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}",
    response_class=Response,
    responses=TILE_RESPONSES,
)
def collection_tile(
    request: Request,
    session: SessionDep,
    collection_id: Annotated[str, Path(alias="collectionId")],
    z: Zoom,
    y: Row,
    x: Column,
    v: Version = None,
) -> Response:
    """Get a vector tile of one collection: one layer named after it (empty below its min_zoom)."""
    return tile_response(request, session, [tiled(collection_id)], (z, y, x), v)


@router.get(
    "/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}",
    response_class=Response,
    responses=TILE_RESPONSES,
)
def dataset_tile(
    request: Request,
    session: SessionDep,
    z: Zoom,
    y: Row,
    x: Column,
    collections: Annotated[
        str | None,
        Query(
            description="Comma-separated collection ids, one layer each "
            f"(default: {','.join(REFERENCE_LAYERS)}).",
            max_length=2000,
        ),
    ] = None,
    v: Version = None,
) -> Response:
    """Get a vector tile of several collections, one layer each (the reference map by default)."""
    ids = REFERENCE_LAYERS if collections is None else tuple(collections.split(","))
    known = tile_collections()
    unknown = [name for name in ids if name not in known]
    if unknown or not ids:
        raise InvalidParameterError(
            "collections", f"unknown collections {unknown}; known: {', '.join(known)}"
        )
    chosen = [known[name] for name in dict.fromkeys(ids)]
    return tile_response(request, session, chosen, (z, y, x), v)
