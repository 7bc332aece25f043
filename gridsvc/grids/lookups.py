"""Names and shapes of grids and their parents by code, for other domains' tables and maps."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from gridsvc.grids.models import Community, District, Grid, Street

LEVELS: dict[str, Any] = {
    "district": District,
    "street": Street,
    "community": Community,
    "grid": Grid,
}


def with_parents(statement: Select) -> Select:
    """Join a statement over grids to its community, street and district rows."""
    return (
        statement.join(Community, Grid.community_id == Community.id)
        .join(Street, Community.street_id == Street.id)
        .join(District, Street.district_id == District.id)
    )


def names_of(session: Session, level: str, codes: set[str]) -> dict[str, str]:
    """Names of the districts, streets, communities or grids with ``codes``.

    The current boundary's name, else the newest retired one: a case keeps the code it was
    routed to when boundaries are redrawn.
    """
    table = LEVELS[level]
    rows = session.execute(
        select(table.code, table.name)
        .where(table.code.in_(codes))
        .order_by(table.valid_to.asc().nulls_last())
    )
    return dict(rows.all())  # the newest generation comes last and wins


def grid_shapes(session: Session, codes: set[str], tolerance: float = 0.0) -> dict[str, Any]:
    """GeoJSON geometries of the current grids with ``codes`` (simplified by ``tolerance``°)."""
    geometry = (
        Grid.geom if tolerance <= 0 else func.ST_SimplifyPreserveTopology(Grid.geom, tolerance)
    )
    rows = session.execute(
        select(Grid.code, func.ST_AsGeoJSON(geometry)).where(
            Grid.code.in_(codes), Grid.valid_to.is_(None)
        )
    )
    return {code: json.loads(shape) for code, shape in rows}
