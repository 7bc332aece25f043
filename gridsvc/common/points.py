"""Which polygon holds each point, many at once: the one rule of gridsvc, vectorised.

Pure. A point on a shared edge or vertex goes to the lowest index (the lowest code, when
the polygons are in code order); a point in none gets -1, or, with ``nearest``, the
nearest polygon (for points a reprojection left in a sliver between neighbours).

Many points are looked up in a cell index (:class:`gridsvc.common.cell_index.CellIndex`,
built here once per call, or built by the caller and passed in); few points, or polygons
it does not take, go through a shapely STRtree. Both give the same answers.
"""

from __future__ import annotations

import numpy as np
import shapely

from gridsvc.common.cell_index import CellIndex
from gridsvc.common.threads import in_threads

# Building the cell index costs what the STRtree spends on about 5-70 points per polygon
# (measured on demo cities of 400-6,702 grids: 5, 30, 45-67); below, the
# tree is cheaper or as fast.
INDEX_POINTS_PER_POLYGON = 50


def containing_index(polygons: np.ndarray, points: np.ndarray, nearest: bool = False) -> np.ndarray:
    """Return the index of the polygon holding each of ``points`` (shapely), lowest first."""
    return containing_index_xy(polygons, point_xy(points), nearest)


def point_xy(points: np.ndarray) -> np.ndarray:
    """Coordinates of shapely points, shape (n, 2); NaN for a missing or empty point."""
    points = np.asarray(points, dtype=object)
    xy = np.full((len(points), 2), np.nan)
    placed = ~(shapely.is_missing(points) | shapely.is_empty(points))
    xy[placed] = shapely.get_coordinates(points[placed])
    return xy


def containing_index_xy(
    polygons: np.ndarray,
    xy: np.ndarray,
    nearest: bool = False,
    index: CellIndex | None = None,
) -> np.ndarray:
    """Return the index of the polygon holding each point of ``xy`` (shape (n, 2)), lowest first.

    ``index`` is a cell index of the same ``polygons`` when the caller keeps one.
    """
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    result = np.full(len(xy), -1, dtype=np.int64)
    if len(xy) == 0 or len(polygons) == 0:
        return result
    polygons = np.asarray(polygons, dtype=object)
    if index is None and len(xy) >= INDEX_POINTS_PER_POLYGON * len(polygons):
        try:
            index = CellIndex.build(polygons)
        except ValueError:  # not polygons, or a ring the index cannot read: the tree
            index = None
    if index is not None:
        result = index.locate(xy[:, 0], xy[:, 1])
    else:
        result = _tree_index(shapely.STRtree(polygons), shapely.points(xy), result)
    strays = np.flatnonzero(result < 0)
    if nearest and len(strays):
        tree = shapely.STRtree(polygons)
        found = tree.query_nearest(shapely.points(xy[strays]), all_matches=False)
        result[strays[found[0]]] = found[1]
    return result


def _tree_index(tree: shapely.STRtree, points: np.ndarray, result: np.ndarray) -> np.ndarray:
    def lowest(rows: np.ndarray) -> np.ndarray:
        point_index, polygon_index = tree.query(points[rows], predicate="intersects")
        order = np.lexsort((polygon_index, point_index))
        point_index, polygon_index = point_index[order], polygon_index[order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = point_index[1:] != point_index[:-1]
        found = result[rows]
        found[point_index[first]] = polygon_index[first]
        return found

    return in_threads(lowest, len(points))  # a city's residents: 0.7 s on one core
