"""What-if arithmetic: the circle as it is, kept per city, and a change computed where it reaches.

Pure: numpy, scipy and shapely in the metric CRS. The answer is the one of
:func:`gridsvc.coverage.analysis.compute_coverage` run twice, on the facilities as they are and
with the change applied, and compared grid by grid (the covered area measured in the grids the
change can reach, as the what-if always has). It is found without running the city twice:

- the circle as it is (:class:`Baseline`: its facilities snapped onto the network, node and
  resident distances, the grid table, the covered area of every grid measured so far) is kept in
  ``inputs.memo`` and shared by every what-if on the same data;
- only residents within the reach of a changed place are measured again. A walk is never
  shorter than the straight line divided by the network's stretch (the most an edge's drawn
  length exceeds its length in metres; 1 when lengths are measured on the lines), so a resident
  farther than ``stretch × threshold`` from every changed place keeps its distance;
- a grid's covered area depends only on the reached pieces near it, taken in the same order
  whichever grids are measured with it, so each grid's area before the change is measured once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from gridsvc.coverage import analysis, gaps, reach
from gridsvc.coverage import network as walking
from gridsvc.coverage.network import Snapped

#: Keys of ``inputs.memo`` that depend on the grids, residents and network only: they stay valid
#: when only the facilities change (see :meth:`CityInputs.with_facilities`).
FACILITY_FREE_MEMOS = ("grid_tree", "resident_tree", "network_stretch", "grid_edges_by_grid")
# The columns of the grid table a what-if answers with (see analysis.change).
_COLUMNS = ("code", "district_code", "residents", "covered_residents", "area_m2")
# Slack on the reach of a change, for rounding in sums of lengths (relative, then metres).
_RELATIVE_SLACK, _SLACK_M = 1e-6, 1e-3


@dataclass
class Baseline:
    """The circle as it is in one mode: what every what-if on the same data starts from."""

    limit: float
    rows: np.ndarray  # the circle's facility rows in the inputs
    xy: np.ndarray
    sources: Snapped | None
    nodes: np.ndarray | None
    distance: np.ndarray
    table: dict[str, np.ndarray]  # the grid table's columns (see _COLUMNS)
    covered_area: np.ndarray  # per grid; NaN until measured

    @property
    def residents(self) -> int:
        """Residents in the grids."""
        return int(self.table["residents"].sum())

    @property
    def covered(self) -> int:
        """Residents the circle covers."""
        return int(self.table["covered_residents"].sum())


@dataclass
class After:
    """The circle's facilities after a change, and the places that changed."""

    xy: np.ndarray
    rows: np.ndarray  # each facility's row in the inputs, -1 for an added one
    changed: np.ndarray


def _memo(inputs: analysis.CityInputs, key: tuple, make: Callable[[], Any]) -> Any:
    if key not in inputs.memo:
        inputs.memo[key] = make()
    return inputs.memo[key]


def facility_snaps(inputs: analysis.CityInputs) -> Snapped:
    """Every facility snapped onto the walking network (computed once per facilities)."""
    return _memo(
        inputs, ("facility_snaps",), lambda: walking.snap(inputs.network, inputs.facility_xy)
    )


def facility_positions(inputs: analysis.CityInputs) -> dict[int, int]:
    """Return the row of every facility by id (computed once per facilities)."""
    return _memo(
        inputs,
        ("facility_positions",),
        lambda: {int(i): row for row, i in enumerate(inputs.facility_ids)},
    )


def grid_tree(inputs: analysis.CityInputs) -> shapely.STRtree:
    """Return an STRtree over the grids (computed once per city)."""
    return _memo(
        inputs, ("grid_tree",), lambda: shapely.STRtree(inputs.grids["geometry"].to_numpy())
    )


def stretch(inputs: analysis.CityInputs) -> float:
    """Return the most an edge's drawn length exceeds its length in metres (at least 1)."""

    def measure() -> float:
        drawn, length = shapely.length(inputs.network.lines), inputs.network.length
        if np.any((length <= 0) & (drawn > 0)):
            return np.inf
        ratio = np.divide(drawn, length, out=np.ones(len(length)), where=length > 0)
        return float(max(1.0, ratio.max(initial=1.0)))

    return _memo(inputs, ("network_stretch",), measure)


def baseline(
    inputs: analysis.CityInputs, key: str, types: tuple[str, ...], mode: str, limit: float
) -> Baseline:
    """Return the circle (``key``: its types and threshold) as it is, computed once per data."""

    def make() -> Baseline:
        xy = inputs.facility_xy[inputs.facilities_of(types)]
        sources = nodes = None
        if mode == "network" and analysis.has_network(inputs) and len(xy):
            sources = facility_snaps(inputs).take(inputs.facilities_of(types))
            nodes = walking.node_distances(inputs.network, sources, limit)
        distance = analysis.resident_distances(inputs, xy, mode, limit)
        table = analysis.grid_table(inputs, distance <= limit)
        # Plain arrays: a what-if takes a few rows, which a DataFrame makes costly.
        columns = {name: table[name].to_numpy() for name in _COLUMNS}
        covered_area = np.full(len(table), np.nan)
        return Baseline(
            limit, inputs.facilities_of(types), xy, sources, nodes, distance, columns, covered_area
        )

    return _memo(inputs, ("what_if_baseline", key, mode), make)


