"""Which polygon holds each point, many at once: the one rule of gridsvc, vectorised.

Pure. A point on a shared edge or vertex goes to the lowest index (the lowest code, when
the polygons are in code order); a point in none gets -1, or, with ``nearest``, the
nearest polygon (for points a reprojection left in a sliver between neighbours).
"""

from __future__ import annotations

import numpy as np
import shapely


def containing_index(polygons: np.ndarray, points: np.ndarray, nearest: bool = False) -> np.ndarray:
    """Return the index of the polygon holding each of ``points`` (shapely), lowest first."""
    result = np.full(len(points), -1, dtype=np.int64)
    if len(points) == 0 or len(polygons) == 0:
        return result
    tree = shapely.STRtree(polygons)
    point_index, polygon_index = tree.query(points, predicate="intersects")
    order = np.lexsort((polygon_index, point_index))
    point_index, polygon_index = point_index[order], polygon_index[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = point_index[1:] != point_index[:-1]
    result[point_index[first]] = polygon_index[first]
    strays = np.flatnonzero(result < 0)
    if nearest and len(strays):
        result[strays] = tree.query_nearest(points[strays], all_matches=False)[1]
    return result
