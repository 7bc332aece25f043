"""The numpy steps of the cell index (:mod:`gridsvc.common.cell_index`): edges, cells, spans.

Pure. No geometry test per cell: an edge cut into pieces no longer than a cell marks the
cells its padded pieces meet (boundary cells, a superset of those it touches); any other
cell lies wholly inside or wholly outside each polygon, so its centre decides, by the
crossings of the polygon's edges with the centre line of the cell's row (even-odd rule).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely


@dataclass(frozen=True)
class Edges:
    """Every ring edge of the polygons, ordered by polygon; ``start`` indexes them (CSR)."""

    ax: np.ndarray
    ay: np.ndarray
    bx: np.ndarray
    by: np.ndarray
    polygon: np.ndarray
    start: np.ndarray

    def of(self, polygons: np.ndarray) -> np.ndarray:
        """Indexes of the edges of ``polygons``."""
        return ranges(self.start[polygons], self.start[polygons + 1])


def ranges(first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Concatenate ``arange(first[k], last[k])`` for every k, vectorised."""
    count = last - first
    offsets = np.repeat(first - (np.cumsum(count) - count), count)
    return np.arange(count.sum(), dtype=np.int64) + offsets


@dataclass(frozen=True)
class Frame:
    """A raster at one level: origin, cell size and the pad that keeps lookups safe."""

    x0: float
    y0: float
    size: float
    pad: float
    columns: int


