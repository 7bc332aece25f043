"""A walking network over the dense part of each town.

Each town gets a street lattice (about 100-150 m blocks, jittered and slightly
rotated; Kangbashi a regular planned grid) kept where the residents' density is
high, trimmed to the largest connected piece. Some lattice edges are dropped for
realism, but never those of a random spanning tree, so each town stays connected.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import minimum_spanning_tree
from shapely.geometry.base import BaseGeometry

from gridsvc.geodata.demo.geography import DISTRICTS, to_utm


@dataclass(frozen=True)
class Town:
    """Where a town's lattice is laid: centre, reach, block size, jitter, rotation."""

    district_code: str
    lon: float
    lat: float
    radius_m: float
    spacing_m: float
    jitter_m: float
    angle_deg: float
    drop_share: float


TOWNS: tuple[Town, ...] = (
    Town("150602", 109.985, 39.82, 10_000, 120, 18, 8.0, 0.12),
    Town("150603", 109.785, 39.62, 7_000, 150, 0, 0.0, 0.03),
    Town("150621", 110.05, 40.395, 6_000, 130, 15, -5.0, 0.12),
    Town("150622", 111.24, 39.86, 6_500, 130, 15, 12.0, 0.12),
    Town("150623", 107.475, 38.182, 5_000, 130, 15, 3.0, 0.12),
    Town("150624", 107.985, 39.10, 5_000, 130, 15, -7.0, 0.12),
    Town("150625", 108.735, 39.838, 5_000, 130, 15, 4.0, 0.12),
    Town("150626", 108.85, 38.597, 5_000, 130, 15, -3.0, 0.12),
    Town("150627", 109.74, 39.562, 6_000, 130, 15, 6.0, 0.12),
)

# Residents per km² (full-size city) above which a lattice node is kept.
DENSITY_THRESHOLD = 1500.0
_SMOOTHING_CELLS = 1.5


@dataclass
class Network:
    """Nodes and edges of the walking network (UTM 49N).

    Attributes
    ----------
    xy
        Node coordinates, shape (n, 2); the node id is the row.
    edges
        Pairs of node ids, shape (m, 2).
    """

    xy: np.ndarray
    edges: np.ndarray


def _lattice_density(
    town: Town, cells: int, xy: np.ndarray, persons: np.ndarray, rotation: np.ndarray
) -> np.ndarray:
    """Smoothed residents per km² at each lattice node, shape (cells, cells)."""
    cx, cy = to_utm(town.lon, town.lat)
    local = (xy - [cx, cy]) @ rotation
    index = np.rint(local / town.spacing_m).astype(np.int64) + cells // 2
    inside = np.all((index >= 0) & (index < cells), axis=1)
    counts = np.zeros((cells, cells))
    np.add.at(counts, (index[inside, 1], index[inside, 0]), persons[inside])
    smoothed = ndimage.gaussian_filter(counts, _SMOOTHING_CELLS)
    return smoothed / (town.spacing_m**2 / 1e6)


def _largest_component(mask: np.ndarray) -> np.ndarray:
    """Keep the largest 4-connected piece of ``mask``."""
    labelled, count = ndimage.label(mask)
    if count == 0:
        return mask
    sizes = np.bincount(labelled.ravel())
    sizes[0] = 0
    return labelled == int(np.argmax(sizes))


def _lattice_edges(
    rng: np.random.Generator, node_ids: np.ndarray, mask: np.ndarray, drop_share: float
) -> np.ndarray:
    """Edges between neighbouring kept nodes, some dropped but keeping a spanning tree."""
    pairs = []
    for a, b in ((mask[:, :-1] & mask[:, 1:], (0, 1)), (mask[:-1, :] & mask[1:, :], (1, 0))):
        rows, cols = np.nonzero(a)
        pairs.append(np.column_stack([node_ids[rows, cols], node_ids[rows + b[0], cols + b[1]]]))
    edges = np.concatenate(pairs)
    count = int(mask.sum())
    if len(edges) == 0:
        return edges.reshape(0, 2)
    weights = rng.random(len(edges)) + 1e-9
    graph = coo_matrix((weights, (edges[:, 0], edges[:, 1])), shape=(count, count))
    tree = minimum_spanning_tree(graph).tocoo()
    in_tree = {
        (min(int(a), int(b)), max(int(a), int(b))) for a, b in zip(tree.row, tree.col, strict=True)
    }
    keep = np.array([(int(a), int(b)) in in_tree for a, b in edges])
    keep |= rng.random(len(edges)) >= drop_share
    edges = edges[keep]
    return edges[np.lexsort((edges[:, 1], edges[:, 0]))]


def town_network(
    rng: np.random.Generator,
    town: Town,
    district: BaseGeometry,
    xy: np.ndarray,
    persons: np.ndarray,
    threshold: float,
) -> Network:
    """Lay one town's lattice where density exceeds ``threshold`` (residents per km²)."""
    theta = np.deg2rad(town.angle_deg)
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    cells = 2 * int(town.radius_m // town.spacing_m) + 1
    density = _lattice_density(town, cells, xy, persons, rotation)
    steps = (np.arange(cells) - cells // 2) * town.spacing_m
    u, v = np.meshgrid(steps, steps)
    cx, cy = to_utm(town.lon, town.lat)
    # Rows of ``rotation`` map local (u, v) back to the ground.
    ground = np.stack([u.ravel(), v.ravel()], axis=1) @ rotation.T + [cx, cy]
    ground = ground.reshape(cells, cells, 2)
    interior = district.buffer(-(town.jitter_m + 5.0))
    shapely.prepare(interior)
    inside = shapely.contains_xy(interior, ground[..., 0], ground[..., 1])
    mask = _largest_component((density >= threshold) & inside)
    node_ids = np.full(mask.shape, -1, dtype=np.int64)
    node_ids[mask] = np.arange(int(mask.sum()))
    nodes = ground[mask] + rng.uniform(-town.jitter_m, town.jitter_m, (int(mask.sum()), 2))
    edges = _lattice_edges(rng, node_ids, mask, town.drop_share)
    return Network(xy=nodes, edges=edges)


def build_network(
    rng: np.random.Generator,
    districts: list[BaseGeometry],
    xy: np.ndarray,
    persons: np.ndarray,
    district_of_point: np.ndarray,
    scale: float,
) -> Network:
    """Build the walking network of all towns, node ids numbered town by town.

    Parameters
    ----------
    rng
        Random generator.
    districts
        District polygons (UTM), in ``DISTRICTS`` order.
    xy, persons, district_of_point
        The residents.
    scale
        City size relative to the full-size demo; the density threshold scales with it.

    Returns
    -------
    Network
        Nodes and edges.
    """
    codes = [d.code for d in DISTRICTS]
    all_xy, all_edges, offset = [], [], 0
    for town in TOWNS:
        index = codes.index(town.district_code)
        mine = district_of_point == index
        net = town_network(
            rng, town, districts[index], xy[mine], persons[mine], DENSITY_THRESHOLD * scale
        )
        all_xy.append(net.xy)
        all_edges.append(net.edges + offset)
        offset += len(net.xy)
    return Network(xy=np.concatenate(all_xy), edges=np.concatenate(all_edges).astype(np.int64))
