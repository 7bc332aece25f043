"""Walking distances on the network: snapping onto edges and shortest paths.

Pure: takes arrays and shapely geometries in a metric CRS, returns arrays and geometries.
Shortest paths come from ``scipy.sparse.csgraph.dijkstra`` (the README's coverage section
says why not pgRouting, with the figures). A point (facility or resident) is snapped onto
the nearest *edge*, at a fraction of its length; its walking distance includes the
straight access leg to the edge. A source enters the graph as a virtual node joined to
both ends of its edge, so a reach starts mid-edge. Cut edges and service-area polygons
are in :mod:`gridsvc.coverage.reach`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from gridsvc.common.threads import in_threads

# Zero-length links would vanish from a sparse matrix; this keeps them as edges.
_EPSILON_M = 1e-6


@dataclass
class WalkingNetwork:
    """An undirected walking network in a metric CRS.

    Attributes
    ----------
    node_ids
        External node ids; a node's index is its row here.
    source, target
        Node indices of every edge's ends.
    length
        Edge lengths in metres.
    lines
        Edge geometries (LineStrings from source to target), metric.
    """

    node_ids: np.ndarray
    source: np.ndarray
    target: np.ndarray
    length: np.ndarray
    lines: np.ndarray

    def __post_init__(self) -> None:
        # Results worth keeping while the network is (edge buffers of a width...).
        self.memo: dict = {}
        self.tree = shapely.STRtree(self.lines)
        count = len(self.node_ids)
        rows = np.concatenate([self.source, self.target])
        cols = np.concatenate([self.target, self.source])
        weights = np.concatenate([self.length, self.length]) + _EPSILON_M
        self.graph = _shortest_links(rows, cols, weights, count)
        edge_ids = np.arange(len(self.length))
        self.incidence = csr_matrix(
            (np.ones(2 * len(edge_ids)), (rows, np.concatenate([edge_ids, edge_ids]))),
            shape=(count, len(edge_ids)),
        )
        self.node_xy = np.full((count, 2), np.nan)
        if len(self.lines):
            self.node_xy[self.source] = shapely.get_coordinates(shapely.get_point(self.lines, 0))
            self.node_xy[self.target] = shapely.get_coordinates(shapely.get_point(self.lines, -1))

    @property
    def node_count(self) -> int:
        """Number of nodes."""
        return len(self.node_ids)


def build_network(
    node_ids: np.ndarray,
    edge_source_ids: np.ndarray,
    edge_target_ids: np.ndarray,
    lengths: np.ndarray,
    lines: np.ndarray,
) -> WalkingNetwork:
    """Build a :class:`WalkingNetwork` from node ids and edges given by node ids.

    Parameters
    ----------
    node_ids
        Every node's external id.
    edge_source_ids, edge_target_ids
        External ids of each edge's ends.
    lengths
        Each edge's length in metres.
    lines
        Each edge's LineString (metric CRS), drawn from source to target.
    """
    node_ids = np.asarray(node_ids, dtype=np.int64)
    order = np.argsort(node_ids)
    sorted_ids = node_ids[order]

    def index_of(ids: np.ndarray) -> np.ndarray:
        return order[np.searchsorted(sorted_ids, np.asarray(ids, dtype=np.int64))]

    return WalkingNetwork(
        node_ids=node_ids,
        source=index_of(edge_source_ids),
        target=index_of(edge_target_ids),
        length=np.asarray(lengths, dtype=np.float64),
        lines=np.asarray(lines, dtype=object),
    )


@dataclass
class Snapped:
    """Points snapped onto edges: the edge, the fraction along it, the access leg in metres."""

    edge: np.ndarray
    fraction: np.ndarray
    offset: np.ndarray

    def __len__(self) -> int:
        return len(self.edge)

    def by_edge(self) -> np.ndarray:
        """Return the order that sorts the points by edge (computed once)."""
        if getattr(self, "_by_edge", None) is None or len(self._by_edge) != len(self.edge):
            self._by_edge = np.argsort(self.edge, kind="stable")
        return self._by_edge

    def take(self, index: np.ndarray) -> Snapped:
        """Return the snapped points at ``index``."""
        return Snapped(self.edge[index], self.fraction[index], self.offset[index])


def snap(network: WalkingNetwork, xy: np.ndarray) -> Snapped:
    """Snap points (metric x, y, shape (n, 2)) onto the nearest edge, not the nearest node."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    if len(xy) == 0:
        empty = np.zeros(0)
        return Snapped(empty.astype(np.int64), empty, empty)
    points = shapely.points(xy)

    def nearest(rows: np.ndarray) -> np.ndarray:
        # Each point's nearest edge and distance, as rows of (edge, distance).
        (point_index, edge), distance = network.tree.query_nearest(
            points[rows], return_distance=True, all_matches=False
        )
        found = np.empty((len(rows), 2))
        found[point_index] = np.column_stack([edge, distance])
        return found

    found = in_threads(nearest, len(points))  # the city's residents: 2 s on one core
    result_edge = found[:, 0].astype(np.int64)
    fraction = shapely.line_locate_point(network.lines[result_edge], points, normalized=True)
    return Snapped(result_edge, np.nan_to_num(fraction), found[:, 1])