def polygon_edges(polygons: np.ndarray) -> Edges:
    """Return the edges of every ring of ``polygons`` (Polygon or MultiPolygon)."""
    parts, part_of = shapely.get_parts(polygons, return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    xy, vertex_ring = shapely.get_coordinates(rings, return_index=True)
    same = vertex_ring[1:] == vertex_ring[:-1]
    polygon = part_of[ring_of[vertex_ring[:-1][same]]].astype(np.int64)
    start = np.searchsorted(polygon, np.arange(len(polygons) + 1))
    a, b = xy[:-1][same], xy[1:][same]
    return Edges(a[:, 0], a[:, 1], b[:, 0], b[:, 1], polygon, start)


def touched_cells(edges: Edges, chosen: np.ndarray, frame: Frame) -> tuple[np.ndarray, ...]:
    """Rows, columns and edge of every cell the padded pieces of the ``chosen`` edges meet."""
    ax, ay = edges.ax[chosen], edges.ay[chosen]
    dx, dy = edges.bx[chosen] - ax, edges.by[chosen] - ay
    count = np.maximum(1, np.ceil(np.hypot(dx, dy) / frame.size)).astype(np.int64)
    piece = np.repeat(np.arange(len(chosen)), count)
    step = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    t0, t1 = step / count[piece], (step + 1) / count[piece]
    ax, ay, dx, dy = ax[piece], ay[piece], dx[piece], dy[piece]
    x_a, x_b, y_a, y_b = ax + t0 * dx, ax + t1 * dx, ay + t0 * dy, ay + t1 * dy
    low_col = _cell(np.minimum(x_a, x_b) - frame.pad, frame.x0, frame.size)
    high_col = _cell(np.maximum(x_a, x_b) + frame.pad, frame.x0, frame.size)
    low_row = _cell(np.minimum(y_a, y_b) - frame.pad, frame.y0, frame.size)
    high_row = _cell(np.maximum(y_a, y_b) + frame.pad, frame.y0, frame.size)
    rows, columns, pieces = [], [], []
    # A piece is no longer than a cell, so its padded box spans 3 cells each way at most
    # (more only if the pad outgrew a cell: coordinates far from 0 and cells near rounding).
    reach = int(max((high_row - low_row).max(initial=0), (high_col - low_col).max(initial=0)))
    for up in range(reach + 1):
        for right in range(reach + 1):
            keep = np.flatnonzero((low_row + up <= high_row) & (low_col + right <= high_col))
            rows.append(low_row[keep] + up)
            columns.append(low_col[keep] + right)
            pieces.append(keep)
    return np.concatenate(rows), np.concatenate(columns), chosen[piece[np.concatenate(pieces)]]


def distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (by sorting: numpy's hashing unique is slower on these)."""
    ordered = np.sort(values)
    keep = np.ones(len(ordered), dtype=bool)
    keep[1:] = ordered[1:] != ordered[:-1]
    return ordered[keep]


def _cell(value: np.ndarray, origin: float, size: float) -> np.ndarray:
    return np.floor((value - origin) / size).astype(np.int64)


def row_spans(
    edges: Edges, polygons: np.ndarray, frame: Frame, blocks: Blocks
) -> tuple[np.ndarray, ...]:
    """Spans of cell centres inside each polygon, row by row: row, first, last column, polygon.

    A vertex is below row ``j``'s centre line when its ``j`` is at least the vertex's
    rank; every ring then crosses each row an even number of times, whatever the rounding.
    """
    chosen = edges.of(polygons)
    ax, ay, bx, by = edges.ax[chosen], edges.ay[chosen], edges.bx[chosen], edges.by[chosen]
    rank_a = np.ceil((ay - frame.y0) / frame.size - 0.5).astype(np.int64)
    rank_b = np.ceil((by - frame.y0) / frame.size - 0.5).astype(np.int64)
    low, count = np.minimum(rank_a, rank_b), np.abs(rank_a - rank_b)
    edge = np.repeat(np.arange(len(chosen)), count)
    row = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count - low, count)
    keep = blocks.wants(edges.polygon[chosen[edge]], row)
    edge, row = edge[keep], row[keep]
    centre = frame.y0 + (row + 0.5) * frame.size
    x = ax[edge] + (centre - ay[edge]) * (bx[edge] - ax[edge]) / (by[edge] - ay[edge])
    polygon = edges.polygon[chosen[edge]]
    order = np.lexsort((x, row, polygon))
    x, row, polygon = x[order], row[order], polygon[order]
    if len(x) % 2 or (polygon[::2] != polygon[1::2]).any() or (row[::2] != row[1::2]).any():
        raise ValueError("a ring crosses a row an odd number of times (invalid polygon)")
    first = np.ceil((x[::2] - frame.x0) / frame.size - 0.5).astype(np.int64)
    last = np.floor((x[1::2] - frame.x0) / frame.size - 0.5).astype(np.int64)
    first, last = np.maximum(first, 0), np.minimum(last, frame.columns - 1)
    keep = first <= last
    return row[::2][keep], first[keep], last[keep], polygon[::2][keep]


def holding_centres(
    spans: tuple[np.ndarray, ...], columns: int, rows: np.ndarray, cols: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (cell, polygon) for every span holding a cell's centre (all of them, overlaps too)."""
    span_row, first, last, polygon = spans
    start = span_row * columns + first
    order = np.argsort(start, kind="stable")
    start, end, polygon = start[order], (span_row * columns + last)[order], polygon[order]
    # Farthest end among spans up to here; rows never mix, as a row's keys exceed the last.
    reach = np.maximum.accumulate(end) if len(end) else end
    key = rows * columns + cols
    position = np.searchsorted(start, key, side="right") - 1
    active = np.arange(len(key))
    cells, owners = [], []
    while len(active):
        here = position[active]
        keep = here >= 0
        active, here = active[keep], here[keep]
        keep = reach[here] >= key[active]
        active, here = active[keep], here[keep]
        hit = end[here] >= key[active]
        cells.append(active[hit])
        owners.append(polygon[here[hit]])
        position[active] = here - 1
    if not cells:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(cells), np.concatenate(owners)


@dataclass(frozen=True)
class Blocks:
    """Coarse cells cut into ``side`` × ``side`` cells: their coarse rows, columns and ranks."""

    rows: np.ndarray
    cols: np.ndarray
    side: int
    rank: np.ndarray  # coarse (rows, columns) -> rank of the block there, -1 for none
    # Sorted polygon * coarse rows + coarse row of each block's candidates; None: all.
    polygon_rows: np.ndarray | None = None

    def cells(self) -> tuple[np.ndarray, np.ndarray]:
        """Row and column (at this level) of every cell, block by block, row-major inside."""
        per = self.side * self.side
        cell = np.arange(len(self.rows) * per, dtype=np.int64)
        block, local = cell // per, cell % per
        rows = self.rows[block] * self.side + local // self.side
        return rows, self.cols[block] * self.side + local % self.side

    def position(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Place of each (row, column) among :meth:`cells`, -1 outside every block."""
        coarse_row, coarse_col = rows // self.side, cols // self.side
        height, width = self.rank.shape
        valid = (coarse_row >= 0) & (coarse_row < height) & (coarse_col >= 0)
        valid &= coarse_col < width
        rank = np.full(len(rows), -1, dtype=np.int64)
        rank[valid] = self.rank[coarse_row[valid], coarse_col[valid]]
        local = (rows % self.side) * self.side + cols % self.side
        return np.where(rank >= 0, rank * self.side * self.side + local, -1)

    def wants(self, polygon: np.ndarray, row: np.ndarray) -> np.ndarray:
        """Whether ``polygon`` is a candidate of a block in the coarse row of each ``row``."""
        height = self.rank.shape[0]
        coarse_row = row // self.side
        inside = (row >= 0) & (coarse_row < height)
        if self.polygon_rows is None:
            return inside
        key = polygon * height + np.clip(coarse_row, 0, height - 1)
        at = np.minimum(np.searchsorted(self.polygon_rows, key), len(self.polygon_rows) - 1)
        return inside & (self.polygon_rows[at] == key)


@dataclass(frozen=True)
class LevelCells:
    """Each cell's code (owner, -1 outside, -2 - k for candidate list k) and the lists (CSR)."""

    code: np.ndarray
    list_start: np.ndarray
    candidates: np.ndarray


def classify(
    edges: Edges,
    frame: Frame,
    blocks: Blocks,
    polygons: np.ndarray,
    touched: tuple[np.ndarray, ...],
) -> LevelCells:
    """Classify every cell of ``blocks``: owner, outside, or boundary with its candidates.

    ``polygons`` must hold every polygon that meets a block; ``touched`` is
    :func:`touched_cells` of their edges in ``frame``.
    """
    rows, cols = blocks.cells()
    place = blocks.position(touched[0], touched[1])
    keep = place >= 0
    touch_cell, touch_polygon = place[keep], edges.polygon[touched[2][keep]]
    spans = row_spans(edges, polygons, frame, blocks)
    hold_cell, hold_polygon = holding_centres(spans, frame.columns, rows, cols)
    boundary = np.zeros(len(rows), dtype=bool)
    boundary[touch_cell] = True
    code = np.full(len(rows), -1, dtype=np.int64)
    inner = ~boundary[hold_cell]
    order = np.lexsort((hold_polygon[inner], hold_cell[inner]))
    cell, owner = hold_cell[inner][order], hold_polygon[inner][order]
    first = np.ones(len(cell), dtype=bool)
    first[1:] = cell[1:] != cell[:-1]
    code[cell[first]] = owner[first]
    count = np.int64(edges.start.size)
    pairs = distinct(
        np.concatenate([touch_cell, hold_cell[~inner]]) * count
        + np.concatenate([touch_polygon, hold_polygon[~inner]])
    )
    pair_cell, candidates = pairs // count, pairs % count
    list_start = np.flatnonzero(np.diff(pair_cell, prepend=-1))
    listed = pair_cell[list_start]
    code[listed] = -2 - np.arange(len(listed))
    list_start = np.append(list_start, len(pairs)).astype(np.int64)
    return LevelCells(code, list_start, candidates.astype(np.int32))
