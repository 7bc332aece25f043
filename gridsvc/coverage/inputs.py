"""The city coverage is computed from, assembled from plain arrays (metric CRS).

Pure: the database path (:mod:`gridsvc.coverage.refresh`) and the region path
(:mod:`gridsvc.region`) both read their rows and hand them here, so that one city gives
the same :class:`~gridsvc.coverage.analysis.CityInputs` whichever way it was read.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridsvc.common.points import containing_index_xy
from gridsvc.coverage.analysis import CityInputs
from gridsvc.coverage.network import build_network


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
