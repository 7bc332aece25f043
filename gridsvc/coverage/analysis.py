"""Coverage arithmetic: which residents a circle reaches, per-grid shares, gaps, roll-ups.

Pure: numpy, shapely and pandas in a metric CRS. A resident is covered when the nearest
facility of the circle's types lies within the threshold: in a straight line
(``euclidean``), or walking (``network``: access leg to the nearest edge, along the
network, access leg to the door). A grid's covered *area* is the part inside the union
of service areas (buffers of the facilities, or the reached network buffered by
``buffer_m``); its gap is the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from gridsvc.coverage import gaps, reach
from gridsvc.coverage import network as walking
from gridsvc.coverage.network import Snapped, WalkingNetwork

MODES = ("network", "euclidean")
WEIGHTS = ("population", "area")
LEVELS = ("grid", "community", "street", "district", "city")
# A circle drawn with 64 segments loses 0.16 % of its area; enough for 0.5 pp checks.
_CIRCLE_QUAD_SEGS = 16


@dataclass
class CityInputs:
    """What coverage is computed from, in a metric CRS.

    Attributes
    ----------
    grids
        One row per grid: ``code``, ``community_code``, ``street_code``, ``district_code``
        and ``geometry`` (metric polygons).
    resident_xy, resident_persons, resident_grid
        Residents' places, how many live there, and the row of their grid (-1: none).
    facility_ids, facility_types, facility_xy
        Facilities.
    network
        The walking network, or None where there is none.
    areal_scale
        Each grid's planar area per area on the ground (:mod:`gridsvc.coverage.ground`);
        None keeps areas planar.
    """

    grids: pd.DataFrame
    resident_xy: np.ndarray
    resident_persons: np.ndarray
    resident_grid: np.ndarray
    facility_ids: np.ndarray
    facility_types: np.ndarray
    facility_xy: np.ndarray
    network: WalkingNetwork | None
    areal_scale: np.ndarray | None = None
    _resident_snaps: Snapped | None = field(default=None, repr=False)
    # Results worth keeping between what-ifs on the same data (e.g. the circle as it is).
    memo: dict = field(default_factory=dict, repr=False)

    def on_the_ground(self, planar_areas: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Return planar areas of the grids (``rows``, else all) as areas on the ground."""
        if self.areal_scale is None:
            return np.asarray(planar_areas, dtype=float)
        scale = self.areal_scale if rows is None else self.areal_scale[rows]
        return np.asarray(planar_areas, dtype=float) / scale

    @property
    def resident_snaps(self) -> Snapped:
        """Residents snapped onto the walking network (computed once)."""
        if self._resident_snaps is None:
            self._resident_snaps = walking.snap(self.network, self.resident_xy)
        return self._resident_snaps

    def facilities_of(self, types: tuple[str, ...]) -> np.ndarray:
        """Return the rows of facilities of the given types."""
        return np.flatnonzero(np.isin(self.facility_types, list(types)))


def has_network(inputs: CityInputs) -> bool:
    """Whether there is any walking network to reach along."""
    return inputs.network is not None and len(inputs.network.length) > 0


def resident_distances(
    inputs: CityInputs, facility_xy: np.ndarray, mode: str, limit: float
) -> np.ndarray:
    """Return every resident's distance to the nearest facility (``inf`` beyond ``limit``).

    Parameters
    ----------
    inputs
        The city.
    facility_xy
        Facilities (metric x, y), shape (k, 2).
    mode
        ``network`` (walking, with access legs) or ``euclidean`` (straight line).
    limit
        Threshold in metres; farther distances are ``inf``.
    """
    count = len(inputs.resident_xy)
    if len(facility_xy) == 0 or count == 0:
        return np.full(count, np.inf)
    if mode == "euclidean":
        distance, _ = cKDTree(facility_xy).query(inputs.resident_xy, distance_upper_bound=limit)
        return distance
    if not has_network(inputs):
        return np.full(count, np.inf)
    sources = walking.snap(inputs.network, facility_xy)
    nodes = walking.node_distances(inputs.network, sources, limit)
    distance = walking.point_distances(inputs.network, nodes, inputs.resident_snaps, sources)
    return np.where(distance <= limit, distance, np.inf)


def coverage_parts(
    inputs: CityInputs,
    facility_xy: np.ndarray,
    mode: str,
    limit: float,
    buffer_m: float,
    near: shapely.Geometry | None = None,
) -> tuple[np.ndarray, float]:
    """Return what the union of service areas is made of and its buffer width.

    For ``euclidean``, the facility points and ``limit``; for ``network``, the reached
    pieces of the network (only of edges whose box meets ``near``, if given) and
    ``buffer_m``.
    """
    if mode == "euclidean":
        return shapely.points(np.asarray(facility_xy).reshape(-1, 2)), limit
    if not has_network(inputs) or len(facility_xy) == 0:
        return np.zeros(0, dtype=object), buffer_m
    sources = walking.snap(inputs.network, facility_xy)
    nodes = walking.node_distances(inputs.network, sources, limit)
    edges = None if near is None else np.unique(inputs.network.tree.query(near))
    return reach.reach_lines(inputs.network, nodes, sources, limit, edges), buffer_m