def after_sources(inputs: analysis.CityInputs, after: After) -> Snapped:
    """Snap the facilities after the change: kept ones as they were, the others anew."""
    rows = np.maximum(after.rows, 0)
    kept = (after.rows >= 0) & np.all(after.xy == inputs.facility_xy[rows], axis=1)
    snapped = facility_snaps(inputs).take(rows)
    if (~kept).any():
        fresh = walking.snap(inputs.network, after.xy[~kept])
        for name in ("edge", "fraction", "offset"):
            getattr(snapped, name)[~kept] = getattr(fresh, name)
    return snapped


def changed_residents(
    inputs: analysis.CityInputs, changed: np.ndarray, radius: float
) -> np.ndarray:
    """Return the rows of the residents within ``radius`` of a changed place (all if inf)."""
    if not np.isfinite(radius):
        return np.arange(len(inputs.resident_xy))
    if not len(changed) or not len(inputs.resident_xy):
        return np.zeros(0, dtype=np.int64)
    tree = _memo(inputs, ("resident_tree",), lambda: cKDTree(inputs.resident_xy))
    lists = tree.query_ball_point(changed, radius)
    return np.unique(np.concatenate([np.asarray(x, dtype=np.int64) for x in lists]))


def resident_distances_after(
    inputs: analysis.CityInputs,
    after: After,
    sources: Snapped | None,
    nodes: np.ndarray | None,
    residents: np.ndarray,
    mode: str,
    limit: float,
) -> np.ndarray:
    """:func:`analysis.resident_distances` of the facilities after, for ``residents`` only."""
    if len(after.xy) == 0 or len(residents) == 0:
        return np.full(len(residents), np.inf)
    if mode == "euclidean":
        tree = cKDTree(after.xy)
        return tree.query(inputs.resident_xy[residents], distance_upper_bound=limit)[0]
    if sources is None or nodes is None:
        return np.full(len(residents), np.inf)
    points = inputs.resident_snaps.take(residents)
    distance = walking.point_distances(inputs.network, nodes, points, sources)
    return np.where(distance <= limit, distance, np.inf)


def _lines_near(
    inputs: analysis.CityInputs,
    nodes: np.ndarray,
    sources: Snapped,
    limit: float,
    near: np.ndarray,
) -> np.ndarray:
    """:func:`reach.reach_lines` of the edges meeting a box of ``near``, reading their ends.

    A piece of an edge depends on the distances at its two ends and on the sources on it,
    so the distances of every other node are left out before the pieces are found.
    """
    network = inputs.network
    edges = np.unique(network.tree.query(near)[1])
    ends = np.zeros(network.node_count, dtype=bool)
    ends[network.source[edges]] = True
    ends[network.target[edges]] = True
    return reach.reach_lines(network, np.where(ends, nodes, np.inf), sources, limit, edges)


def covered_areas(
    inputs: analysis.CityInputs,
    grids: np.ndarray,
    xy: np.ndarray,
    walk: tuple[Snapped | None, np.ndarray | None],
    mode: str,
    limits: tuple[float, float],
) -> np.ndarray:
    """Covered area on the ground of grid rows ``grids`` by ``xy`` (``walk``: snapped, distances).

    ``limits`` are the threshold and the network service areas' buffer width.
    """
    limit, buffer_m = limits
    geometries = inputs.grids["geometry"].to_numpy()[grids]
    width = limit if mode == "euclidean" else buffer_m
    if mode == "euclidean":
        parts = shapely.points(np.asarray(xy).reshape(-1, 2))
    elif not analysis.has_network(inputs) or len(xy) == 0 or walk[0] is None:
        parts = np.zeros(0, dtype=object)
    else:
        # Each grid's own box grown, not one box around them all: a move's grids lie in two
        # places, and the edges between them would be cut into pieces for nothing.
        reach_m = limit + buffer_m
        grown = shapely.bounds(geometries) + np.array([-reach_m, -reach_m, reach_m, reach_m])
        near = shapely.box(*grown.T)
        parts = _lines_near(inputs, walk[1], walk[0], limit, near)
    covered = gaps.cut(geometries, parts, width, analysis.circle_quad_segs(mode))[1]
    return inputs.on_the_ground(covered, grids)


