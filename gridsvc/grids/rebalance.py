"""Rebalanced grids of one community: units from residents' positions, cut into a band.

Pure: coordinates in a metric frame, no database. The steps:

1. Units: the Voronoi cells of the community's resident points, clipped to the community.
   A cell that the clip cuts into several parts keeps the part holding its point; the
   other parts ("crumbs", without residents) join a neighbouring grid at the end.
2. The number of grids ``k``: the band's midpoint divides the community's load, held to
   the counts the band allows (``Band.grid_count``).
3. Recursive bisection of the units' contiguity graph: straight cuts across the units'
   long axis at the weighted quantile that gives each side its share of the ``k`` grids;
   a side left in pieces hands its smaller pieces to the other side, so both stay
   contiguous. This is the documented own step (spopt's max-p is kept as the reference in
   bench/bench_rebalance.py, see README: it is orders of magnitude slower at this size and
   bounds the load only from below).
4. Grids: the union of each part's cells and crumbs, numbered in reading order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from gridsvc.common.points import containing_index_xy
from gridsvc.grids.codes import reading_order

#: Cells that share less boundary than this (metres) are not neighbours (a corner).
MIN_SHARED_EDGE_M = 0.01
#: Cut directions tried at each bisection, in degrees from across the long axis.
CUT_ANGLES = (0.0, 22.5, -22.5, 45.0, -45.0, 67.5, -67.5, 90.0)


@dataclass(frozen=True)
class Band:
    """The load a grid should hold, from ``low`` to ``high`` inclusive."""

    low: float
    high: float

    @classmethod
    def parse(cls, text: str) -> Band:
        """Read ``"300-500"``; ValueError saying what is wrong otherwise."""
        low, sep, high = str(text).partition("-")
        try:
            band = cls(float(low), float(high))
        except ValueError:
            raise ValueError(f"a band is LOW-HIGH, e.g. 300-500, got '{text}'") from None
        if not sep or not 0 < band.low <= band.high:
            raise ValueError(f"a band needs 0 < LOW <= HIGH, e.g. 300-500, got '{text}'")
        return band

    def __str__(self) -> str:
        return f"{self.low:g}-{self.high:g}"

    def holds(self, load: float) -> bool:
        """Whether ``load`` lies in the band."""
        return self.low <= load <= self.high

    def allows(self, total: float) -> bool:
        """Whether some number of grids can each hold a load in the band, summing to ``total``."""
        return math.ceil(total / self.high) <= math.floor(total / self.low) and total >= self.low

    def grid_count(self, total: float) -> int:
        """How many grids share ``total``: the allowed count whose mean is nearest the midpoint.

        When no count is allowed (a total of 520 in 300-500), the nearer miss.
        """
        if total <= self.high:
            return 1
        least, most = math.ceil(total / self.high), math.floor(total / self.low)
        middle = (self.low + self.high) / 2
        near = {max(1, math.floor(total / middle)), max(1, math.ceil(total / middle))}
        if least <= most:  # |total / k - middle| falls, then rises: its best is next to these
            near = {min(max(k, least), most) for k in near}
        return min(sorted(near), key=lambda k: abs(total / k - middle))


@dataclass
class Units:
    """A community cut into resident cells: geometry, load and position of each unit."""

    cells: np.ndarray
    crumbs: np.ndarray
    xy: np.ndarray
    load: np.ndarray
    point_unit: np.ndarray


def resident_units(outline: BaseGeometry, xy: np.ndarray, load: np.ndarray) -> Units:
    """Voronoi cells of the resident points (coincident points merged), clipped to ``outline``.

    Returns the units with, for each input point, the index of its unit.
    """
    unique, point_unit = np.unique(np.round(xy, 3), axis=0, return_inverse=True)
    point_unit = point_unit.ravel()
    unit_load = np.bincount(point_unit, weights=load, minlength=len(unique))
    if len(unique) == 1:
        return Units(np.array([outline]), np.array([]), unique, unit_load, point_unit)
    sites = shapely.points(unique)
    raw = shapely.voronoi_polygons(shapely.multipoints(sites), extend_to=outline, ordered=True)
    clipped = shapely.intersection(shapely.get_parts(raw), outline)
    cells, crumbs = [], []
    for site, cell in zip(sites, clipped, strict=True):
        parts = [p for p in shapely.get_parts(cell) if p.geom_type == "Polygon" and p.area > 0]
        home = min(parts, key=lambda p: p.distance(site)) if parts else site.buffer(0.01)
        cells.append(home)
        crumbs.extend(p for p in parts if p is not home)
    return Units(
        np.array(cells, dtype=object), np.array(crumbs, dtype=object), unique, unit_load, point_unit
    )


def adjacency(geometries: np.ndarray) -> csr_matrix:
    """Which polygons share an edge (not just a corner): a symmetric sparse matrix."""
    tree = shapely.STRtree(geometries)
    first, second = tree.query(geometries, predicate="intersects")
    keep = first < second
    first, second = first[keep], second[keep]
    shared = shapely.length(shapely.intersection(geometries[first], geometries[second]))
    touch = shared > MIN_SHARED_EDGE_M
    rows = np.concatenate([first[touch], second[touch]])
    cols = np.concatenate([second[touch], first[touch]])
    size = len(geometries)
    return coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(size, size)).tocsr()


def _main_part(nodes: np.ndarray, load: np.ndarray, graph: csr_matrix) -> np.ndarray:
    """Mask of ``nodes`` in their heaviest connected piece (the most units on a tie)."""
    count, labels = connected_components(graph[nodes][:, nodes], directed=False)
    if count == 1:
        return np.ones(len(nodes), dtype=bool)
    weight = np.bincount(labels, weights=load[nodes], minlength=count)
    size = np.bincount(labels, minlength=count)
    return labels == np.lexsort((size, weight))[-1]


def contiguous_sides(
    first: np.ndarray, second: np.ndarray, load: np.ndarray, graph: csr_matrix
) -> tuple[np.ndarray, np.ndarray]:
    """Make both sides of a cut contiguous: each hands its stray pieces to the other."""
    keep = _main_part(first, load, graph)
    first, second = first[keep], np.concatenate([second, first[~keep]])
    keep = _main_part(second, load, graph)
    return np.concatenate([first, second[~keep]]), second[keep]


def long_axis(xy: np.ndarray, load: np.ndarray) -> float:
    """Angle (radians) of the units' long axis, weighted by load (by count if none)."""
    weight = load if load.sum() > 0 else np.ones(len(load))
    centred = xy - np.average(xy, axis=0, weights=weight)
    if len(xy) < 2:
        return 0.0
    covariance = np.cov(centred.T, aweights=weight + 1e-9)
    values, vectors = np.linalg.eigh(covariance)
    major = vectors[:, int(np.argmax(values))]
    return float(math.atan2(major[1], major[0]))


