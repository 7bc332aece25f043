"""A small city with a walking network, residents and facilities, and the API on it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import shapely
from geoalchemy2.shape import from_shape
from pyproj import Transformer
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridsvc.common.postgis import copy_rows, hex_ewkb
from gridsvc.facilities.models import Facility
from tests.factories import LatticeCity, make_test_city

TO_METRIC = Transformer.from_crs(4326, 32649, always_xy=True)
TO_WGS84 = Transformer.from_crs(32649, 4326, always_xy=True)
TYPES = ("library", "park_square", "shop_market", "practice_station")


@dataclass
class WalkCity:
    """The lattice city with what coverage needs, and the same data in metres for checks."""

    lattice: LatticeCity
    resident_xy: np.ndarray
    resident_persons: np.ndarray
    facility_ids: list[int]
    facility_types: list[str]
    facility_xy: np.ndarray


def lonlat(xy: np.ndarray) -> np.ndarray:
    lon, lat = TO_WGS84.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([lon, lat])


def add_network(session: Session, west: float, south: float, spacing: float = 250.0) -> None:
    columns, rows = 17, 18
    xy = np.array(
        [(west + c * spacing, south + r * spacing) for r in range(rows) for c in range(columns)]
    )
    wgs = lonlat(xy)
    nodes = shapely.set_srid(shapely.points(wgs), 4326)
    copy_rows(
        session,
        "network_nodes",
        ["id", "geom"],
        zip((900_000 + np.arange(len(wgs))).tolist(), hex_ewkb(nodes), strict=True),
    )
    pairs = [
        (r * columns + c, r * columns + c + 1) for r in range(rows) for c in range(columns - 1)
    ]
    pairs += [
        (r * columns + c, (r + 1) * columns + c) for r in range(rows - 1) for c in range(columns)
    ]
    a, b = np.array(pairs).T
    lines = shapely.set_srid(shapely.linestrings(np.stack([wgs[a], wgs[b]], axis=1)), 4326)
    lengths = np.linalg.norm(xy[a] - xy[b], axis=1)
    ids = (900_000 + a).tolist(), (900_000 + b).tolist()
    edges = zip(*ids, lengths.tolist(), hex_ewkb(lines), strict=True)
    copy_rows(session, "network_edges", ["source", "target", "length_m", "geom"], edges)


@pytest.fixture
def walk_city(db_session: Session) -> WalkCity:
    rng = np.random.default_rng(3)
    lattice = make_test_city(db_session)
    for code in TYPES:
        db_session.execute(
            text(
                "INSERT INTO facility_types (code, name, name_en, level) "
                "VALUES (:code, :name, :name, 'community') ON CONFLICT DO NOTHING"
            ),
            {"code": code, "name": code},
        )
    west, south, east, north = lattice.district_polygon.bounds
    x0, y0 = TO_METRIC.transform(west, south)
    x1, y1 = TO_METRIC.transform(east, north)
    add_network(db_session, x0 - 100, y0 - 100)
    residents = np.column_stack(
        [rng.uniform(x0 + 5, x1 - 5, 800), rng.uniform(y0 + 5, y1 - 5, 800)]
    )
    persons = rng.integers(1, 40, len(residents))
    points = shapely.set_srid(shapely.points(lonlat(residents)), 4326)
    rows = zip(persons.tolist(), hex_ewkb(points), strict=True)
    copy_rows(db_session, "population_points", ["persons", "geom"], rows)
    facility_xy = np.column_stack([rng.uniform(x0, x1, 16), rng.uniform(y0, y1, 16)])
    types = [TYPES[i % len(TYPES)] for i in range(16)]
    ids = []
    for (lon, lat), code in zip(lonlat(facility_xy), types, strict=True):
        facility = Facility(
            type_code=code,
            name="测试",
            source="test",
            geom=from_shape(shapely.Point(lon, lat), srid=4326),
        )
        db_session.add(facility)
        db_session.flush()
        ids.append(facility.id)
    return WalkCity(lattice, residents, persons, ids, types, facility_xy)
