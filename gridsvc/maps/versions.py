"""The data versions a served map writes into its tile URLs, and the page's own.

A tile asked with the current data version of its tables (``?v=``) is sent ``immutable``
(:mod:`gridsvc.ogc.tile_views`), so a reload takes every tile from the browser's cache.
When the data change, the versions change, the page is drawn again with new URLs, and the
browser asks for the new tiles. All versions of a page come from one lookup of the tables' data
versions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from sqlalchemy.orm import Session

from gridsvc.common.data_versions import table_states
from gridsvc.maps.basemap import RenderOptions
from gridsvc.maps.reference import REFERENCE_LAYERS
from gridsvc.ogc.collections import tile_collections
from gridsvc.ogc.tiles import collections_tables, version_of

#: The version of a whole page is under this name, beside its tile layers'.
PAGE = "page"


def versioned(
    session: Session,
    options: RenderOptions,
    layers: dict[str, tuple[str, ...]] | None = None,
    page_tables: Iterable[str] = (),
) -> RenderOptions:
    """Return ``options`` with the data versions of the page's tile layers and of the page.

    Parameters
    ----------
    session : Session
        Where the tables are read.
    options : RenderOptions
        A served map's options; returned as they are when the map draws no tiles.
    layers : dict, optional
        Layer name -> the collection ids of its tiles, beside the reference layers.
    page_tables : iterable of str
        Tables the page itself is drawn from: a change to one gives a new page version.
    """
    if not options.vector_tiles:
        return options
    known = tile_collections()
    groups = {**REFERENCE_LAYERS, **(layers or {})}
    tables_of = {
        name: collections_tables(known[collection] for collection in ids)
        for name, ids in groups.items()
    }
    every = {table for tables in tables_of.values() for table in tables} | set(page_tables)
    states = table_states(session, every)
    versions = {name: version_of(states, tables) for name, tables in tables_of.items()}
    versions[PAGE] = version_of(states, every)
    return replace(options, tile_versions=tuple(sorted(versions.items())))
