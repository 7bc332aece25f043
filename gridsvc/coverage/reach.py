"""Service areas on the walking network: reached edges cut where the distance runs out.

Pure: from node distances (:mod:`gridsvc.coverage.network`) to the reached pieces of
edges, their lines, and one polygon per source (the pieces buffered).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely import ops

from gridsvc.common.threads import in_threads
from gridsvc.coverage.network import (
    Snapped,
    WalkingNetwork,
    each_source_distances,
    reached_edges,
)


@dataclass
class Pieces:
    """Reached parts of edges: which source, which edge, from and to which fraction."""

    source: np.ndarray
    edge: np.ndarray
    start: np.ndarray
    end: np.ndarray


def reached_pieces(
    network: WalkingNetwork,
    distances: np.ndarray,
    row_labels: np.ndarray,
    own: Snapped,
    own_labels: np.ndarray,
    limit: float,
) -> Pieces:
    """Find the reached parts of edges from rows of node distances, cut at ``limit``.

    An edge reached from both ends far enough is whole; otherwise it is cut where the
    remaining distance runs out, from each end. A source's own edge is reached around
    its snap point by what the access leg leaves.

    Parameters
    ----------
    network
        The network.
    distances
        Node distances, shape (rows, nodes).
    row_labels
        The label (source number) of each row.
    own, own_labels
        The snapped sources and the label of the row each belongs to.
    limit
        The threshold in metres.
    """
    rows, cols = reached_edges(network, distances)
    length = network.length[cols]
    left = np.clip((limit - distances[rows, network.source[cols]]) / length, 0, 1)
    right = np.clip((limit - distances[rows, network.target[cols]]) / length, 0, 1)
    whole = left + right >= 1
    from_source, from_target = ~whole & (left > 0), ~whole & (right > 0)
    masks = (whole, from_source, from_target)
    starts = (np.zeros(whole.sum()), np.zeros(from_source.sum()), 1 - right[from_target])
    ends = (np.ones(whole.sum()), left[from_source], np.ones(from_target.sum()))
    own_source, own_edge, own_start, own_end = _own_edge_pieces(network, own, own_labels, limit)
    pieces = Pieces(
        np.concatenate([row_labels[rows[mask]] for mask in masks] + [own_source]),
        np.concatenate([cols[mask] for mask in masks] + [own_edge]),
        np.concatenate([*starts, own_start]),
        np.concatenate([*ends, own_end]),
    )
    return _take(pieces, pieces.end > pieces.start)


def _own_edge_pieces(
    network: WalkingNetwork, own: Snapped, own_labels: np.ndarray, limit: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Source, edge, start and end of each source's reach along its own edge."""
    remaining = (limit - own.offset) / network.length[own.edge]
    inside = remaining > 0
    return (
        own_labels[inside],
        own.edge[inside],
        np.clip(own.fraction[inside] - remaining[inside], 0, 1),
        np.clip(own.fraction[inside] + remaining[inside], 0, 1),
    )


def nearest_pieces(
    network: WalkingNetwork, distances: np.ndarray, sources: Snapped, limit: float
) -> Pieces:
    """Return the pieces of edges reached from the nearest source (node distances 1-d)."""
    return reached_pieces(
        network,
        distances[None, :],
        np.zeros(1, dtype=np.int64),
        sources,
        np.zeros(len(sources), dtype=np.int64),
        limit,
    )


def whole_edges(network: WalkingNetwork, pieces: Pieces) -> np.ndarray:
    """Mask of the edges some piece covers from end to end."""
    result = np.zeros(len(network.length), dtype=bool)
    result[pieces.edge[(pieces.start <= 0) & (pieces.end >= 1)]] = True
    return result


def reach_lines(
    network: WalkingNetwork,
    distances: np.ndarray,
    sources: Snapped,
    limit: float,
    edges: np.ndarray | None = None,
) -> np.ndarray:
    """Return the pieces of the network reached from the nearest source, as LineStrings.

    ``distances`` are the node distances of :func:`node_distances` for the same sources;
    with ``edges``, only pieces of those edges are drawn.
    """
    pieces = nearest_pieces(network, distances, sources, limit)
    if edges is not None:
        pieces = _take(pieces, np.isin(pieces.edge, edges))
    return piece_lines(network, pieces)


def piece_lines(network: WalkingNetwork, pieces: Pieces) -> np.ndarray:
    """Return LineStrings of reached pieces (metric); straight edges are cut by interpolation."""
    lines = network.lines[pieces.edge]
    straight = shapely.get_num_coordinates(lines) == 2
    result = np.empty(len(lines), dtype=object)
    a = shapely.line_interpolate_point(lines[straight], pieces.start[straight], normalized=True)
    b = shapely.line_interpolate_point(lines[straight], pieces.end[straight], normalized=True)
    coords = np.stack([shapely.get_coordinates(a), shapely.get_coordinates(b)], axis=1)
    result[straight] = shapely.linestrings(coords) if len(coords) else []
    for index in np.flatnonzero(~straight):
        line = lines[index]
        result[index] = ops.substring(line, pieces.start[index], pieces.end[index], normalized=True)
    return result


# Segments per quarter circle of the walking buffers, service areas and gaps alike, so a
# gap ends where the service areas drawn beside it end: a rounded end lies at most 0.96 m
# inside the true 50 m (r * (1 - cos 11.25°)).
QUAD_SEGS = 4

# Side of the squares edges are grouped in (by midpoint) for service areas: a source that
# reaches every edge of a square takes the square's union, made once, instead of unioning
# its edges' buffers anew. 300 m measured best on the demo city (1.6x over no squares;
# 150 m gave 1.4x, 600 m 1.15x, since fewer squares are then reached whole).
BLOCK_M = 300.0


