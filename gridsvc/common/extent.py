"""The city's extent: where a point given by a caller may lie at all.

The extent is the ``city_bbox`` setting grown by ``import_extent_margin_km`` on every side,
so that a point in Beijing, at lon 0 lat 0, or with latitude and longitude swapped is refused
with a message that says so, before any computation or database write.
"""

from __future__ import annotations

import math

from gridsvc.common.errors import InvalidParameterError
from gridsvc.config import Settings, box_text, get_settings

KM_PER_DEGREE = 111.32


def grown(
    box: tuple[float, float, float, float], margin_km: float
) -> tuple[float, float, float, float]:
    """Grow ``box`` by ``margin_km`` on every side, in degrees at its middle latitude."""
    west, south, east, north = box
    dlat = margin_km / KM_PER_DEGREE
    dlon = margin_km / (KM_PER_DEGREE * max(math.cos(math.radians((south + north) / 2)), 0.01))
    return west - dlon, south - dlat, east + dlon, north + dlat


def city_area(settings: Settings | None = None) -> tuple[float, float, float, float]:
    """Return the city's bbox setting plus the margin: the box every caller's point lies in."""
    settings = settings or get_settings()
    return grown(settings.city_bbox, settings.import_extent_margin_km)


def inside(lon: float, lat: float, box: tuple[float, float, float, float]) -> bool:
    """Whether lon/lat lies in ``box`` (edges included)."""
    west, south, east, north = box
    return west <= lon <= east and south <= lat <= north


def outside_city_reason(lon: float, lat: float, settings: Settings | None = None) -> str | None:
    """Say why lon/lat (WGS-84) is not in the city, or None when it is."""
    settings = settings or get_settings()
    area = city_area(settings)
    if inside(lon, lat, area):
        return None
    where = f"lon {lon:g}, lat {lat:g}"
    if inside(lat, lon, area):
        return f"latitude and longitude look swapped: {where} lies in the city as lat/lon"
    return (
        f"far outside the city: {where} is more than {settings.import_extent_margin_km:g} km "
        f"from the city's extent {box_text(settings.city_bbox)} (GRIDSVC_CITY_BBOX)"
    )


def check_in_city(
    lon: float, lat: float, field_prefix: str = "", location: str = "body", lon_field: str = "lon"
) -> None:
    """Refuse lon/lat outside the city, naming the field ``{field_prefix}{lon_field}``.

    ``field_prefix`` is how the caller wrote the point's parent, e.g. ``add[0].``; the
    coordinates are WGS-84 (convert GCJ-02/BD-09 first).
    """
    reason = outside_city_reason(lon, lat)
    if reason is not None:
        raise InvalidParameterError(f"{field_prefix}{lon_field}", reason, location)