def _cut(
    nodes: np.ndarray, angle: float, target: float, units: Units, graph: csr_matrix
) -> tuple[np.ndarray, np.ndarray]:
    """Split ``nodes`` along ``angle`` where the first side's load comes nearest ``target``."""
    direction = np.array([math.cos(angle), math.sin(angle)])
    order = nodes[np.argsort(units.xy[nodes] @ direction, kind="stable")]
    cumulative = np.cumsum(units.load[order])
    at = int(np.clip(np.argmin(np.abs(cumulative - target)) + 1, 1, len(order) - 1))
    return contiguous_sides(order[:at], order[at:], units.load, graph)


def bisect(
    nodes: np.ndarray, count: int, band: Band, units: Units, graph: csr_matrix
) -> list[np.ndarray]:
    """Cut ``nodes`` into ``count`` contiguous parts of about equal load.

    Of the cut directions (across the long axis first), the first that leaves both sides a
    load their share of grids can hold in the band wins; failing that, the nearest miss.
    """
    if count == 1 or len(nodes) < 2:
        return [nodes]
    count = min(count, len(nodes))
    first_count = count // 2
    total = float(units.load[nodes].sum())
    target = total * first_count / count
    axis = long_axis(units.xy[nodes], units.load[nodes])
    best, best_score = None, None
    for rank, offset in enumerate(CUT_ANGLES):
        first, second = _cut(nodes, axis + math.radians(offset), target, units, graph)
        if not len(first) or not len(second):
            continue
        loads = units.load[first].sum(), units.load[second].sum()
        fits = _fits(loads[0], first_count, band) and _fits(loads[1], count - first_count, band)
        score = (not fits, 0 if fits else abs(loads[0] - target), rank)
        if best_score is None or score < best_score:
            best, best_score = (first, second), score
        if fits:
            break
    if best is None:
        return [nodes]
    return bisect(best[0], first_count, band, units, graph) + bisect(
        best[1], count - first_count, band, units, graph
    )


