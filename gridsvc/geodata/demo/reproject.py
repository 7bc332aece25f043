"""Reproject a tessellation from UTM to WGS-84 so that neighbours still share every vertex.

Reprojecting polygons one by one opens micro-gaps wherever a vertex of one grid lies on
an edge of its neighbour (a T-junction): the edge bends, the vertex does not. Here the
grids' boundaries are noded once as one set of lines, each line cut to short edges once,
and the faces rebuilt from those lines (``polygonize``): two neighbours are then made of
the very same vertices, and a vertex moves the same way in both. A face left by a
floating-point gap or overlap in UTM goes to the grid holding it (lowest index first),
or to the nearest one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import shapely
from shapely.geometry import MultiPolygon

from gridsvc.common.points import containing_index
from gridsvc.geodata.demo.geography import as_multipolygon


def _union(pieces: np.ndarray) -> shapely.Geometry:
    """Union pieces that share edges exactly (the fast coverage union), else by overlay."""
    if len(pieces) == 1:
        return pieces[0]
    try:
        return shapely.coverage_union_all(pieces)
    except shapely.errors.GEOSException:  # a node one piece has and its neighbour lacks
        return shapely.union_all(pieces)


def dissolve(pieces: np.ndarray, owner: np.ndarray, count: int) -> np.ndarray:
    """Union the pieces of each owner (a valid coverage), as ``count`` MultiPolygons.

    An owner with no piece gets an empty MultiPolygon.
    """
    result = np.array([MultiPolygon()] * count, dtype=object)
    order = np.argsort(owner, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(owner[order]) != 0])
    for group in np.split(order, starts[1:]):
        result[owner[group[0]]] = as_multipolygon(_union(pieces[group]))
    return result


def reproject_tessellation(
    geometries: np.ndarray,
    transform: Callable[[np.ndarray], np.ndarray],
    max_edge: float,
) -> np.ndarray:
    """Reproject polygons that tessellate a region, keeping shared edges shared.

    Parameters
    ----------
    geometries
        The polygons, in the source frame.
    transform
        Maps an (n, 2) array of source coordinates to target coordinates.
    max_edge
        Longest edge, in source units, before reprojection (a straight edge bends).

    Returns
    -------
    numpy.ndarray
        One MultiPolygon per input, in the target frame, forming a gap-free coverage.
    """
    geometries = np.asarray(geometries, dtype=object)
    # Noded on a fine grid (a millionth of an edge): vertices a floating-point hair apart
    # become one, and no face is thinner than the grid.
    noded = shapely.union_all(shapely.boundary(geometries), grid_size=max_edge * 1e-6)
    lines = shapely.get_parts(noded)
    faces = shapely.get_parts(shapely.polygonize(shapely.segmentize(lines, max_edge)))
    owner = containing_index(geometries, shapely.point_on_surface(faces), nearest=True)
    return dissolve(shapely.transform(faces, transform), owner, len(geometries))
