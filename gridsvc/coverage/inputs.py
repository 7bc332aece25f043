"""The city coverage is computed from, assembled from plain arrays (metric CRS).

Pure: the database path (:mod:`gridsvc.coverage.refresh`) and the region path
(:mod:`gridsvc.region`) both read their rows and hand them here, so that one city gives
the same :class:`~gridsvc.coverage.analysis.CityInputs` whichever way it was read.

:func:`part_inputs` cuts the sub-city of some of a city's grids (a district:
:func:`district_inputs`; or some of its streets) out of the city's inputs, with the margin
``2 * limit + buffer_m`` around each of those grids. Why that margin suffices: what decides
a grid's figures is its residents and the points of reached edge pieces (or of
circles) within ``buffer_m`` of it. A walk of length ≤ ``limit`` from a facility to such a
point X (access leg, network path, access leg) has every point within ``limit`` of X, so
within ``limit + buffer_m`` of the grid: the facility and every edge the walk touches (its
snapped edge included) are in the sub-city, and the sub-city's distances, which can only
be longer (a sub-network), are the city's up to ``limit``. A piece's end is set by the
distance of its edge's end node; where a piece comes within ``buffer_m`` of the grid, that
node's walk is such a walk. A facility is snapped to its nearest edge, at a leg ≤
``limit`` if it reaches anything; were that edge outside the sub-city, it would snap
farther away and could reach what it does not in the city. It cannot: a facility that
reaches a deciding point lies within ``limit + buffer_m`` of the grid and its nearest edge
within ``limit`` more, inside the margin. Residents' snaps are carried rather than redone,
so a resident far from every edge (beyond the margin) or between two equally near ones
snaps exactly as in the city. The database path
(:func:`gridsvc.coverage.store.load_inputs` with
:func:`gridsvc.coverage.freshness.reach_margin`, ``2 * limit + 1000``) reads one box
around the whole district, a superset of this one for any buffer up to 1 km.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from gridsvc.common.points import containing_index_xy
from gridsvc.coverage.analysis import CityInputs
from gridsvc.coverage.network import Snapped, WalkingNetwork, build_network, snap


def assign_points(grid_geometries: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Return the grid row of each point (the lowest row on a shared edge), -1 for none."""
    return containing_index_xy(grid_geometries, xy)


def city_inputs(
    grids: pd.DataFrame,
    residents: np.ndarray,
    facilities: tuple[np.ndarray, np.ndarray, np.ndarray],
    edges: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None,
) -> CityInputs:
    """Assemble a city's coverage inputs.

    Parameters
    ----------
    grids
        ``code``, ``community_code``, ``street_code``, ``district_code`` and ``geometry``
        (metric polygons), ordered by code.
    residents
        Shape (n, 3): x, y, persons.
    facilities
        Ids, type codes and metric x, y (shape (k, 2)).
    edges
        Source node ids, target node ids, lengths in metres and metric LineStrings of the
        walking network; None (or no edges) for a city without one.
    """
    network = None
    if edges is not None and len(edges[0]):
        source, target, length, lines = edges
        node_ids = np.unique(np.concatenate([source, target]).astype(np.int64))
        network = build_network(node_ids, source, target, np.asarray(length, float), lines)
    facility_ids, facility_types, facility_xy = facilities
    residents = np.asarray(residents, dtype=np.float64).reshape(-1, 3)
    return CityInputs(
        grids=grids,
        resident_xy=residents[:, :2],
        resident_persons=residents[:, 2].astype(np.int64),
        resident_grid=assign_points(grids["geometry"].to_numpy(), residents[:, :2]),
        facility_ids=np.asarray(facility_ids, dtype=np.int64),
        facility_types=np.asarray(facility_types, dtype=object),
        facility_xy=np.asarray(facility_xy, dtype=np.float64).reshape(-1, 2),
        network=network,
    )


def district_inputs(inputs: CityInputs, district: str, limit: float, buffer_m: float) -> CityInputs:
    """Cut out of a city's inputs the sub-city that decides ``district``'s figures."""
    rows = np.flatnonzero(inputs.grids["district_code"].to_numpy() == district)
    return part_inputs(inputs, rows, limit, buffer_m)


def part_inputs(inputs: CityInputs, rows: np.ndarray, limit: float, buffer_m: float) -> CityInputs:
    """Cut out of a city's inputs the sub-city that decides the figures of grids ``rows``.

    Those grids (in the city's order) and the residents the city places in them (their
    grid as the city assigns it, so a resident on a border counts where it does in the
    city), with each resident's snap onto the walking network carried from the whole
    city's network; every facility and network edge whose box meets one of the grids' boxes
    grown by the margin ``2 * limit + buffer_m``; and the edges those residents snap to.

    Why that margin suffices, and why the snaps are carried: the module's docstring.

    Parameters
    ----------
    inputs
        The whole city.
    rows
        Rows of the grids in ``inputs.grids``, ascending.
    limit
        The largest threshold (metres) that will be computed on the sub-city.
    buffer_m
        Width of the network service areas' buffer.
    """
    grids = inputs.grids.iloc[rows].reset_index(drop=True)
    sub_row = np.full(len(inputs.grids) + 1, -1, dtype=np.int64)  # [-1]: outside every grid
    sub_row[rows] = np.arange(len(rows))
    residents = np.flatnonzero(sub_row[inputs.resident_grid] >= 0)
    margin = 2 * limit + buffer_m
    west, south, east, north = shapely.bounds(grids["geometry"].to_numpy()).T
    boxes = shapely.box(west - margin, south - margin, east + margin, north + margin)
    facility_points = shapely.points(inputs.facility_xy)
    facilities = np.unique(shapely.STRtree(facility_points).query(boxes)[1])
    network, snaps = _sub_network(inputs, residents, boxes)
    return CityInputs(
        grids=grids,
        resident_xy=inputs.resident_xy[residents],
        resident_persons=inputs.resident_persons[residents],
        resident_grid=sub_row[inputs.resident_grid[residents]],
        facility_ids=inputs.facility_ids[facilities],
        facility_types=inputs.facility_types[facilities],
        facility_xy=inputs.facility_xy[facilities],
        network=network,
        areal_scale=None if inputs.areal_scale is None else inputs.areal_scale[rows],
        _resident_snaps=snaps,
    )


def _sub_network(
    inputs: CityInputs, residents: np.ndarray, boxes: np.ndarray
) -> tuple[WalkingNetwork | None, Snapped | None]:
    """Return the edges meeting ``boxes`` or that ``residents`` snap to, and the snaps carried."""
    city = inputs.network
    if city is None or len(city.length) == 0:
        return None, None
    if inputs._resident_snaps is not None:  # the city's own snaps, when already made
        snaps = inputs.resident_snaps.take(residents)
    else:
        snaps = snap(city, inputs.resident_xy[residents])
    edges = np.unique(np.concatenate([city.tree.query(boxes)[1], snaps.edge]))
    if len(edges) == 0:
        return None, None
    source, target = city.node_ids[city.source[edges]], city.node_ids[city.target[edges]]
    network = build_network(
        np.unique(np.concatenate([source, target])),
        source,
        target,
        city.length[edges],
        city.lines[edges],
    )
    carried = Snapped(np.searchsorted(edges, snaps.edge), snaps.fraction, snaps.offset)
    return network, carried
