"""Gaps: the part of each grid that no service area covers, and the area that one does.

Pure shapely in a metric CRS; what the service areas are made of (facility points, reached
pieces of the walking network) comes from :mod:`gridsvc.coverage.analysis`.
"""

from __future__ import annotations

import numpy as np
import shapely

from gridsvc.common.threads import in_threads


def cut(
    grid_geometries: np.ndarray, parts: np.ndarray, width: float, quad_segs: int = 8
) -> tuple[np.ndarray, np.ndarray]:
    """Cut out of each grid what lies within ``width`` of the parts.

    Returns
    -------
    gap, covered_area
        The gap geometry of every grid (empty when covered whole) and the covered area
        in m².
    """
    gap = np.array(grid_geometries, dtype=object)
    covered = np.zeros(len(gap))
    if len(parts) == 0 or len(gap) == 0:
        return gap, covered
    grid_index, part_index = shapely.STRtree(parts).query(gap, predicate="dwithin", distance=width)
    if len(grid_index) == 0:
        return gap, covered
    # Each part is buffered once; a grid then unions the few buffers around it, which is
    # cheaper than buffering every grid's parts anew (parts near borders serve two grids).
    shapes = np.empty(len(parts), dtype=object)
    used = np.unique(part_index)
    shapes[used] = in_threads(
        lambda chunk: shapely.buffer(parts[used[chunk]], width, quad_segs=quad_segs), len(used)
    )
    area = shapely.area(gap)
    # A grid inside one buffer (a circle around a facility, mostly) is covered whole:
    # no overlay at all.
    _, whole = shapely.STRtree(gap).query(shapes[used], predicate="contains_properly")
    whole = np.unique(whole)
    gap[whole] = shapely.Polygon()
    covered[whole] = area[whole]
    rest = ~np.isin(grid_index, whole)
    grid_index, part_index = grid_index[rest], part_index[rest]
    order = np.lexsort((part_index, grid_index))
    grid_index, part_index = grid_index[order], part_index[order]
    touched, starts = np.unique(grid_index, return_index=True)
    ends = np.append(starts[1:], len(grid_index))
    grids = gap[touched]
    pieces = _clip_large(shapes[part_index], gap[grid_index])

    def cut(chunk: np.ndarray) -> np.ndarray:
        around = [shapely.union_all(pieces[starts[i] : ends[i]]) for i in chunk]
        return shapely.difference(grids[chunk], np.array(around, dtype=object))

    gap[touched] = in_threads(cut, len(touched))
    covered[touched] = np.maximum(area[touched] - shapely.area(gap[touched]), 0.0)
    return gap, covered


def _clip_large(shapes: np.ndarray, grids: np.ndarray) -> np.ndarray:
    """Cut each shape much larger than its grid to the grid, so that unions stay grid-sized.

    Large circles unioned whole cost far more than their pieces inside the grid; small
    buffers of network pieces are cheaper left whole than cut first.
    """
    result = shapes.copy()
    large = _box_area(shapes) > 4 * _box_area(grids)
    if large.any():
        result[large] = shapely.intersection(shapes[large], grids[large])
    return result


def _box_area(geometries: np.ndarray) -> np.ndarray:
    bounds = shapely.bounds(geometries)
    return (bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1])
