"""A cell index over polygons: which polygon holds each point, by array lookup where it can.

Pure. A coarse raster covers the polygons' extent. A cell that no polygon edge meets lies
wholly inside one polygon (or outside all) and answers by lookup. A cell an edge meets is
cut into 2^level × 2^level finer cells, the level set by the smallest of its candidate
polygons, and those are classified the same way (:mod:`gridsvc.common.cell_raster`). Only
a point in a fine cell an edge meets is tested exactly, against that cell's short list of
candidates, lowest index first: the rule of :func:`gridsvc.common.points.containing_index`
(a point on an edge or vertex belongs to every polygon it touches; the lowest index wins).

Cells are closed boxes padded by far more than rounding, so a point on a cell's side is
answered by either cell alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from gridsvc.common.cell_raster import (
    Blocks,
    Edges,
    Frame,
    LevelCells,
    classify,
    distinct,
    polygon_edges,
    ranges,
    touched_cells,
)

# Coarse cells per polygon (bounded below and above), fine cells across the smallest
# candidate polygon of a boundary cell, and the deepest level (2^7 = 128 cells across).
COARSE_CELLS_PER_POLYGON = 4
COARSE_CELLS = (4_096, 1_048_576)
CELLS_ACROSS_POLYGON = 8
MAX_LEVEL = 7
_POLYGONAL = (-1, 3, 6)  # shapely type ids: missing, Polygon, MultiPolygon


@dataclass
class CellIndex:
    """Which of ``polygons`` holds each point; build once with :meth:`build`, ask :meth:`locate`.

    ``coarse`` holds, per coarse cell, the owner, -1 (outside) or -2 - b for block b;
    block b's cells (``2^level[b]`` each way, row-major) start at ``offset[b]`` in ``fine``,
    coded the same way with -2 - k for candidate list k (``candidates[start[k]:start[k+1]]``,
    lowest index first).
    """

    polygons: np.ndarray
    bounds: tuple[float, float, float, float]
    size: float
    coarse: np.ndarray
    level: np.ndarray
    offset: np.ndarray
    fine: np.ndarray
    start: np.ndarray
    candidates: np.ndarray

    @classmethod
    def build(cls, polygons: np.ndarray) -> CellIndex:
        """Index ``polygons`` (shapely Polygons or MultiPolygons; None or empty hold nothing)."""
        polygons = np.asarray(polygons, dtype=object)
        if not np.isin(shapely.get_type_id(polygons), _POLYGONAL).all():
            raise ValueError("a cell index takes Polygons and MultiPolygons only")
        shapely.prepare(polygons)
        edges = polygon_edges(polygons)
        if len(edges.ax) == 0:
            empty = np.zeros(0, dtype=np.int64)
            nothing = np.full((1, 1), -1, dtype=np.int32)
            return cls(
                polygons,
                (0.0, 0.0, -1.0, -1.0),
                1.0,
                nothing,
                empty,
                empty,
                empty,
                np.zeros(1, np.int64),
                empty,
            )
        bounds = tuple(float(v) for v in shapely.total_bounds(polygons))
        frame, shape = _coarse_frame(bounds, len(polygons))
        rank = np.arange(shape[0] * shape[1], dtype=np.int64).reshape(shape)
        every = Blocks(*(a.ravel() for a in np.indices(shape)), 1, rank)
        touched = touched_cells(edges, np.arange(len(edges.ax)), frame)
        coarse = classify(edges, frame, every, np.arange(len(polygons)), touched)
        levels = _block_levels(polygons, coarse, frame.size)
        return cls(
            polygons, bounds, frame.size, *_refine(edges, frame, every, coarse, levels, touched)
        )

    def locate(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Return the index of the polygon holding each point (x, y), lowest first; -1 for none."""
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        result = np.full(len(x), -1, dtype=np.int64)
        xmin, ymin, xmax, ymax = self.bounds
        at = np.flatnonzero((x >= xmin) & (x <= xmax) & (y >= ymin) & (y <= ymax))
        along, up = (x[at] - xmin) / self.size, (y[at] - ymin) / self.size
        column = np.clip(np.floor(along).astype(np.int64), 0, self.coarse.shape[1] - 1)
        row = np.clip(np.floor(up).astype(np.int64), 0, self.coarse.shape[0] - 1)
        code = self.coarse[row, column].astype(np.int64)
        result[at] = np.maximum(code, -1)
        cut = np.flatnonzero(code <= -2)
        block = -2 - code[cut]
        side = np.left_shift(1, self.level[block].astype(np.int64))
        inner_column = np.clip(np.floor((along[cut] - column[cut]) * side), 0, side - 1)
        inner_row = np.clip(np.floor((up[cut] - row[cut]) * side), 0, side - 1)
        place = self.offset[block] + inner_row.astype(np.int64) * side + inner_column
        code = self.fine[place.astype(np.int64)].astype(np.int64)
        at = at[cut]
        result[at] = np.maximum(code, -1)
        tested = np.flatnonzero(code <= -2)
        at = at[tested]
        result[at] = self._first_holding(-2 - code[tested], x[at], y[at])
        return result

    def _first_holding(self, lists: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Test points against their cells' candidates in turn, lowest index first."""
        shapely.prepare(self.polygons)  # again after unpickling (a Dask worker)
        found = np.full(len(lists), -1, dtype=np.int64)
        first = self.start[lists]
        count = self.start[lists + 1] - first
        waiting = np.arange(len(lists))
        turn = 0
        while len(waiting):
            waiting = waiting[count[waiting] > turn]
            candidate = self.candidates[first[waiting] + turn].astype(np.int64)
            hit = shapely.intersects_xy(self.polygons[candidate], x[waiting], y[waiting])
            found[waiting[hit]] = candidate[hit]
            waiting = waiting[~hit]
            turn += 1
        return found

    def figures(self) -> dict[str, int]:
        """Sizes, for benchmarks: coarse cells, blocks, fine cells, candidate lists."""
        return {
            "coarse_cells": int(self.coarse.size),
            "blocks": len(self.level),
            "fine_cells": len(self.fine),
            "candidate_lists": len(self.start) - 1,
            "deepest_level": int(self.level.max()) if len(self.level) else 0,
        }


def _coarse_frame(bounds: tuple[float, ...], polygons: int) -> tuple[Frame, tuple[int, int]]:
    """Square coarse cells, about four per polygon, over the extent."""
    xmin, ymin, xmax, ymax = bounds
    width, height = xmax - xmin, ymax - ymin
    low, high = COARSE_CELLS
    cells = float(np.clip(COARSE_CELLS_PER_POLYGON * polygons, low, high))
    longest = max(width, height)
    size = max(np.sqrt(width * height / cells), longest / np.sqrt(high), longest * 1e-9, 1e-12)
    shape = (int(height // size) + 1, int(width // size) + 1)
    # Far above rounding (about 1e6 units in the last place), far below a cell.
    pad = 1e-9 * (max(abs(v) for v in bounds) + size)
    return Frame(xmin, ymin, size, pad, shape[1]), shape


def _block_levels(polygons: np.ndarray, coarse: LevelCells, size: float) -> np.ndarray:
    """Level of each boundary coarse cell: enough fine cells across its smallest candidate."""
    side = np.sqrt(shapely.area(polygons))
    with np.errstate(divide="ignore"):
        wanted = np.log2(size * CELLS_ACROSS_POLYGON / side)
    level = np.clip(np.ceil(np.nan_to_num(wanted, nan=MAX_LEVEL)), 0, MAX_LEVEL).astype(np.int64)
    return np.maximum.reduceat(level[coarse.candidates], coarse.list_start[:-1])


def _refine(
    edges: Edges,
    frame: Frame,
    every: Blocks,
    coarse: LevelCells,
    levels: np.ndarray,
    touched: tuple[np.ndarray, ...],
) -> tuple[np.ndarray, ...]:
    """Classify the fine cells of every boundary coarse cell, level by level.

    Returns the coarse codes, then per block its level and offset, the fine codes, the
    candidate lists' starts and the candidates (the fields of :class:`CellIndex`).
    """
    listed = np.flatnonzero(coarse.code <= -2)  # coarse cells in list order
    code = coarse.code.copy()
    edge_cell = every.position(touched[0], touched[1])
    block_levels, offsets, fine, starts, candidates = [], [], [], [np.zeros(1, np.int64)], []
    done_cells = done_lists = done_blocks = done_candidates = 0
    for level in np.unique(levels):
        chosen = np.flatnonzero(levels == level)
        cells, side = listed[chosen], 1 << int(level)
        level_cells = _level_cells(
            edges, frame, every, coarse, chosen, cells, side, touched, edge_cell
        )
        code[cells] = -2 - (done_blocks + np.arange(len(cells)))
        block_levels.append(np.full(len(cells), level, dtype=np.int8))
        offsets.append(done_cells + np.arange(len(cells), dtype=np.int64) * side * side)
        lists = level_cells.code <= -2
        fine.append(
            np.where(lists, level_cells.code - done_lists, level_cells.code).astype(np.int32)
        )
        starts.append(level_cells.list_start[1:] + done_candidates)
        candidates.append(level_cells.candidates)
        done_candidates += len(level_cells.candidates)
        done_cells += len(level_cells.code)
        done_lists += len(level_cells.list_start) - 1
        done_blocks += len(cells)
    return (
        code.reshape(every.rank.shape).astype(np.int32),
        np.concatenate(block_levels or [np.zeros(0, np.int8)]),
        np.concatenate(offsets or [np.zeros(0, np.int64)]),
        np.concatenate(fine or [np.zeros(0, np.int32)]),
        np.concatenate(starts),
        np.concatenate(candidates or [np.zeros(0, np.int32)]),
    )


def _level_cells(
    edges: Edges,
    frame: Frame,
    every: Blocks,
    coarse: LevelCells,
    chosen: np.ndarray,
    cells: np.ndarray,
    side: int,
    touched: tuple[np.ndarray, ...],
    edge_cell: np.ndarray,
) -> LevelCells:
    """Classify the ``side`` × ``side`` cells of coarse ``cells`` (candidate lists ``chosen``).

    Only the candidates of those cells can meet them, and only the edges that marked them.
    """
    rank = np.full(every.rank.shape, -1, dtype=np.int64)
    rank.flat[cells] = np.arange(len(cells))
    lists = ranges(coarse.list_start[chosen], coarse.list_start[chosen + 1])
    candidates = coarse.candidates[lists].astype(np.int64)
    # A polygon's spans are wanted only on the rows of the blocks it is a candidate of.
    count = coarse.list_start[chosen + 1] - coarse.list_start[chosen]
    polygon_rows = distinct(candidates * every.rank.shape[0] + np.repeat(every.rows[cells], count))
    blocks = Blocks(every.rows[cells], every.cols[cells], side, rank, polygon_rows)
    fine_frame = Frame(frame.x0, frame.y0, frame.size / side, frame.pad, frame.columns * side)
    meets = (edge_cell >= 0) & (rank.ravel()[edge_cell] >= 0)
    chosen_edges = distinct(touched[2][meets])
    return classify(
        edges,
        fine_frame,
        blocks,
        distinct(candidates),
        touched_cells(edges, chosen_edges, fine_frame),
    )
