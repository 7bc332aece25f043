"""The UTM zone of an extent: the metric CRS a city's distances and areas are measured in.

A city measured in another city's zone gets its distances a little wrong (0.4-0.8 % of
residents' coverage for a city two zones away), so the zone is chosen from where the city
is, the way geopandas' ``estimate_utm_crs`` and osmnx do: the WGS-84 UTM zone holding the
extent's centre, as pyproj's database answers it.
"""

from __future__ import annotations

from functools import lru_cache

from pyproj import CRS
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_utm_crs_info


def utm_crs(west: float, south: float, east: float, north: float) -> str:
    """Return ``EPSG:326xx`` / ``EPSG:327xx``: the UTM zone holding the box's centre."""
    return _zone_at(round((west + east) / 2, 4), round((south + north) / 2, 4))


@lru_cache(maxsize=256)
def _zone_at(lon: float, lat: float) -> str:
    # pyproj searches its database (about 0.1 s): once per place and process.
    found = query_utm_crs_info(
        datum_name="WGS 84", area_of_interest=AreaOfInterest(lon, lat, lon, lat)
    )
    if not found:
        raise ValueError(f"no UTM zone holds ({lon:.3f}, {lat:.3f})")
    return f"{found[0].auth_name}:{found[0].code}"


def check_metric(text: str) -> str:
    """Return ``text`` if it names a projected CRS measured in metres, else raise ValueError."""
    try:
        crs = CRS.from_user_input(text)
    except Exception as error:  # noqa: BLE001 - pyproj's CRSError and friends
        raise ValueError(f"{text!r} is not a coordinate reference system: {error}") from None
    units = {axis.unit_name for axis in crs.axis_info}
    if not crs.is_projected or units != {"metre"}:
        raise ValueError(f"{text!r} is not a projected CRS in metres")
    if crs.to_epsg() is None:
        raise ValueError(f"{text!r} has no EPSG code (PostGIS stores geometries by SRID)")
    return f"EPSG:{crs.to_epsg()}"
