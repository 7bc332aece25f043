"""Hand-drawn ground of the Ordos demo city: outline, districts, towns.

No real boundary files are available offline, so the outline is a hand-written
polygon that follows the Yellow River loop (north, west, east) and the Great
Wall / Shaanxi line (south), and the nine districts are Voronoi regions of
hand-placed seed points, with Dongsheng and Kangbashi carved first as
irregular polygons. All construction happens in metres in UTM zone 49N.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Polygon

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

# Clockwise from the north-west, following the Yellow River loop, then back west along
# the Shaanxi / Ningxia line.
_OUTLINE_LONLAT = (
    (106.95, 40.05),
    (107.25, 40.35),
    (107.60, 40.58),
    (108.05, 40.70),
    (108.60, 40.79),
    (109.15, 40.66),
    (109.70, 40.55),
    (110.20, 40.46),
    (110.75, 40.36),
    (111.15, 40.30),
    (111.35, 40.08),
    (111.47, 39.78),
    (111.40, 39.55),
    (111.18, 39.40),
    (110.85, 39.32),
    (110.50, 39.20),
    (110.18, 39.12),
    (109.88, 38.98),
    (109.58, 38.76),
    (109.25, 38.48),
    (108.98, 38.20),
    (108.68, 37.88),
    (108.25, 37.66),
    (107.65, 37.63),
    (107.20, 37.75),
    (106.88, 38.02),
    (106.74, 38.42),
    (106.72, 38.90),
    (106.78, 39.35),
    (106.85, 39.75),
)

_DONGSHENG_LONLAT = (
    (109.60, 39.76),
    (109.70, 39.735),
    (109.80, 39.725),
    (109.90, 39.73),
    (110.02, 39.72),
    (110.15, 39.70),
    (110.28, 39.73),
    (110.38, 39.80),
    (110.40, 39.90),
    (110.33, 40.00),
    (110.22, 40.06),
    (110.08, 40.09),
    (109.92, 40.08),
    (109.78, 40.03),
    (109.66, 39.96),
    (109.58, 39.86),
)

_KANGBASHI_LONLAT = (
    (109.62, 39.60),
    (109.70, 39.595),
    (109.755, 39.583),
    (109.80, 39.578),
    (109.87, 39.585),
    (109.91, 39.61),
    (109.90, 39.66),
    (109.86, 39.70),
    (109.80, 39.745),
    (109.72, 39.75),
    (109.65, 39.71),
    (109.61, 39.66),
)

# Voronoi seeds of the seven other districts, placed by eye on the map.
_DISTRICT_SEEDS_LONLAT: dict[str, tuple[tuple[float, float], ...]] = {
    "150621": (
        (109.20, 40.30),
        (109.55, 40.35),
        (109.95, 40.35),
        (110.35, 40.30),
        (110.70, 40.25),
        (109.45, 40.18),
    ),
    "150622": (
        (110.65, 39.95),
        (111.00, 40.05),
        (111.20, 39.80),
        (110.90, 39.55),
        (111.20, 39.45),
        (110.60, 39.60),
    ),
    "150623": (
        (107.10, 38.30),
        (107.50, 38.20),
        (107.90, 38.05),
        (107.40, 37.85),
        (107.05, 38.60),
        (108.10, 37.80),
    ),
    "150624": (
        (107.00, 39.30),
        (107.50, 39.10),
        (108.00, 39.00),
        (107.20, 39.65),
        (107.70, 39.45),
        (108.25, 38.80),
        (107.60, 38.75),
        (106.95, 38.95),
    ),
    "150625": (
        (107.55, 40.15),
        (108.10, 40.35),
        (108.70, 40.40),
        (108.50, 39.85),
        (108.90, 39.70),
        (108.20, 39.70),
        (107.95, 39.92),
        (109.22, 39.52),
    ),
    "150626": (
        (108.50, 38.40),
        (108.85, 38.60),
        (109.10, 38.85),
        (108.70, 38.95),
        (109.30, 39.05),
        (108.40, 37.95),
        (108.80, 38.25),
        (109.30, 38.65),
    ),
    "150627": (
        (109.58, 39.38),
        (109.80, 39.42),
        (110.05, 39.35),
        (109.82, 39.18),
        (110.08, 39.20),
        (109.55, 39.60),
    ),
}


def to_utm(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project WGS-84 longitudes and latitudes to UTM 49N metres."""
    return _TO_UTM.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))


def geometry_to_wgs84(geometries: np.ndarray) -> np.ndarray:
    """Transform an array of UTM 49N geometries to EPSG:4326, vertex by vertex."""
    return shapely.transform(
        np.asarray(geometries, dtype=object),
        lambda xy: np.column_stack(_TO_WGS84.transform(xy[:, 0], xy[:, 1])),
    )


def _densify_lonlat(vertices: tuple[tuple[float, float], ...], step_deg: float) -> Polygon:
    """Cut the edges of a lon/lat polygon into pieces of at most ``step_deg`` degrees."""
    return shapely.segmentize(Polygon(vertices), step_deg)


def _utm_polygon(vertices: tuple[tuple[float, float], ...]) -> Polygon:
    """Densify a hand-drawn lon/lat polygon to ~1 km edges and project it to UTM 49N."""
    lonlat = _densify_lonlat(vertices, 0.01)
    xy = np.asarray(lonlat.exterior.coords)
    x, y = to_utm(xy[:, 0], xy[:, 1])
    return shapely.make_valid(Polygon(np.column_stack([x, y]))).buffer(0)


def city_outline(utm: bool = False) -> Polygon:
    """Return the outline of the demo Ordos, densified to ~1 km edges.

    Parameters
    ----------
    utm
        Return it in UTM 49N metres instead of EPSG:4326.

    Returns
    -------
    Polygon
        The outline polygon.
    """
    outline = _utm_polygon(_OUTLINE_LONLAT)
    if utm:
        return outline
    return geometry_to_wgs84(np.array([outline], dtype=object))[0]


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
    """Cut the outline into the nine districts, in the order of :data:`DISTRICTS`.

    Returns
    -------
    list of MultiPolygon
        District polygons in UTM 49N that tessellate :func:`city_outline`.
    """
    outline = city_outline(utm=True)
    dongsheng = _utm_polygon(_DONGSHENG_LONLAT).intersection(outline)
    kangbashi = _utm_polygon(_KANGBASHI_LONLAT).intersection(outline).difference(dongsheng)
    rest = outline.difference(shapely.union(dongsheng, kangbashi))
    codes: list[str] = []
    seeds: list[tuple[float, float]] = []
    for code, points in _DISTRICT_SEEDS_LONLAT.items():
        codes.extend([code] * len(points))
        seeds.extend(points)
    lon, lat = np.asarray(seeds).T
    x, y = to_utm(lon, lat)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(
            shapely.multipoints(np.column_stack([x, y])), extend_to=outline.envelope, ordered=True
        )
    )
    pieces = shapely.intersection(cells, rest)
    by_code: dict[str, list[shapely.Geometry]] = {}
    for code, piece in zip(codes, pieces, strict=True):
        by_code.setdefault(code, []).append(piece)
    shapes = {code: shapely.union_all(parts) for code, parts in by_code.items()}
    shapes["150602"] = dongsheng
    shapes["150603"] = kangbashi
    return [as_multipolygon(shapes[d.code]) for d in DISTRICTS]


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
