"""Small networks, residents and facilities for coverage tests, in metres (a local metric CRS).

An independent networkx graph is built from the same edges, with snapped points inserted
as nodes that split their edges, so tests compare with plain Dijkstra.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import shapely

from gridsvc.coverage import network as walking
from gridsvc.coverage.analysis import CityInputs


def lattice_network(
    rng: np.random.Generator, columns: int = 8, rows: int = 6, spacing: float = 100.0
) -> walking.WalkingNetwork:
    """A jittered lattice with some edges dropped (kept connected by a spanning path)."""
    ids = np.arange(columns * rows).reshape(rows, columns)
    xy = np.stack(np.meshgrid(np.arange(columns), np.arange(rows)), axis=-1).reshape(-1, 2)
    xy = xy * spacing + rng.uniform(-15, 15, (len(xy), 2))
    pairs = [(ids[r, c], ids[r, c + 1]) for r in range(rows) for c in range(columns - 1)]
    pairs += [(ids[r, c], ids[r + 1, c]) for r in range(rows - 1) for c in range(columns)]
    spine = {(ids[r, c], ids[r, c + 1]) for r in range(rows) for c in range(columns - 1)}
    spine |= {(ids[r, 0], ids[r + 1, 0]) for r in range(rows - 1)}
    kept = [p for p in pairs if p in spine or rng.random() > 0.2]
    source = np.array([a for a, _ in kept]) + 1000
    target = np.array([b for _, b in kept]) + 1000
    lines = shapely.linestrings(np.stack([xy[source - 1000], xy[target - 1000]], axis=1))
    return walking.build_network(ids.ravel() + 1000, source, target, shapely.length(lines), lines)


def split_graph(
    network: walking.WalkingNetwork, groups: dict[str, walking.Snapped]
) -> tuple[nx.Graph, dict[str, list]]:
    """A networkx graph of the network with every snapped point inserted on its edge.

    Each snapped point becomes a node on its edge (splitting it) joined by its access leg
    to a node of its own; returns the graph and, per group, the names of those nodes.
    """
    on_edge: dict[int, list[tuple[float, object]]] = {}
    names: dict[str, list] = {}
    graph = nx.Graph()
    for group, snapped in groups.items():
        names[group] = []
        for i in range(len(snapped)):
            point, foot = (group, i), (group, i, "foot")
            graph.add_edge(point, foot, weight=float(snapped.offset[i]))
            on_edge.setdefault(int(snapped.edge[i]), []).append((float(snapped.fraction[i]), foot))
            names[group].append(point)
    for edge in range(len(network.length)):
        stops = [(0.0, int(network.source[edge]))]
        stops += sorted(on_edge.get(edge, []), key=lambda stop: stop[0])
        stops.append((1.0, int(network.target[edge])))
        for (f0, a), (f1, b) in zip(stops[:-1], stops[1:], strict=True):
            weight = (f1 - f0) * network.length[edge]
            if not graph.has_edge(a, b) or graph[a][b]["weight"] > weight:
                graph.add_edge(a, b, weight=weight)
    return graph, names


def nx_distances(
    network: walking.WalkingNetwork, sources: walking.Snapped, points: walking.Snapped
) -> np.ndarray:
    """Walking distance from the nearest source to each point, by networkx Dijkstra."""
    graph, names = split_graph(network, {"source": sources, "point": points})
    lengths = nx.multi_source_dijkstra_path_length(graph, set(names["source"]), weight="weight")
    return np.array([lengths.get(name, np.inf) for name in names["point"]])


def small_city(rng: np.random.Generator, residents: int = 3000) -> CityInputs:
    """Six 300 m × 250 m grids over a lattice network, residents and three facility types."""
    network = lattice_network(rng)
    boxes = [shapely.box(x, y, x + 300, y + 250) for y in (-50, 200) for x in (-50, 250, 550)]
    grids = pd.DataFrame(
        {
            "code": [f"150699001001{i:03d}" for i in range(1, 7)],
            "community_code": ["150699001001"] * 3 + ["150699001002"] * 3,
            "street_code": ["150699001"] * 6,
            "district_code": ["150699"] * 6,
            "geometry": boxes,
        }
    )
    xy = np.column_stack([rng.uniform(-50, 850, residents), rng.uniform(-50, 450, residents)])
    tree = shapely.STRtree(boxes)
    point_index, grid_index = tree.query(shapely.points(xy), predicate="intersects")
    grid = np.full(residents, -1)
    for p, g in zip(point_index, grid_index, strict=True):
        grid[p] = g if grid[p] < 0 else min(grid[p], g)
    facilities = 12
    return CityInputs(
        grids=grids,
        resident_xy=xy,
        resident_persons=rng.integers(1, 30, residents),
        resident_grid=grid,
        facility_ids=np.arange(1, facilities + 1),
        facility_types=np.array(["library", "shop_market", "park_square"] * 4, dtype=object),
        facility_xy=np.column_stack(
            [rng.uniform(-50, 850, facilities), rng.uniform(-50, 450, facilities)]
        ),
        network=network,
    )
