"""Query rows as frames: the same frame pandas makes from the rows' mappings, quicker."""

from __future__ import annotations

import pandas as pd
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridsvc.common.postgis import frame_of, shapes_of

ROWS = (
    "SELECT g AS n, g * 0.5 AS half, 'c' || g AS code, CASE WHEN g % 2 = 0 THEN NULL"
    " ELSE g END AS odd, sum(g) OVER () AS total,"
    " ST_AsBinary(ST_Buffer(ST_MakePoint(g, 0), 0.25)) AS wkb"
    " FROM generate_series(1, :n) AS g ORDER BY g"
)


def test_a_frame_of_rows_equals_the_frame_of_their_mappings(db_session: Session) -> None:
    ours = frame_of(db_session.execute(text(ROWS), {"n": 50}))
    theirs = pd.DataFrame(db_session.execute(text(ROWS), {"n": 50}).mappings().all())
    assert list(ours.columns) == ["n", "half", "code", "odd", "total", "wkb"]
    pd.testing.assert_frame_equal(ours, theirs)  # values and dtypes
    assert frame_of(db_session.execute(text(ROWS), {"n": 0})).empty


def test_shapes_of_reads_the_wkb_into_geometries(db_session: Session) -> None:
    shapes = shapes_of(db_session.execute(text(ROWS), {"n": 3}))
    assert shapes.crs.to_epsg() == 4326 and "wkb" not in shapes.columns
    expected = shapely.buffer(shapely.points([(1, 0), (2, 0), (3, 0)]), 0.25)
    assert all(shapely.equals_exact(shapes.geometry.to_numpy(), expected, tolerance=1e-12))
    assert list(shapes["code"]) == ["c1", "c2", "c3"]
    empty = shapes_of(db_session.execute(text(ROWS), {"n": 0}))
    assert empty.empty and empty.crs.to_epsg() == 4326
