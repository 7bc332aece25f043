"""Cut a parent polygon into children that follow where people live.

Seeds come from k-means over a sample of the parent's residents (weighted by
persons) mixed with points spread evenly over its area, so dense places get
small cells and empty land still gets some. Children are the Voronoi cells of
the seeds clipped to the parent: they tessellate it up to floating point.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import shapely
from scipy.cluster.vq import kmeans2
from scipy.spatial import cKDTree
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry

from gridsvc.common.points import containing_index
from gridsvc.geodata.demo.geography import as_multipolygon
from gridsvc.geodata.demo.population import uniform_inside
from gridsvc.grids.codes import reading_order
from gridsvc.grids.rebalance import attach_crumbs

_MIN_SAMPLE = 300
_MAX_SAMPLE = 4000
_SAMPLE_PER_SEED = 30
_KMEANS_ITERATIONS = 6


@dataclass
class Split:
    """Children of one parent, in reading order.

    Attributes
    ----------
    children
        Child polygons (UTM), numbered 1.. in this order.
    labels
        For each point handed in, the index of the child holding it.
    """

    children: list[MultiPolygon]
    labels: np.ndarray


def _sample(
    rng: np.random.Generator,
    parent: BaseGeometry,
    xy: np.ndarray,
    persons: np.ndarray,
    size: int,
    area_share: float,
) -> np.ndarray:
    """Points to cluster: residents drawn by persons, plus points spread over the area."""
    from_people = 0 if len(xy) == 0 else int(round(size * (1.0 - area_share)))
    chosen = np.zeros((0, 2))
    if from_people:
        weights = persons / persons.sum()
        chosen = xy[rng.choice(len(xy), size=from_people, p=weights)]
    spread = uniform_inside(rng, parent, size - from_people)
    return np.concatenate([chosen, spread])


def _distinct_seeds(
    rng: np.random.Generator, centroids: np.ndarray, candidates: np.ndarray
) -> np.ndarray:
    """Snap each centroid to a distinct candidate point, nearest first."""
    count = len(centroids)
    tree = cKDTree(candidates)
    _, nearest = tree.query(centroids, k=min(16, len(candidates)))
    nearest = np.asarray(nearest).reshape(count, -1)
    used = np.zeros(len(candidates), dtype=bool)
    seeds = np.empty(count, dtype=np.int64)
    for i in range(count):
        free = nearest[i][~used[nearest[i]]]
        pick = free[0] if len(free) else rng.choice(np.flatnonzero(~used))
        used[pick] = True
        seeds[i] = pick
    return candidates[seeds]


def choose_seeds(
    rng: np.random.Generator,
    parent: BaseGeometry,
    xy: np.ndarray,
    persons: np.ndarray,
    count: int,
    area_share: float,
) -> np.ndarray:
    """Pick ``count`` distinct seed points strictly inside ``parent``.

    Parameters
    ----------
    rng
        Random generator.
    parent
        The polygon to cut (UTM).
    xy, persons
        Residents inside the parent and their weights.
    count
        How many seeds.
    area_share
        Share of the clustered sample spread evenly over the area rather than drawn from
        residents: higher values give empty land more cells.

    Returns
    -------
    numpy.ndarray
        Seed coordinates, shape (count, 2).
    """
    if count == 0:
        return np.zeros((0, 2))
    size = int(np.clip(count * _SAMPLE_PER_SEED, _MIN_SAMPLE, _MAX_SAMPLE))
    sample = _sample(rng, parent, xy, persons, size, area_share)
    shapely.prepare(parent)
    # Seeds sit on residents where there are enough, so that every child has some.
    candidates = np.unique(xy[shapely.contains_xy(parent, xy[:, 0], xy[:, 1])], axis=0)
    if len(candidates) < count:
        extra = uniform_inside(rng, parent, count * 2)
        candidates = np.unique(np.concatenate([candidates, extra]), axis=0)
        sample = np.concatenate([sample, extra])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        centroids, _ = kmeans2(sample, count, iter=_KMEANS_ITERATIONS, minit="++", rng=rng)
    return _distinct_seeds(rng, centroids, candidates)


def distinct_rows(rng: np.random.Generator, seeds: np.ndarray) -> np.ndarray:
    """``seeds`` with repeated points nudged by up to a metre until all are distinct."""
    seeds = np.array(seeds, dtype=float)
    while len(np.unique(seeds, axis=0)) < len(seeds):
        _, first = np.unique(seeds, axis=0, return_index=True)
        repeated = np.setdiff1d(np.arange(len(seeds)), first)
        seeds[repeated] += rng.uniform(-1.0, 1.0, (len(repeated), 2))
    return seeds


def voronoi_cells(parent: BaseGeometry, seeds: np.ndarray) -> list[MultiPolygon]:
    """Clip the Voronoi cells of ``seeds`` to ``parent``; returned in seed order."""
    if len(seeds) == 1:
        return [as_multipolygon(parent)]
    diagram = shapely.voronoi_polygons(
        shapely.multipoints(seeds), extend_to=parent.envelope, ordered=True
    )
    cells = shapely.get_parts(diagram)
    if len(cells) != len(seeds):
        raise RuntimeError(f"Voronoi diagram gave {len(cells)} cells for {len(seeds)} seeds")
    return [as_multipolygon(piece) for piece in shapely.intersection(cells, parent)]


def whole_cells(cells: list[MultiPolygon], seeds: np.ndarray) -> list[MultiPolygon]:
    """Make each cell one piece, so that no unit is scattered over two places.

    A part cut off from its seed by the parent's shape (a bend of the outline between the
    seed and the part) goes to the neighbour it shares the longest edge with.
    """
    homes: list[BaseGeometry] = []
    crumbs: list[BaseGeometry] = []
    for cell, seed in zip(cells, seeds, strict=True):
        parts = shapely.get_parts(cell)
        home = int(np.argmin(shapely.distance(parts, shapely.Point(seed))))
        homes.append(parts[home])
        crumbs.extend(part for index, part in enumerate(parts) if index != home)
    return [as_multipolygon(cell) for cell in attach_crumbs(homes, np.array(crumbs, dtype=object))]


def split_parent(parent: BaseGeometry, seeds: np.ndarray, xy: np.ndarray) -> Split:
    """Cut ``parent`` into the Voronoi cells of ``seeds``, numbered in reading order.

    Parameters
    ----------
    parent
        The polygon to cut (UTM).
    seeds
        Distinct seed points strictly inside ``parent``, one per child.
    xy
        Resident points inside the parent, to label with their child.

    Returns
    -------
    Split
        The children and, for each point, which child holds it.
    """
    count = len(seeds)
    cells = whole_cells(voronoi_cells(parent, seeds), seeds)
    empty = [i for i, cell in enumerate(cells) if cell.is_empty]
    if empty:
        raise RuntimeError(f"seeds {empty} gave empty cells")
    centroids = shapely.get_coordinates(shapely.centroid(np.array(cells, dtype=object)))
    row_height = max(1.0, float(np.sqrt(parent.area / count)))
    order = reading_order(centroids[:, 0], centroids[:, 1], row_height)
    seeds = seeds[order]
    children = [cells[i] for i in order]
    labels = np.zeros(len(xy), dtype=np.int64)
    if len(xy) and count > 1:
        # A point belongs to the child holding it (a crumb moved to a neighbour takes its own).
        labels = containing_index(
            np.array(children, dtype=object), shapely.points(xy), nearest=True
        )
    return Split(children=children, labels=labels)
