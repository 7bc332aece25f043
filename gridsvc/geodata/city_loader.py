"""Write a whole city (boundaries, facilities, residents, walking network) into PostGIS.

Rows go in through COPY in one transaction: the city loads whole or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import geopandas as gpd
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridsvc.common.postgis import copy_rows, ewkb_hex
from gridsvc.grids import service as grids_service

if TYPE_CHECKING:
    from gridsvc.geodata.demo.build import DemoCity

# Children before parents, so that TRUNCATE ... CASCADE is not needed. The metric CRS
# stored with the city goes with it (a load of districts chooses it anew).
CITY_TABLES = (
    "city_metric_crs",
    "network_edges",
    "network_nodes",
    "population_points",
    "facilities",
    "facility_types",
    "grids",
    "communities",
    "streets",
    "districts",
)


def city_is_loaded(session: Session) -> bool:
    """Whether the database holds any current grid."""
    return bool(session.scalar(text("SELECT EXISTS (SELECT 1 FROM grids WHERE valid_to IS NULL)")))


def clear_city(session: Session) -> None:
    """Remove every boundary, facility, resident and network row."""
    session.execute(text(f"TRUNCATE {', '.join(CITY_TABLES)} RESTART IDENTITY"))


def copy_boundaries(
    session: Session, table: str, frame: gpd.GeoDataFrame, extra: dict[str, Sequence]
) -> dict[str, int]:
    """COPY one boundary level and return the new ids by code."""
    columns = ["code", "name", *extra, "geom"]
    values = [frame["code"], frame["name"], *extra.values(), ewkb_hex(frame.geometry)]
    copy_rows(session, table, columns, zip(*values, strict=True))
    found = session.execute(text(f"SELECT code, id FROM {table} WHERE valid_to IS NULL"))
    return dict(found.all())


def load_boundaries(session: Session, city: DemoCity) -> None:
    """Districts → streets → communities → grids, each row linked to its parent by id."""
    district_ids = copy_boundaries(session, "districts", city.districts, {})
    street_ids = copy_boundaries(
        session,
        "streets",
        city.streets,
        {"district_id": [district_ids[c] for c in city.streets["district_code"]]},
    )
    community_ids = copy_boundaries(
        session,
        "communities",
        city.communities,
        {
            "street_id": [street_ids[c] for c in city.communities["street_code"]],
            "kind": city.communities["kind"],
        },
    )
    grids = city.grids
    copy_boundaries(
        session,
        "grids",
        grids,
        {
            "community_id": [community_ids[c] for c in grids["community_code"]],
            "population": grids["population"].astype(int),
            "households": grids["households"].astype(int),
            "grid_workers": grids["grid_workers"].astype(int),
        },
    )


def load_facilities(session: Session, city: DemoCity) -> None:
    """Facility types, then facilities."""
    types = city.facility_types
    copy_rows(
        session,
        "facility_types",
        ["code", "name", "name_en", "level"],
        types[["code", "name", "name_en", "level"]].itertuples(index=False, name=None),
    )
    frame = city.facilities
    capacity = [None if c is None or c != c else int(c) for c in frame["capacity"]]
    copy_rows(
        session,
        "facilities",
        ["type_code", "name", "capacity", "source", "geom"],
        zip(
            frame["type_code"],
            frame["name"],
            capacity,
            frame["source"],
            ewkb_hex(frame.geometry),
            strict=True,
        ),
    )


def load_residents_and_network(session: Session, city: DemoCity) -> None:
    """Load population points and the walking network."""
    population = city.population
    copy_rows(
        session,
        "population_points",
        ["persons", "geom"],
        zip(population["persons"].astype(int), ewkb_hex(population.geometry), strict=True),
    )
    nodes = city.network_nodes
    copy_rows(
        session,
        "network_nodes",
        ["id", "geom"],
        zip(nodes["node_id"].astype(int), ewkb_hex(nodes.geometry), strict=True),
    )
    edges = city.network_edges
    copy_rows(
        session,
        "network_edges",
        ["source", "target", "length_m", "geom"],
        zip(
            edges["source"].astype(int),
            edges["target"].astype(int),
            edges["length_m"].astype(float),
            ewkb_hex(edges.geometry),
            strict=True,
        ),
    )


LOAD_STEPS = (
    ("boundaries", load_boundaries),
    ("facilities", load_facilities),
    ("residents and walking network", load_residents_and_network),
)


def load_city(session: Session, city: DemoCity) -> Iterator[str]:
    """Replace the city in the database with ``city``; yields the name of each step as it ends.

    The caller owns the transaction: nothing is visible to others until it commits.
    """
    clear_city(session)
    for name, step in LOAD_STEPS:
        step(session, city)
        if step is load_boundaries:
            grids_service.remember_metric_crs(session)
        yield name
    session.execute(text(f"ANALYZE {', '.join(CITY_TABLES)}"))
