"""COPY in both formats writes the same rows: text with hex EWKB, binary with EWKB bytes."""

from __future__ import annotations

import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridsvc.common.postgis import column_types, copy_rows, hex_ewkb

COLUMNS = ["facility_id", "type_code", "mode", "threshold_m", "geom"]


def stored(session: Session) -> list[tuple]:
    return [
        tuple(row)
        for row in session.execute(
            text(
                "SELECT facility_id, type_code, mode, threshold_m, ST_AsEWKB(geom) "
                "FROM service_areas WHERE type_code = 'copy_probe' ORDER BY facility_id"
            )
        )
    ]


def test_binary_and_text_copy_store_the_same_rows(db_session: Session) -> None:
    square = shapely.set_srid(shapely.MultiPolygon([shapely.box(109.9, 39.8, 109.91, 39.81)]), 4326)
    ring = shapely.set_srid(
        shapely.MultiPolygon([shapely.buffer(shapely.Point(109.95, 39.85), 0.01)]), 4326
    )
    shapes = [square, ring]
    binary_rows = [
        (1, "copy_probe", "network", 800.0, shapely.to_wkb(square, include_srid=True)),
        (2, "copy_probe", "euclidean", 400, shapely.to_wkb(ring, include_srid=True)),
    ]
    copy_rows(db_session, "service_areas", COLUMNS, binary_rows, binary=True)
    through_binary = stored(db_session)
    db_session.execute(text("DELETE FROM service_areas WHERE type_code = 'copy_probe'"))
    text_rows = [
        (*row[:4], hexed) for row, hexed in zip(binary_rows, hex_ewkb(shapes), strict=True)
    ]
    copy_rows(db_session, "service_areas", COLUMNS, text_rows)
    through_text = stored(db_session)
    assert through_binary == through_text
    assert [row[:4] for row in through_binary] == [row[:4] for row in binary_rows]
    back = [shapely.from_wkb(bytes(row[4])) for row in through_binary]
    assert all(
        shapely.equals_exact(got, wanted, 0) for got, wanted in zip(back, shapes, strict=True)
    )
    assert list(shapely.get_srid(back)) == [4326, 4326]


def test_column_types_name_geometry_as_bytes(db_session: Session) -> None:
    types = column_types(db_session, "grid_coverage")
    assert types["geom"] == "bytea"
    assert types["residents"] == "int4"
    assert types["area_m2"] == "float8"
    assert types["grid_code"] == "varchar"