def _same_pieces(
    inputs: analysis.CityInputs,
    base: Baseline,
    after: After,
    walk: tuple[Snapped | None, np.ndarray | None],
    grids: np.ndarray,
    width: float,
) -> np.ndarray:
    """Mask of ``grids`` whose reached pieces within ``width`` the change leaves as they were.

    A piece of an edge depends on the distances at its ends and on the sources on the edge;
    an edge whose ends keep their distances and on which no source changed keeps its pieces,
    in the same order. A grid near none but such edges keeps its covered area.
    """
    sources, nodes = walk
    if base.nodes is None or nodes is None or not len(grids):
        return np.zeros(len(grids), dtype=bool)
    network = inputs.network
    moved = base.nodes != nodes
    edge_changed = moved[network.source] | moved[network.target]
    rows = np.maximum(after.rows, 0)
    kept = (after.rows >= 0) & np.all(after.xy == inputs.facility_xy[rows], axis=1)
    edge_changed[sources.edge[~kept]] = True
    edge_changed[base.sources.edge[~np.isin(base.rows, after.rows[kept])]] = True
    grid_index, edge_index = grid_edges(inputs, width)
    low = np.searchsorted(grid_index, grids, side="left")
    high = np.searchsorted(grid_index, grids, side="right")
    owner = np.repeat(np.arange(len(grids)), high - low)
    position = np.arange(len(owner)) - np.repeat(np.cumsum(high - low) - (high - low), high - low)
    touched = np.zeros(len(grids), dtype=bool)
    np.logical_or.at(touched, owner, edge_changed[edge_index[position + low[owner]]])
    return ~touched


def grid_edges(inputs: analysis.CityInputs, width: float) -> tuple[np.ndarray, np.ndarray]:
    """(grid, edge) pairs within ``width`` of each other, sorted by grid (once per city)."""

    def make() -> tuple[np.ndarray, np.ndarray]:
        grids = inputs.grids["geometry"].to_numpy()
        found = inputs.network.tree.query(grids, predicate="dwithin", distance=width)
        order = np.argsort(found[0], kind="stable")
        return found[0][order], found[1][order]

    return _memo(inputs, ("grid_edges_by_grid", width), make)


def _affected_grids(
    inputs: analysis.CityInputs, changed: np.ndarray, distance: float
) -> np.ndarray:
    """Return the rows of the grids within ``distance`` of a changed place."""
    if not len(changed) or not len(inputs.grids):
        return np.zeros(0, dtype=np.int64)
    found = grid_tree(inputs).query(shapely.points(changed), predicate="dwithin", distance=distance)
    return np.unique(found[1])


def _gained(
    inputs: analysis.CityInputs, base: Baseline, residents: np.ndarray, covered: np.ndarray
) -> np.ndarray:
    """Residents covered after less before, per grid, of the residents measured again."""
    grid = inputs.resident_grid[residents]
    inside = grid >= 0
    change = covered.astype(np.int64) - (base.distance[residents] <= base.limit)
    persons = inputs.resident_persons[residents] * change
    return np.bincount(grid[inside], persons[inside], minlength=len(base.covered_area)).astype(
        np.int64
    )


def outcome(
    inputs: analysis.CityInputs,
    base: Baseline,
    after: After,
    mode: str,
    limits: tuple[float, float],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Coverage tables before and after the change, of the grids it may change (in grid order).

    ``limits`` are the threshold and the network buffer width. Covered areas are measured in
    the grids within reach of a changed place, zero elsewhere, as the what-if measures them.
    """
    limit, buffer_m = limits
    network = mode == "network" and analysis.has_network(inputs)
    sources = nodes = None
    if network and len(after.xy):
        sources = after_sources(inputs, after)
        nodes = walking.node_distances(inputs.network, sources, limit)
    radius = limit * (stretch(inputs) if network else 1.0) * (1 + _RELATIVE_SLACK) + _SLACK_M
    residents = changed_residents(inputs, after.changed, radius)
    distance = resident_distances_after(inputs, after, sources, nodes, residents, mode, limit)
    gained = _gained(inputs, base, residents, distance <= limit)
    affected = _affected_grids(
        inputs, after.changed, limit + (buffer_m if mode == "network" else 0.0)
    )
    area = base.table["area_m2"]
    missing = affected[np.isnan(base.covered_area[affected])]
    if len(missing):
        measured = covered_areas(inputs, missing, base.xy, (base.sources, base.nodes), mode, limits)
        base.covered_area[missing] = np.minimum(measured, area[missing])
    area_after = np.zeros(len(area))
    same = affected[_same_pieces(inputs, base, after, (sources, nodes), affected, buffer_m)]
    area_after[same] = base.covered_area[same]
    redo = np.setdiff1d(affected, same)
    if len(redo):
        measured = covered_areas(inputs, redo, after.xy, (sources, nodes), mode, limits)
        area_after[redo] = np.minimum(measured, area[redo])
    area_before = np.zeros(len(area))
    area_before[affected] = base.covered_area[affected]
    rows = np.union1d(affected, np.flatnonzero(gained)).astype(np.int64)
    columns = {name: values[rows] for name, values in base.table.items()}
    before = pd.DataFrame({**columns, "covered_area_m2": area_before[rows]})
    columns["covered_residents"] = columns["covered_residents"] + gained[rows]
    return before, pd.DataFrame({**columns, "covered_area_m2": area_after[rows]})