def _fits(load: float, count: int, band: Band) -> bool:
    """Whether ``count`` grids can share ``load`` each within the band."""
    return count * band.low <= load <= count * band.high


def attach_crumbs(parts: list[BaseGeometry], crumbs: np.ndarray) -> list[BaseGeometry]:
    """Give each crumb to the part it shares the longest edge with (crumbs chain on)."""
    pending = list(crumbs)
    while pending:
        left = []
        for crumb in pending:
            shared = [shapely.length(shapely.intersection(crumb, part)) for part in parts]
            best = int(np.argmax(shared))
            if shared[best] > MIN_SHARED_EDGE_M:
                parts[best] = shapely.union(parts[best], crumb)
            else:
                left.append(crumb)
        if len(left) == len(pending):  # touches no part at all: the nearest one takes it
            for crumb in left:
                nearest = int(np.argmin([crumb.distance(part) for part in parts]))
                parts[nearest] = shapely.union(parts[nearest], crumb)
            break
        pending = left
    return parts


def as_polygon(geometry: BaseGeometry) -> BaseGeometry:
    """Return a single polygon when the parts melt into one, else the valid parts."""
    geometry = shapely.make_valid(geometry)
    parts = [p for p in shapely.get_parts(geometry) if p.geom_type == "Polygon"]
    if len(parts) == 1:
        return parts[0]
    return MultiPolygon(parts)


def reading_numbers(grids: list[BaseGeometry], outline: BaseGeometry) -> np.ndarray:
    """Order of ``grids`` by the standard: rows from the north, west to east in a row."""
    points = shapely.point_on_surface(np.array(grids, dtype=object))
    row_height = max(1.0, math.sqrt(outline.area / max(1, len(grids))))
    return reading_order(shapely.get_x(points), shapely.get_y(points), row_height)


@dataclass
class CommunityGrids:
    """One community's proposed grids (reading order) and the unit each resident point fell in."""

    geometries: list[BaseGeometry]
    point_grid: np.ndarray


def propose_community(
    outline: BaseGeometry, xy: np.ndarray, load: np.ndarray, band: Band
) -> CommunityGrids:
    """Cut one community (metric CRS) into grids each holding a load in ``band``.

    Parameters
    ----------
    outline
        The community's polygon.
    xy
        Resident points (n, 2) inside it.
    load
        Each point's load (households, residents or grid workers).
    band
        The load a grid should hold.
    """
    if len(xy) == 0 or band.grid_count(float(load.sum())) == 1:
        return CommunityGrids([as_polygon(outline)], np.zeros(len(xy), dtype=np.int64))
    units = resident_units(outline, np.asarray(xy, dtype=float), np.asarray(load, dtype=float))
    graph = adjacency(units.cells)
    count = band.grid_count(float(units.load.sum()))
    parts = bisect(np.arange(len(units.cells)), count, band, units, graph)
    shapes = [shapely.union_all(units.cells[members]) for members in parts]
    shapes = [as_polygon(shape) for shape in attach_crumbs(shapes, units.crumbs)]
    shapes = smooth(shapes, outline, len(units.cells), (xy, load), band)
    order = reading_numbers(shapes, outline)
    ordered = [shapes[i] for i in order]
    return CommunityGrids(ordered, grid_of_points(np.array(ordered, dtype=object), xy))


