"""Write checked rows of one layer with COPY: boundary generations, facilities, residents."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from datetime import datetime

import geopandas as gpd
from sqlalchemy import text
from sqlalchemy.orm import Session
from tqdm import tqdm

from gridsvc.common.postgis import copy_rows, ewkb_hex
from gridsvc.facilities import service as facilities_service
from gridsvc.geodata.layers import LAYERS, Layer, child_layer
from gridsvc.geodata.tagmap import load_tag_map
from gridsvc.grids import service as grids_service

# COPY shows a progress bar from this many rows on.
PROGRESS_FROM_ROWS = 20_000


def bar(rows: Iterable[tuple], total: int, label: str, progress: bool) -> Iterable[tuple]:
    """Wrap ``rows`` in a progress bar on stderr when asked and the load is big."""
    show = progress and total >= PROGRESS_FROM_ROWS
    return tqdm(rows, total=total, desc=label, unit="row", file=sys.stderr, disable=not show)


def open_generation(session: Session, layer: Layer, replace: bool) -> tuple[int, datetime]:
    """Return the generation the rows join and the moment they start; close the current first.

    ``clock_timestamp()`` rather than ``now()``: rows loaded earlier in the same transaction
    must still end after they began.
    """
    table = layer.table
    moment = session.scalar(text("SELECT clock_timestamp()"))
    current = session.scalar(text(f"SELECT max(generation) FROM {table} WHERE valid_to IS NULL"))
    latest = session.scalar(text(f"SELECT coalesce(max(generation), 0) FROM {table}"))
    if replace:
        session.execute(
            text(f"UPDATE {table} SET valid_to = :moment WHERE valid_to IS NULL"),
            {"moment": moment},
        )
        return latest + 1, moment
    return (current if current is not None else latest + 1), moment


def relink_children(session: Session, layer: Layer) -> None:
    """Point current child rows at the new row with their old parent's code."""
    child = child_layer(layer)
    if child is None:
        return
    key = f"{layer.singular}_id"
    session.execute(
        text(
            f"UPDATE {child.table} AS c SET {key} = n.id FROM {layer.table} o, {layer.table} n "
            f"WHERE c.{key} = o.id AND c.valid_to IS NULL AND n.code = o.code "
            "AND n.valid_to IS NULL AND n.id <> o.id"
        )
    )


def write_boundaries(
    session: Session, layer: Layer, frame: gpd.GeoDataFrame, replace: bool, progress: bool
) -> int:
    """COPY boundary rows as a generation; returns its number."""
    generation, moment = open_generation(session, layer, replace)
    columns = {"code": frame["code"], "name": frame["name"]}
    if layer.parent is not None:
        parent = LAYERS[layer.parent]
        found = session.execute(text(f"SELECT code, id FROM {parent.table} WHERE valid_to IS NULL"))
        ids = dict(found.all())
        columns[f"{parent.singular}_id"] = frame[layer.parent_field].map(ids)
    for name in ("kind", *layer.integer_fields):
        if name in frame:
            columns[name] = frame[name]
    values = [*columns.values(), [generation] * len(frame), [moment] * len(frame)]
    rows = zip(*values, ewkb_hex(frame.geometry), strict=True)
    copy_rows(
        session,
        layer.table,
        [*columns, "generation", "valid_from", "geom"],
        bar(rows, len(frame), layer.name, progress),
    )
    if replace:
        relink_children(session, layer)
    return generation


def create_mapped_types(session: Session, used: set[str]) -> None:
    """Insert the facility types the OSM mapping file declares and the database lacks."""
    declared = load_tag_map().facility_types
    for code in sorted(used & set(declared)):
        session.execute(
            text(
                "INSERT INTO facility_types (code, name, name_en, level) "
                "VALUES (:code, :name, :name_en, :level) ON CONFLICT (code) DO NOTHING"
            ),
            {"code": code, **declared[code]},
        )


def write_facilities(
    session: Session, frame: gpd.GeoDataFrame, replace: bool, progress: bool
) -> int:
    """COPY facilities; with ``replace`` the earlier ones of the same sources go first.

    Returns how many earlier facilities were deleted.
    """
    create_mapped_types(session, set(frame["type_code"]))
    removed = 0
    for source in sorted(set(frame["source"])) if replace else []:
        removed += facilities_service.withdraw_source(session, source)
    rows = zip(
        frame["type_code"],
        frame["name"],
        frame["capacity"],
        frame["source"],
        ewkb_hex(frame.geometry),
        strict=True,
    )
    copy_rows(
        session,
        "facilities",
        ["type_code", "name", "capacity", "source", "geom"],
        bar(rows, len(frame), "facilities", progress),
    )
    return removed


def write_population(
    session: Session, frame: gpd.GeoDataFrame, replace: bool, progress: bool
) -> int:
    """COPY resident points; with ``replace`` every earlier point goes first (returns how many)."""
    removed = session.execute(text("DELETE FROM population_points")).rowcount if replace else 0
    rows = zip(frame["persons"], ewkb_hex(frame.geometry), strict=True)
    copy_rows(
        session,
        "population_points",
        ["persons", "geom"],
        bar(rows, len(frame), "population", progress),
    )
    return removed


def write_layer(
    session: Session, layer: Layer, frame: gpd.GeoDataFrame, replace: bool, progress: bool
) -> tuple[int | None, int | None]:
    """Load checked rows into ``layer``.

    Returns the generation (boundary layers) and the number of earlier rows ``replace``
    deleted (facilities, population).
    """
    generation = removed = None
    if layer.is_boundary:
        generation = write_boundaries(session, layer, frame, replace, progress)
        if layer.name == "districts":
            grids_service.remember_metric_crs(session)
    elif layer.name == "facilities":
        removed = write_facilities(session, frame, replace, progress)
    else:
        removed = write_population(session, frame, replace, progress)
    session.execute(text(f"ANALYZE {layer.table}"))
    return generation, removed