def _with_sources(network: WalkingNetwork, sources: Snapped, shared: bool) -> csr_matrix:
    """Add virtual source nodes to the graph: one for all sources, or one per source.

    Virtual nodes only have links out, so they are rows appended after the network's own:
    the network's graph is reused as it is, never re-sorted.
    """
    count, k = network.node_count, len(sources)
    virtual = np.full(k, count) if shared else count + np.arange(k)
    length = network.length[sources.edge]
    rows = np.concatenate([virtual, virtual])
    cols = np.concatenate([network.source[sources.edge], network.target[sources.edge]])
    weights = np.concatenate(
        [
            sources.offset + sources.fraction * length,
            sources.offset + (1.0 - sources.fraction) * length,
        ]
    )
    size = count + (1 if shared else k)
    links = _shortest_links(rows, cols, weights + _EPSILON_M, size)
    base = network.graph
    return csr_matrix(
        (
            np.concatenate([base.data, links.data]),
            np.concatenate([base.indices, links.indices]),
            np.concatenate([base.indptr, base.nnz + links.indptr[count + 1 :]]),
        ),
        shape=(size, size),
    )


def _shortest_links(
    rows: np.ndarray, cols: np.ndarray, weights: np.ndarray, size: int
) -> csr_matrix:
    """Build a sparse graph keeping the shortest of parallel links (scipy would sum them)."""
    order = np.lexsort((weights, cols, rows))
    rows, cols, weights = rows[order], cols[order], weights[order]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    return csr_matrix((weights[first], (rows[first], cols[first])), shape=(size, size))


def node_distances(network: WalkingNetwork, sources: Snapped, limit: float) -> np.ndarray:
    """Return the walking distance from the nearest source to every node (inf beyond limit)."""
    if len(sources) == 0:
        return np.full(network.node_count, np.inf)
    graph = _with_sources(network, sources, shared=True)
    distance = dijkstra(graph, directed=True, indices=network.node_count, limit=limit)
    return distance[: network.node_count]