def network_gaps(
    inputs: CityInputs, facility_xy: np.ndarray, limit: float, buffer_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`gaps.cut` of the network reach, reusing grids whose every nearby edge is reached.

    Such a grid's covered part is the buffer of all its nearby edges whatever the
    facilities, so it is cut once per city (kept in ``inputs.memo``) and shared by
    every circle; only grids near a partly reached edge are cut anew.
    """
    network, grids = inputs.network, inputs.grids["geometry"].to_numpy()
    quad_segs = circle_quad_segs("network")
    sources = walking.snap(network, facility_xy)
    nodes = walking.node_distances(network, sources, limit)
    pieces = reach.nearest_pieces(network, nodes, sources, limit)
    grid_index, edge_index = _grid_edges(inputs, buffer_m)
    near = np.zeros(len(grids), dtype=bool)
    near[grid_index] = True
    partly = np.zeros(len(grids), dtype=bool)
    np.logical_or.at(partly, grid_index, ~reach.whole_edges(network, pieces)[edge_index])
    full = np.flatnonzero(near & ~partly)
    rest = np.flatnonzero(~near | partly)
    gap = np.empty(len(grids), dtype=object)
    covered = np.zeros(len(grids))
    gap[rest], covered[rest] = gaps.cut(
        grids[rest], reach.piece_lines(network, pieces), buffer_m, quad_segs
    )
    gap[full], covered[full] = _all_reached(inputs, full, buffer_m, quad_segs)
    return gap, covered


def prepare_network(inputs: CityInputs, buffer_m: float) -> None:
    """Make now what every walking circle shares: residents snapped, grids cut whole.

    The residents snapped onto the network, and every grid cut as if all edges near it
    were reached (as :func:`network_gaps` does). A refresh does so before it forks: its
    processes inherit them instead of each making its own.
    """
    if has_network(inputs):
        inputs.resident_snaps  # noqa: B018 (computed once and kept)
        grid_index, _ = _grid_edges(inputs, buffer_m)
        _all_reached(inputs, np.unique(grid_index), buffer_m, circle_quad_segs("network"))


def _grid_edges(inputs: CityInputs, buffer_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (grid, edge) of edges within ``buffer_m`` of grids, kept in ``inputs.memo``."""
    key = ("grid_edges", buffer_m)
    if key not in inputs.memo:
        grids = inputs.grids["geometry"].to_numpy()
        inputs.memo[key] = inputs.network.tree.query(grids, predicate="dwithin", distance=buffer_m)
    return inputs.memo[key]


def _all_reached(
    inputs: CityInputs, rows: np.ndarray, width: float, quad_segs: int
) -> tuple[np.ndarray, np.ndarray]:
    """Gaps of grids ``rows`` were every edge near them reached (computed once per grid, kept)."""
    key = ("all_reached", width, quad_segs)
    count = len(inputs.grids)
    if key not in inputs.memo:
        inputs.memo[key] = (np.empty(count, dtype=object), np.zeros(count), np.zeros(count, bool))
    gap, covered, done = inputs.memo[key]
    missing = rows[~done[rows]]
    if len(missing):
        grids = inputs.grids["geometry"].to_numpy()[missing]
        gap[missing], covered[missing] = gaps.cut(grids, inputs.network.lines, width, quad_segs)
        done[missing] = True
    return gap[rows], covered[rows]


def circle_quad_segs(mode: str) -> int:
    """Return the buffer's segments per quarter circle for ``mode``."""
    return _CIRCLE_QUAD_SEGS if mode == "euclidean" else reach.QUAD_SEGS


def grid_table(inputs: CityInputs, covered_residents: np.ndarray) -> pd.DataFrame:
    """Residents and covered residents per grid, from a per-resident covered flag."""
    table = inputs.grids[["code", "community_code", "street_code", "district_code"]].copy()
    count = len(table)
    inside = inputs.resident_grid >= 0
    grid = inputs.resident_grid[inside]
    persons = inputs.resident_persons[inside]
    table["residents"] = np.bincount(grid, persons, minlength=count).astype(np.int64)
    table["covered_residents"] = np.bincount(
        grid, persons * covered_residents[inside], minlength=count
    ).astype(np.int64)
    table["area_m2"] = inputs.on_the_ground(shapely.area(inputs.grids["geometry"].to_numpy()))
    return table


def compute_coverage(
    inputs: CityInputs,
    facility_rows: np.ndarray,
    mode: str,
    limit: float,
    buffer_m: float,
    with_gaps: bool = True,
) -> pd.DataFrame:
    """Coverage per grid for facilities ``facility_rows`` in ``mode`` within ``limit`` metres.

    Returns
    -------
    pandas.DataFrame
        ``code``, parent codes, ``residents``, ``covered_residents``, ``area_m2``,
        ``covered_area_m2`` and (with ``with_gaps``) ``gap`` (metric geometry).
    """
    facility_xy = inputs.facility_xy[facility_rows]
    distance = resident_distances(inputs, facility_xy, mode, limit)
    table = grid_table(inputs, distance <= limit)
    if with_gaps and mode == "network" and has_network(inputs) and len(facility_xy):
        gap, covered = network_gaps(inputs, facility_xy, limit, buffer_m)
    elif with_gaps:
        parts, width = coverage_parts(inputs, facility_xy, mode, limit, buffer_m)
        gap, covered = gaps.cut(
            inputs.grids["geometry"].to_numpy(), parts, width, circle_quad_segs(mode)
        )
    if with_gaps:
        covered = inputs.on_the_ground(covered)
        table["covered_area_m2"] = np.minimum(covered, table["area_m2"].to_numpy())
        table["gap"] = gap
    return table


def shares(
    residents: np.ndarray,
    covered_residents: np.ndarray,
    area: np.ndarray,
    covered_area: np.ndarray,
    weight: str,
) -> np.ndarray:
    """Coverage in 0..1: by residents (by area where none live), or by area."""
    area_share = np.divide(covered_area, area, out=np.zeros(len(area)), where=area > 0)
    if weight == "area":
        return np.clip(area_share, 0, 1)
    people = np.divide(
        covered_residents, residents, out=np.zeros(len(residents)), where=residents > 0
    )
    return np.clip(np.where(residents > 0, people, area_share), 0, 1)


# What a roll-up sums over a unit's grids.
SUMMED = ["grids", "residents", "covered_residents", "area_m2", "covered_area_m2"]


def roll_up(table: pd.DataFrame, level: str, weight: str) -> pd.DataFrame:
    """Sum a per-grid table to ``community``, ``street``, ``district`` or ``city``.

    Returns
    -------
    pandas.DataFrame
        ``code`` of the unit, ``grids``, ``residents``, ``covered_residents``,
        ``uncovered_residents``, ``area_m2``, ``covered_area_m2``, ``coverage``.
    """
    key = "city" if level == "city" else f"{level}_code"
    frame = table.assign(city="city", grids=1)
    summed = frame.groupby(key, sort=True)[SUMMED].sum()
    return with_shares(summed.reset_index().rename(columns={key: "code"}), weight)


def with_shares(summed: pd.DataFrame, weight: str) -> pd.DataFrame:
    """Add ``uncovered_residents`` and ``coverage`` to a frame of :data:`SUMMED` per unit."""
    summed["uncovered_residents"] = summed["residents"] - summed["covered_residents"]
    summed["coverage"] = shares(
        summed["residents"].to_numpy(),
        summed["covered_residents"].to_numpy(),
        summed["area_m2"].to_numpy(),
        summed["covered_area_m2"].to_numpy(),
        weight,
    )
    return summed


def change(before: pd.DataFrame, after: pd.DataFrame, weight: str) -> pd.DataFrame:
    """Per-grid change between two coverage tables of the same grids (only grids that change)."""
    residents, area = before["residents"].to_numpy(), before["area_m2"].to_numpy()
    columns = {
        "code": before["code"].to_numpy(),
        "district_code": before["district_code"].to_numpy(),
        "residents": residents,
        "area_m2": area,
        "covered_before": before["covered_residents"].to_numpy(),
        "covered_after": after["covered_residents"].to_numpy(),
        "covered_area_before": before["covered_area_m2"].to_numpy(),
        "covered_area_after": after["covered_area_m2"].to_numpy(),
    }
    for moment in ("before", "after"):
        columns[f"coverage_{moment}"] = shares(
            residents,
            columns[f"covered_{moment}"],
            area,
            columns[f"covered_area_{moment}"],
            weight,
        )
    columns["residents_gained"] = columns["covered_after"] - columns["covered_before"]
    # One frame built at once: column by column, pandas costs more than the arithmetic.
    moved = (columns["residents_gained"] != 0) | ~np.isclose(
        columns["covered_area_before"], columns["covered_area_after"], atol=1.0
    )
    return pd.DataFrame(
        {name: values[moved] for name, values in columns.items()}, index=before.index[moved]
    )
