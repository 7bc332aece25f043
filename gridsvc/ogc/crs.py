"""Coordinate reference systems of the OGC API (Features Part 2, CRS by reference).

Stored geometries are WGS-84 (EPSG:4326). Offered: CRS84 (lon/lat, the default), EPSG:4326
and EPSG:4490 (CGCS2000, China's legal datum; both lat/lon, as their EPSG axis order says),
and the city's metric CRS (``grids_service.metric_srid``: UTM 49N for Ordos, easting and
northing). CGCS2000 and WGS-84 agree to a few centimetres, well under the data's precision,
so 4490 is 4326 relabelled, as PROJ's own ballpark transformation does.

GCJ-02 (the Chinese map SDKs' obfuscated lon/lat) has no EPSG code: it is offered as an
extension value ``crs=urn:gridsvc:crs:GCJ-02`` and labelled so in ``Content-Crs``; it is
never in a collection's ``crs`` list and never called 4326.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gridsvc.common.errors import InvalidParameterError

OGC = "http://www.opengis.net/def/crs"
CRS84 = f"{OGC}/OGC/1.3/CRS84"
GCJ02 = "urn:gridsvc:crs:GCJ-02"


@dataclass(frozen=True)
class Crs:
    """One offered CRS: its URI, the PostGIS SRID to compute in, and its axis order."""

    uri: str
    srid: int
    lat_first: bool = False
    gcj02: bool = False

    @property
    def geographic(self) -> bool:
        """Whether coordinates are degrees."""
        return self.srid in (4326, 4490)


def metric_uri(srid: int) -> str:
    """URI of the metric CRS ``srid``."""
    return f"{OGC}/EPSG/0/{srid}"


def offered(metric_srid: int) -> dict[str, Crs]:
    """Return the standard CRSs every collection offers, by URI (CRS84 first: the storage CRS).

    ``metric_srid`` is the city's metric CRS, the one its coverage is measured in.
    """
    return {
        CRS84: Crs(CRS84, 4326),
        f"{OGC}/EPSG/0/4326": Crs(f"{OGC}/EPSG/0/4326", 4326, lat_first=True),
        f"{OGC}/EPSG/0/4490": Crs(f"{OGC}/EPSG/0/4490", 4490, lat_first=True),
        metric_uri(metric_srid): Crs(metric_uri(metric_srid), metric_srid),
    }


def parse_crs(text: str | None, metric_srid: int, parameter: str = "crs") -> Crs:
    """Return the CRS a ``crs`` or ``bbox-crs`` value names (CRS84 when absent)."""
    crss = offered(metric_srid)
    if text is None:
        return crss[CRS84]
    value = text.strip()
    if value.startswith("[") and value.endswith("]"):  # a safe CURIE: [EPSG:4490]
        authority, _, code = value[1:-1].partition(":")
        value = f"{OGC}/{authority.upper()}/0/{code}"
    if value == GCJ02:
        return Crs(GCJ02, 4326, gcj02=True)
    found = crss.get(value) or crss.get(value.replace("https://", "http://"))
    if found is None:
        known = ", ".join([*crss, GCJ02])
        raise InvalidParameterError(parameter, f"unsupported CRS '{text}'; offered: {known}")
    return found


def parse_box(text: str, crs: Crs, parameter: str = "bbox") -> tuple[float, ...]:
    """Four numbers of a ``bbox`` as x_min, y_min, x_max, y_max in ``crs``'s x/y order.

    A lat/lon CRS's box is given lat first (south, west, north, east), as its axis order is.
    """
    parts = text.split(",")
    if len(parts) == 6:  # a 3D box: drop the heights
        parts = [parts[0], parts[1], parts[3], parts[4]]
    try:
        values = [float(part) for part in parts]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise InvalidParameterError(parameter, f"'{text}' is not 4 (or 6) finite numbers")
    if crs.lat_first:
        values = [values[1], values[0], values[3], values[2]]
    x_min, y_min, x_max, y_max = values
    if x_min > x_max or y_min > y_max:
        raise InvalidParameterError(parameter, f"'{text}': a lower corner exceeds the upper one")
    if crs.geographic and not (-180 <= x_min and x_max <= 180 and -90 <= y_min and y_max <= 90):
        raise InvalidParameterError(parameter, f"'{text}' lies outside the globe's degrees")
    return x_min, y_min, x_max, y_max