def each_source_distances(
    network: WalkingNetwork, sources: Snapped, limit: float, chunk: int = 256
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Node distances from each source separately, ``chunk`` sources at a time.

    Yields
    ------
    indices, distances
        Which sources (positions in ``sources``) and their node distances, shape (k, nodes).
    """
    graph = _with_sources(network, sources, shared=False)
    count = network.node_count
    for start in range(0, len(sources), chunk):
        indices = np.arange(start, min(start + chunk, len(sources)))
        distances = dijkstra(graph, directed=True, indices=count + indices, limit=limit)
        yield indices, distances[:, :count]


def _expand(low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return, for ranges [low, high), the range of each value and the values themselves."""
    counts = high - low
    owner = np.repeat(np.arange(len(low)), counts)
    values = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return owner, values + np.repeat(low, counts)


def _same_edge(points: Snapped, sources: Snapped, edge_length: np.ndarray) -> np.ndarray:
    """Return the distance from each point to the nearest source on its own edge (or inf).

    On an edge of length L, source s reaches the point at fraction f at
    ``offset_s + L * |f_s - f|``: the nearest is the best of the sources before it (least
    ``offset_s - L * f_s``, plus ``L * f``) and of those after it (least ``offset_s + L *
    f_s``, less ``L * f``). Both are running minima over the edge's sources in order of
    fraction, so the work grows with points plus sources, not with every pair on an edge
    (a city with four times the residents and shops on the same streets had sixteen times
    the pairs).
    """
    result = np.full(len(points), np.inf)
    if len(sources) == 0 or len(points) == 0:
        return result
    order = points.by_edge()
    edges = points.edge[order]
    wanted = np.unique(sources.edge)
    low = np.searchsorted(edges, wanted, side="left")
    high = np.searchsorted(edges, wanted, side="right")
    point = order[_expand(low, high)[1]]  # the points on an edge with a source
    if len(point) == 0:
        return result
    ranked = np.lexsort((sources.fraction, sources.edge))
    edge, fraction = sources.edge[ranked], sources.fraction[ranked]
    walk = edge_length[edge]
    offset = sources.offset[ranked]
    # Edges of the sources, numbered: each edge's sources are one run of the ranked order.
    runs = np.concatenate([[0], np.cumsum(edge[1:] != edge[:-1])])
    before = pd.Series(offset - walk * fraction).groupby(runs).cummin().to_numpy()
    after = pd.Series((offset + walk * fraction)[::-1]).groupby(runs[::-1]).cummin()
    after = after.to_numpy()[::-1]
    # Each point's place among the sources: on the same edge, at or before its fraction.
    key = edge + 0.5 * fraction  # fractions are in [0, 1]: the edges never overlap
    at = points.edge[point] + 0.5 * points.fraction[point]
    length = edge_length[points.edge[point]] * points.fraction[point]
    last = np.searchsorted(key, at, side="right") - 1
    found = (last >= 0) & (edge[np.maximum(last, 0)] == points.edge[point])
    best = np.where(found, before[np.maximum(last, 0)] + length, np.inf)
    first = np.searchsorted(key, at, side="left")
    inside = np.minimum(first, len(edge) - 1)
    found = (first < len(edge)) & (edge[inside] == points.edge[point])
    best = np.minimum(best, np.where(found, after[inside] - length, np.inf))
    result[point] = best
    return result


def point_distances(
    network: WalkingNetwork,
    distances: np.ndarray,
    points: Snapped,
    sources: Snapped | None = None,
) -> np.ndarray:
    """Return walking distances to snapped points from node distances (1-d, or one row a source).

    Parameters
    ----------
    network
        The network.
    distances
        Node distances from :func:`node_distances` (shape (nodes,)) or rows of
        :func:`each_source_distances` (shape (k, nodes)).
    points
        Snapped points; their access legs are added.
    sources
        For 1-d ``distances``: the sources, so that a point on a source's own edge is
        reached along the edge without passing a node.
    """
    length = network.length[points.edge]
    from_source = distances[..., network.source[points.edge]] + points.fraction * length
    from_target = distances[..., network.target[points.edge]] + (1 - points.fraction) * length
    result = np.minimum(from_source, from_target)
    if sources is not None and distances.ndim == 1:
        result = np.minimum(result, _same_edge(points, sources, network.length))
    return result + points.offset


def source_point_distances(
    network: WalkingNetwork,
    distances: np.ndarray,
    indices: np.ndarray,
    sources: Snapped,
    points: Snapped,
) -> np.ndarray:
    """Return :func:`point_distances` for rows of single sources, same-edge walks included."""
    result = point_distances(network, distances, points)
    for row, source in enumerate(indices):
        one = sources.take(np.array([source]))
        same = points.edge == one.edge[0]
        if same.any():
            along = np.abs(points.fraction[same] - one.fraction[0]) * network.length[one.edge[0]]
            direct = one.offset[0] + along + points.offset[same]
            result[row, same] = np.minimum(result[row, same], direct)
    return result


def reached_points(
    network: WalkingNetwork,
    distances: np.ndarray,
    indices: np.ndarray,
    sources: Snapped,
    points: Snapped,
    limit: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Return (source, point) pairs within ``limit``, looking only at reached edges.

    The sparse counterpart of thresholding :func:`source_point_distances`: rows of
    single-source node distances, ``indices`` their sources' positions in ``sources``.
    """
    rows, edges = reached_edges(network, distances)
    own = sources.take(indices)
    rows = np.concatenate([rows, np.arange(len(indices))])
    edges = np.concatenate([edges, own.edge])
    order = points.by_edge()
    by_edge = points.edge[order]
    low = np.searchsorted(by_edge, edges, side="left")
    high = np.searchsorted(by_edge, edges, side="right")
    pair, position = _expand(low, high)
    pair_rows, pair_points = rows[pair], order[position]
    edge = points.edge[pair_points]
    fraction, length = points.fraction[pair_points], network.length[edge]
    distance = np.minimum(
        distances[pair_rows, network.source[edge]] + fraction * length,
        distances[pair_rows, network.target[edge]] + (1 - fraction) * length,
    )
    same = edge == own.edge[pair_rows]
    along = own.offset[pair_rows] + np.abs(fraction - own.fraction[pair_rows]) * length
    distance = np.where(same, np.minimum(distance, along), distance) + points.offset[pair_points]
    keep = distance <= limit
    keys = np.unique(pair_rows[keep].astype(np.int64) * len(points) + pair_points[keep])
    return indices[keys // len(points)], keys % len(points)


def reached_edges(network: WalkingNetwork, distances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (row, edge) pairs where an edge has a reached end, without dense row × edge work."""
    rows, nodes = np.nonzero(np.isfinite(distances))
    incidence = network.incidence
    pair, position = _expand(incidence.indptr[nodes], incidence.indptr[nodes + 1])
    edges = incidence.indices[position]
    keys = np.unique(rows[pair].astype(np.int64) * len(network.length) + edges)
    return keys // len(network.length), keys % len(network.length)
