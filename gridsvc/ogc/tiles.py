"""Mapbox Vector Tiles in WebMercatorQuad, made by PostGIS (``ST_AsMVT``) and cached.

A tile holds one layer per collection, named by the collection's id. Geometry is simplified
for the zoom (half a screen pixel of a 256-pixel tile, in Web Mercator metres) before
``ST_AsMVTGeom`` clips and snaps it to the tile's 4096-unit grid. Below a collection's
``min_zoom`` its layer is left out of the tile (it would be shapes smaller than a pixel).

Tiles change only when the data does: the cache is keyed on the data version of the
tables a tile is made from (row count and newest ``xmin`` of each), and that version is the
ETag, so a client revalidates with ``If-None-Match`` and gets a 304. A page that puts the
version in its tile URLs (``?v=``, see :func:`tiles_version`) gets tiles a browser keeps
without asking again: a change of the data gives new URLs.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from collections.abc import Iterable

from cachetools import LRUCache
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridsvc.common.data_versions import table_states
from gridsvc.common.errors import NotFoundError
from gridsvc.ogc.collections import INTEGER, Collection

TILE_MATRIX_SET = "WebMercatorQuad"
MAX_ZOOM = 22
EXTENT = 4096
BUFFER = 64
#: Web Mercator's width in metres.
WORLD_M = 2 * 20037508.342789244
#: Seconds a data version is trusted before it is read again.
VERSION_TTL_S = 1.0


def check_tile(zoom: int, row: int, column: int) -> None:
    """Refuse a tile outside WebMercatorQuad's matrices 0..MAX_ZOOM (a 404, as OGC asks)."""
    if not 0 <= zoom <= MAX_ZOOM:
        raise NotFoundError(f"no tile matrix {zoom} in {TILE_MATRIX_SET} (0..{MAX_ZOOM})")
    size = 2**zoom
    if not (0 <= row < size and 0 <= column < size):
        raise NotFoundError(
            f"tile {zoom}/{row}/{column} lies outside matrix {zoom} (rows, columns 0..{size - 1})"
        )


def layer_sql(collection: Collection, zoom: int) -> str:
    """Return the SQL of one MVT layer (a bytea) for the tile ``:z``/``:x``/``:y``."""
    tolerance = WORLD_M / 2**zoom / 512
    zoom_filter = " AND src.min_zoom <= :z" if "min_zoom" in collection.properties else ""
    # An MVT feature id is an integer: collections keyed by a code carry it as a property.
    numbered = collection.id_type == INTEGER
    names = (["fid"] if numbered else []) + list(collection.properties)
    properties = ", ".join(f"src.{name}" for name in names)
    return (
        "(SELECT ST_AsMVT(layer, :layer_{id}, {extent}, 'mvt_geom'{fid}) FROM ("
        "SELECT {properties}, ST_AsMVTGeom(ST_Simplify(ST_Transform(src.geom, 3857),"
        " {tolerance!r}, true), bounds.mercator, {extent}, {buffer}, true) AS mvt_geom"
        " FROM ({source}) AS src, bounds WHERE src.{box} && bounds.wgs84{zoom_filter}"
        ") AS layer WHERE layer.mvt_geom IS NOT NULL)"
    ).format(
        id=collection_key(collection),
        fid=", 'fid'" if numbered else "",
        extent=EXTENT,
        properties=properties,
        tolerance=tolerance,
        buffer=BUFFER,
        source=collection.source,
        box=collection.box_column,
        zoom_filter=zoom_filter,
    )


def collection_key(collection: Collection) -> str:
    """Return a bind-parameter-safe form of the collection's id."""
    return "".join(c if c.isalnum() else "_" for c in collection.id)


def render_tile(
    session: Session, collections: list[Collection], zoom: int, row: int, column: int
) -> bytes:
    """Return the MVT of ``collections`` at tile ``zoom``/``row``/``column`` (maybe empty)."""
    shown = [c for c in collections if zoom >= c.min_zoom]
    if not shown:
        return b""
    margin = BUFFER / EXTENT
    bounds = (
        "WITH bounds AS (SELECT ST_TileEnvelope(:z, :x, :y) AS mercator,"
        " ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => :margin), 4326) AS wgs84) "
    )
    layers = " || ".join(f"coalesce({layer_sql(c, zoom)}, ''::bytea)" for c in shown)
    parameters: dict[str, object] = {"z": zoom, "x": column, "y": row, "margin": margin}
    for collection in shown:
        parameters.update(collection.parameters)
        parameters[f"layer_{collection_key(collection)}"] = collection.id
    tile = session.scalar(text(f"{bounds}SELECT {layers}"), parameters)
    return bytes(tile or b"")