#: Straightening tolerances tried, in cell spacings: the widest the band allows wins.
SMOOTHING_STEPS = (3.0, 2.0, 1.0)


def smooth(
    shapes: list[BaseGeometry],
    outline: BaseGeometry,
    cells: int,
    points: tuple[np.ndarray, np.ndarray],
    band: Band,
) -> list[BaseGeometry]:
    """Straighten the cells' zigzag between grids, keeping the community's edge as it is.

    GEOS's coverage simplification moves shared edges together, so the grids still
    tessellate. Residents near a moved edge may change grid: of the tolerances (3, 2, then
    1 cell spacing) the first whose grids are all valid single polygons and none of which
    falls out of the band it was in wins; failing all, the grids stay as cut.
    """
    spacing = math.sqrt(outline.area / max(1, cells))
    xy, load = points
    cut = np.array(shapes, dtype=object)
    before = np.bincount(grid_of_points(cut, xy), weights=load, minlength=len(shapes))
    for step in SMOOTHING_STEPS:
        simplified = shapely.coverage_simplify(cut, spacing * step, simplify_boundary=False)
        single = shapely.is_valid(simplified) & (shapely.get_num_geometries(simplified) == 1)
        if not single.all():
            continue
        after = np.bincount(grid_of_points(simplified, xy), weights=load, minlength=len(shapes))
        if all(band.holds(a) or not band.holds(b) for a, b in zip(after, before, strict=True)):
            return list(simplified)
    return shapes


def grid_of_points(grids: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Index of the grid holding each point: the lowest on a shared edge, else the nearest."""
    return containing_index_xy(grids, xy, nearest=True)


def fit_to_outline(grids: np.ndarray, outline: BaseGeometry, tolerance: float) -> np.ndarray:
    """Put grid vertices that lie within ``tolerance`` of the outline's edge exactly on it.

    Coordinates back from the metric frame miss the community's edge by float noise
    (1e-14°); the slivers that leaves look thin in lon/lat but measure m² in UTM (a straight
    lon/lat edge is curved there), so the import would refuse them.
    """
    boundary = outline.boundary

    def onto_edge(coordinates: np.ndarray) -> np.ndarray:
        points = shapely.points(coordinates)
        near = shapely.distance(points, boundary) < tolerance
        if not near.any():
            return coordinates
        along = shapely.line_locate_point(boundary, points[near])
        result = coordinates.copy()
        result[near] = shapely.get_coordinates(shapely.line_interpolate_point(boundary, along))
        return result

    return np.array([shapely.transform(grid, onto_edge) for grid in grids], dtype=object)


def polsby_popper(geometries: np.ndarray) -> np.ndarray:
    """Compactness 4πA/P² of each (metric) polygon: 1 for a circle, about 0.785 for a square."""
    area = shapely.area(geometries)
    perimeter = shapely.length(geometries)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(perimeter > 0, 4 * math.pi * area / perimeter**2, 0.0)


def shares(groups: np.ndarray, weights: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Each member's share of its group's total, by weight (a fraction).

    Households and grid workers are known per grid; a resident point carries its grid's
    count times its share of the grid's residents.
    """
    weights = np.asarray(weights, dtype=float)
    group_weight = np.bincount(groups, weights=weights, minlength=len(totals))[groups]
    total = np.asarray(totals, dtype=float)[groups]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(group_weight > 0, weights / group_weight * total, 0.0)


def polygon_or_multi(geometry: BaseGeometry) -> BaseGeometry:
    """Return ``geometry`` as stored in a grids layer: a MultiPolygon."""
    if isinstance(geometry, Polygon):
        return MultiPolygon([geometry])
    return geometry
