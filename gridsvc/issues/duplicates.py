"""Duplicate suggestions: open reports of the same category near a new one.

They go to the reporter, who may be anyone, so they tell only what anyone may know of
another person's report.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

from geoalchemy2 import Geography
from sqlalchemy import Float, Select, bindparam, cast, func, select
from sqlalchemy.orm import Session

from gridsvc.common.geometry import WGS84, within_metres
from gridsvc.config import get_settings
from gridsvc.issues.models import Issue
from gridsvc.issues.workflow import OPEN_STATUSES

# Distances to other people's reports are told in steps this wide, never exactly.
DISTANCE_STEP_M = 50


@cache
def nearby_statement() -> Select:
    """Open issues of a category within a radius of a point, nearest first (built once)."""
    other = Issue.__table__.alias("other")
    here = func.ST_SetSRID(
        func.ST_MakePoint(bindparam("lon", type_=Float), bindparam("lat", type_=Float)), WGS84
    )
    distance = func.ST_Distance(cast(other.c.geom, Geography), cast(here, Geography))
    radius = bindparam("radius", type_=Float)
    # A box in degrees (a degree of longitude being the shorter) lets the GiST index
    # prefilter; the exact test is on the geography.
    return (
        select(other.c.public_id, other.c.category_code, other.c.status, distance)
        .where(
            other.c.id != bindparam("issue_id"),
            other.c.category_code == bindparam("category"),
            other.c.status.in_(OPEN_STATUSES),
            other.c.geom.op("&&")(func.ST_Expand(here, bindparam("degrees", type_=Float))),
            func.ST_DWithin(cast(other.c.geom, Geography), cast(here, Geography), radius),
        )
        .order_by(distance, other.c.id)
        .limit(bindparam("limit"))
    )


def suggestions(
    session: Session, issue_id: int, category: str, lon: float, lat: float, limit: int = 10
) -> list[dict[str, Any]]:
    """Open issues of the same category within the duplicate radius, nearest first.

    They go to the reporter, who may be anyone: public id, category, status and a distance
    rounded up to 50 m only, never the other report's text, position or secret.
    """
    radius = get_settings().issue_duplicate_radius_m
    degrees = within_metres(radius, lat)
    rows = session.connection().execute(
        nearby_statement(),
        {
            "issue_id": issue_id,
            "category": category,
            "lon": lon,
            "lat": lat,
            "radius": radius,
            "degrees": degrees,
            "limit": limit,
        },
    )
    step = DISTANCE_STEP_M
    return [
        {
            "public_id": row.public_id,
            "category": row.category_code,
            "status": row.status,
            "distance_m": max(step, math.ceil(row[3] / step) * step),
        }
        for row in rows
    ]
