"""Region coverage results written back into a gridsvc PostGIS database.

For a city exported from that database: its stored coverage of the circles is replaced by
the Dask results, through the coverage domain's own writer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import shapely
from sqlalchemy import delete
from sqlalchemy.orm import Session

from gridsvc.coverage.circles import Circle
from gridsvc.coverage.models import GridCoverage
from gridsvc.coverage.store import store_coverage
from gridsvc.region import layout


def store_city_coverage(
    session: Session, out: str | Path, city: layout.CityEntry, circles: list[Circle]
) -> int:
    """Replace the database's per-grid coverage of ``circles`` by city's results; rows written.

    The caller commits. Raises ValueError if the city did not come from a database.
    """
    if city.source != "database":
        raise ValueError(f"city {city.code} was not exported from a database ({city.source})")
    result = layout.read_coverage(out, city.code)
    srid = int(city.crs.split(":")[-1])
    codes = [circle.code for circle in circles]
    session.execute(delete(GridCoverage).where(GridCoverage.circle.in_(codes)))
    written = 0
    for circle in circles:
        for mode in ("network", "euclidean"):
            rows = result[(result["circle"] == circle.code) & (result["mode"] == mode)]
            gap = rows.geometry.to_numpy()
            gap = np.where(shapely.is_missing(gap), shapely.Polygon(), gap)
            table = rows.drop(columns="geometry").rename(columns={"grid_code": "code"})
            table["gap"] = gap
            store_coverage(session, table, circle, mode, srid)
            written += len(table)
    session.flush()
    return written