def version_of(states: dict[str, str], tables: Iterable[str]) -> str:
    """Digest the states (see :func:`table_states`) of ``tables`` into a data version."""
    names = sorted(set(tables))
    value = ":".join(states[name] for name in names)
    return hashlib.sha1(f"{','.join(names)}={value}".encode()).hexdigest()[:16]


def data_version(session: Session, tables: Iterable[str]) -> str:
    """Digest the data versions of ``tables`` (see :func:`table_states`) into one."""
    names = sorted(set(tables))
    return version_of(table_states(session, names), names)


class TileCache:
    """Tiles by (data version, layers, zoom, row, column), least recently used out first."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.tiles: LRUCache[tuple, bytes] = LRUCache(maxsize=max_bytes, getsizeof=len)
        self.versions: dict[tuple[str, ...], tuple[float, str]] = {}
        self.lock = threading.Lock()
        self.version_ttl_s = VERSION_TTL_S

    def version(self, session: Session, tables: tuple[str, ...], fresh: bool = False) -> str:
        """Return the data version of ``tables``, read again after VERSION_TTL_S seconds.

        ``fresh`` reads it now (a page asked with a version this cache has not seen yet).
        """
        now = time.monotonic()
        with self.lock:
            known = self.versions.get(tables)
        if not fresh and known is not None and now - known[0] < self.version_ttl_s:
            return known[1]
        value = data_version(session, tables)
        with self.lock:
            self.versions[tables] = (now, value)
        return value

    def get(self, key: tuple) -> bytes | None:
        """Return a cached tile, or None."""
        with self.lock:
            return self.tiles.get(key)

    def put(self, key: tuple, tile: bytes) -> None:
        """Keep ``tile``, dropping the least recently used ones past the byte budget."""
        if len(tile) > self.max_bytes:
            return
        with self.lock:
            if key not in self.tiles:
                self.tiles[key] = tile

    def clear(self) -> None:
        """Forget every tile and version."""
        with self.lock:
            self.tiles.clear()
            self.versions.clear()


def collections_tables(collections: Iterable[Collection]) -> tuple[str, ...]:
    """Return the tables the tiles of ``collections`` are made from, sorted."""
    return tuple(sorted({t for c in collections for t in c.tables}))


def tiles_version(session: Session, collections: Iterable[Collection]) -> str:
    """Return the data version of the tiles of ``collections`` (the ``?v=`` of their URLs)."""
    return data_version(session, collections_tables(collections))


def cached_tile(
    cache: TileCache,
    session: Session,
    collections: list[Collection],
    zoom: int,
    row: int,
    column: int,
    asked_version: str | None = None,
) -> tuple[bytes, str, str]:
    """Return the tile gzip-compressed, its ETag and the data version it was made from.

    Tiles are kept compressed (to between a half and a third of their size: 358 KiB to
    161 KiB for the whole city's coverage at zoom 8), so the cache holds more of them and a
    client that accepts gzip gets them as they are. ``asked_version`` (the URL's ``v``):
    when it is not the version the cache knows, the version is read again, so a page drawn
    just after a change gets the new tiles.
    """
    check_tile(zoom, row, column)
    tables = collections_tables(collections)
    version = cache.version(session, tables)
    if asked_version is not None and asked_version != version:
        version = cache.version(session, tables, fresh=True)
    ids = tuple(c.id for c in collections)
    key = (version, ids, zoom, row, column)
    etag = hashlib.sha1(repr(key).encode()).hexdigest()[:20]
    tile = cache.get(key)
    if tile is None:
        tile = gzip.compress(render_tile(session, collections, zoom, row, column), 6, mtime=0)
        cache.put(key, tile)
    return tile, f'"{etag}"', version
