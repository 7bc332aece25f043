"""The metric CRS stored with the city: the UTM zone of its districts' extent.

Loading a city's districts chooses it (:func:`remember_metric_crs`), as osmnx's
``estimate_utm_crs`` does: the WGS-84 UTM zone holding the centre of the extent. With
``GRIDSVC_METRIC_CRS=auto`` it is the CRS distances and areas are measured in
(:func:`metric_crs`), else the zone of ``GRIDSVC_CITY_BBOX`` while no city is stored; a named
``GRIDSVC_METRIC_CRS`` wins, and :func:`metric_crs_warning` says when it differs. The choice
is read once per session (kept in ``session.info``): settings stay cheap to get.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gridsvc.config import get_settings, utm_crs
from gridsvc.grids.models import CityMetricCrs, District

#: Where a session keeps the stored CRS it read (``""`` for none stored).
SESSION_KEY = "gridsvc.stored_metric_crs"


def remember_metric_crs(session: Session) -> str | None:
    """Choose and store the UTM zone of the current districts' extent; None without any."""
    extent = session.execute(
        select(
            func.ST_XMin(func.ST_Extent(District.geom)),
            func.ST_YMin(func.ST_Extent(District.geom)),
            func.ST_XMax(func.ST_Extent(District.geom)),
            func.ST_YMax(func.ST_Extent(District.geom)),
        ).where(District.valid_to.is_(None))
    ).one()
    stored = session.get(CityMetricCrs, 1)
    if extent[0] is None:
        if stored is not None:
            session.delete(stored)
        session.flush()
        session.info[SESSION_KEY] = ""
        return None
    west, south, east, north = (float(value) for value in extent)
    crs = utm_crs(west, south, east, north)
    row = stored or CityMetricCrs(id=1)
    row.crs, row.west, row.south, row.east, row.north = crs, west, south, east, north
    row.chosen_at = func.now()
    session.add(row)
    session.flush()
    session.info[SESSION_KEY] = crs
    return crs


def stored_metric_crs(session: Session) -> str | None:
    """Return the CRS stored with the loaded city (read once per session), or None."""
    if SESSION_KEY not in session.info:
        crs = session.scalar(select(CityMetricCrs.crs).where(CityMetricCrs.id == 1))
        session.info[SESSION_KEY] = crs or ""
    return session.info[SESSION_KEY] or None


def metric_crs(session: Session) -> str:
    """Return the metric CRS in force: a named GRIDSVC_METRIC_CRS, the city's, or the bbox's."""
    settings = get_settings()
    if settings.metric_crs_named:
        return settings.metric_crs
    return stored_metric_crs(session) or settings.metric_crs


def metric_srid(session: Session) -> int:
    """EPSG code of :func:`metric_crs`."""
    return int(metric_crs(session).split(":")[-1])


def metric_crs_warning(session: Session) -> str | None:
    """Say so when a named GRIDSVC_METRIC_CRS is not the zone stored with the city."""
    settings, stored = get_settings(), stored_metric_crs(session)
    if not settings.metric_crs_named or stored is None or stored == settings.metric_crs:
        return None
    return (
        f"distances and areas are measured in {settings.metric_crs} (GRIDSVC_METRIC_CRS), "
        f"but the loaded city lies in UTM zone {stored}: coverage may be slightly off; "
        "set GRIDSVC_METRIC_CRS=auto to use the city's own zone"
    )