@dataclass
class _Blocks:
    """Edges grouped in squares, and each square's union of edge buffers once it is made."""

    of_edge: np.ndarray
    size: np.ndarray
    union: np.ndarray
    done: np.ndarray


def prepare_service_areas(
    network: WalkingNetwork, buffer_m: float, block_m: float = BLOCK_M
) -> None:
    """Make now what every service area of ``network`` shares: edge buffers, square unions.

    A refresh does so before it forks, so that its processes inherit them instead of each
    making its own.
    """
    edge_buffers = _edge_buffers(network, buffer_m)
    blocks = _edge_blocks(network, buffer_m, block_m)
    _block_unions(blocks, edge_buffers, np.arange(len(blocks.size)))


def _edge_buffers(network: WalkingNetwork, buffer_m: float) -> np.ndarray:
    key = ("edge_buffers", buffer_m)
    if key not in network.memo:
        network.memo[key] = in_threads(
            lambda part: shapely.buffer(network.lines[part], buffer_m, quad_segs=QUAD_SEGS),
            len(network.lines),
        )
    return network.memo[key]


def _edge_blocks(network: WalkingNetwork, buffer_m: float, block_m: float) -> _Blocks:
    key = ("edge_blocks", buffer_m, block_m)
    if key not in network.memo:
        middle = shapely.line_interpolate_point(network.lines, 0.5, normalized=True)
        square = np.floor(shapely.get_coordinates(middle) / block_m).astype(np.int64)
        _, of_edge = np.unique(square, axis=0, return_inverse=True)
        of_edge = of_edge.ravel()
        count = int(of_edge.max()) + 1 if len(of_edge) else 0
        network.memo[key] = _Blocks(
            of_edge,
            np.bincount(of_edge, minlength=count),
            np.empty(count, dtype=object),
            np.zeros(count, dtype=bool),
        )
    return network.memo[key]


def _run_unions(shapes: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Return the union of each run ``shapes[starts[i]:ends[i]]``, in threads."""

    def union(part: np.ndarray) -> np.ndarray:
        return np.array(
            [shapely.union_all(shapes[starts[i] : ends[i]]) for i in part], dtype=object
        )

    return in_threads(union, len(starts))


def _block_unions(blocks: _Blocks, edge_buffers: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Return the unions of squares ``wanted``; those not made yet are made and kept."""
    missing = np.unique(wanted[~blocks.done[wanted]])
    if len(missing):
        order = np.argsort(blocks.of_edge, kind="stable")
        starts = np.searchsorted(blocks.of_edge[order], missing)
        blocks.union[missing] = _run_unions(
            edge_buffers[order], starts, starts + blocks.size[missing]
        )
        blocks.done[missing] = True
    return blocks.union[wanted]


def _whole_shapes(
    blocks: _Blocks, edge_buffers: np.ndarray, source: np.ndarray, edge: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return owners and shapes covering the whole edges reached; full squares as one."""
    if len(edge) == 0:
        return source, np.zeros(0, dtype=object)
    pairs = np.unique(np.column_stack([source, edge]), axis=0)
    source, edge = pairs[:, 0], pairs[:, 1]
    block = blocks.of_edge[edge]
    keys, inverse, counts = np.unique(
        np.column_stack([source, block]), axis=0, return_inverse=True, return_counts=True
    )
    full = counts == blocks.size[keys[:, 1]]
    loose = ~full[inverse.ravel()]
    owners = np.concatenate([keys[full, 0], source[loose]])
    shapes = np.concatenate(
        [_block_unions(blocks, edge_buffers, keys[full, 1]), edge_buffers[edge[loose]]]
    )
    return owners, shapes


def service_area_polygons(
    network: WalkingNetwork,
    sources: Snapped,
    limit: float,
    buffer_m: float,
    chunk: int = 256,
    block_m: float = BLOCK_M,
) -> np.ndarray:
    """Return one network service area per source: its reached pieces buffered by ``buffer_m``.

    Returns
    -------
    numpy.ndarray of shapely geometries
        Polygons in the network's CRS, empty where a source reaches nothing (a facility
        farther than ``limit`` from every edge).
    """
    result = np.array([shapely.Polygon()] * len(sources), dtype=object)
    # Whole edges are buffered once (per network and width) and shared, and so are the
    # unions of squares of them (:data:`BLOCK_M`); each area unions its squares, the
    # buffers of its other whole edges and those of its cut pieces.
    edge_buffers = _edge_buffers(network, buffer_m)
    blocks = _edge_blocks(network, buffer_m, block_m)
    for indices, distances in each_source_distances(network, sources, limit, chunk):
        own = sources.take(indices)
        pieces = reached_pieces(network, distances, indices, own, indices, limit)
        if len(pieces.edge) == 0:
            continue
        whole = (pieces.start <= 0) & (pieces.end >= 1)
        owners, shapes = _whole_shapes(
            blocks, edge_buffers, pieces.source[whole], pieces.edge[whole]
        )
        cut = piece_lines(network, _take(pieces, ~whole))
        owners = np.concatenate([owners, pieces.source[~whole]])
        shapes = np.concatenate([shapes, shapely.buffer(cut, buffer_m, quad_segs=QUAD_SEGS)])
        order = np.argsort(owners, kind="stable")
        reached, starts = np.unique(owners[order], return_index=True)
        ends = np.append(starts[1:], len(owners))
        result[reached] = _run_unions(shapes[order], starts, ends)
    return result


def _take(pieces: Pieces, keep: np.ndarray) -> Pieces:
    return Pieces(pieces.source[keep], pieces.edge[keep], pieces.start[keep], pieces.end[keep])
