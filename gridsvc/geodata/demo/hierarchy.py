"""Streets, communities and grids: each level tessellates the one above it.

Each level is cut with :func:`~gridsvc.geodata.demo.tessellate.split_parent`;
children are numbered in reading order inside their parent, which gives the
codes (district 6 + street 3 + community 3 + grid 3 digits).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry

from gridsvc.geodata.demo import names
from gridsvc.geodata.demo.geography import DISTRICTS, to_utm
from gridsvc.geodata.demo.population import Population, apportion
from gridsvc.geodata.demo.tessellate import choose_seeds, distinct_rows, split_parent

# How much of the seed sample is spread over empty land instead of drawn from residents.
_STREET_AREA_SHARE = 0.3
_COMMUNITY_AREA_SHARE = 0.1
_GRID_AREA_SHARE_URBAN = 0.03
_GRID_AREA_SHARE_RURAL = 0.15
# Villages are small: rural residents weigh more when communities are handed out and
# less when grids are, so towns get many small grids and the countryside few big ones.
_RURAL_WEIGHT_COMMUNITIES = 3.0
_RURAL_WEIGHT_GRIDS = 0.6
_URBAN_DISTRICTS = frozenset({"150602", "150603"})


@dataclass
class Units:
    """One level of the hierarchy (UTM 49N).

    Attributes
    ----------
    geometries
        One MultiPolygon per unit, grouped by parent, in reading order inside it.
    parent
        Index of each unit's parent in the level above.
    number
        Each unit's number (1..) inside its parent.
    labels
        For each population point, the index of the unit holding it.
    """

    geometries: list[MultiPolygon]
    parent: np.ndarray
    number: np.ndarray
    labels: np.ndarray


SeedChooser = Callable[[int, BaseGeometry, np.ndarray], np.ndarray]


def split_level(
    parents: list[BaseGeometry],
    parent_labels: np.ndarray,
    population: Population,
    choose_seeds_for: SeedChooser,
) -> Units:
    """Cut every parent into the Voronoi cells of the seeds chosen for it.

    Parameters
    ----------
    parents
        Parent polygons (UTM).
    parent_labels
        For each population point, the index of its parent.
    population
        The residents.
    choose_seeds_for
        Called as ``choose_seeds_for(index, parent, members)`` with the indices of the
        population points inside the parent; returns the seeds, one per child.

    Returns
    -------
    Units
        The children.
    """
    order = np.argsort(parent_labels, kind="stable")
    bounds = np.searchsorted(parent_labels[order], np.arange(len(parents) + 1))
    labels = np.zeros(len(parent_labels), dtype=np.int64)
    geometries: list[MultiPolygon] = []
    parent_index: list[int] = []
    number: list[int] = []
    for index, parent in enumerate(parents):
        members = order[bounds[index] : bounds[index + 1]]
        seeds = choose_seeds_for(index, parent, members)
        split = split_parent(parent, seeds, population.xy[members])
        labels[members] = len(geometries) + split.labels
        parent_index.extend([index] * len(split.children))
        number.extend(range(1, len(split.children) + 1))
        geometries.extend(split.children)
    return Units(
        geometries=geometries,
        parent=np.asarray(parent_index, dtype=np.int64),
        number=np.asarray(number, dtype=np.int64),
        labels=labels,
    )


def weighted_persons(
    population: Population, labels: np.ndarray, count: int, rural_weight: float
) -> np.ndarray:
    """Residents per unit, rural residents counted ``rural_weight`` times."""
    weights = np.where(population.urban, 1.0, rural_weight) * population.persons
    return np.bincount(labels, weights=weights, minlength=count)


def urban_shares(population: Population, labels: np.ndarray, count: int) -> np.ndarray:
    """Per unit, the share of its residents living in a town's dense core (0 if empty)."""
    total = np.bincount(labels, weights=population.persons, minlength=count)
    urban = np.bincount(labels, weights=population.persons * population.urban, minlength=count)
    return np.divide(urban, total, out=np.zeros(count), where=total > 0)


def street_counts(scale: float) -> np.ndarray:
    """Streets per district: the real counts times ``scale``, at least one each."""
    return np.array([max(1, int(round(d.street_count * scale))) for d in DISTRICTS])


def town_street_counts(counts: np.ndarray) -> np.ndarray:
    """Per district, how many of its streets lie in its town (the rest cover the land)."""
    result = []
    for facts, count in zip(DISTRICTS, counts, strict=True):
        urban, rural = names.STREET_NAMES[facts.code]
        in_town = len(urban) + (1 if facts.code not in _URBAN_DISTRICTS else 0)
        share = in_town / max(1, len(urban) + len(rural))
        result.append(min(int(count), max(1, int(round(count * share)))))
    return np.asarray(result, dtype=np.int64)


def build_streets(
    rng: np.random.Generator, districts: list[MultiPolygon], population: Population, scale: float
) -> Units:
    """Cut the districts into streets (苏木乡镇/街道): some in the town, the rest over the land."""
    counts = street_counts(scale)
    in_town = town_street_counts(counts)

    def choose(index: int, parent: BaseGeometry, members: np.ndarray) -> np.ndarray:
        urban = members[population.urban[members]]
        rural = members[~population.urban[members]]
        town_seeds = choose_seeds(
            rng, parent, population.xy[urban], population.persons[urban], in_town[index], 0.0
        )
        land_seeds = choose_seeds(
            rng,
            parent,
            population.xy[rural],
            population.persons[rural],
            int(counts[index] - in_town[index]),
            _STREET_AREA_SHARE,
        )
        return distinct_rows(rng, np.concatenate([town_seeds, land_seeds]))

    return split_level(districts, population.district, population, choose)


def build_communities(
    rng: np.random.Generator, streets: Units, population: Population, total: int
) -> Units:
    """Cut the streets into ``total`` communities, handed out by (weighted) residents."""
    count = len(streets.geometries)
    minimum = 2 if total >= 2 * count else 1
    weights = weighted_persons(population, streets.labels, count, _RURAL_WEIGHT_COMMUNITIES)
    counts = apportion(weights, total, minimum)

    def choose(index: int, parent: BaseGeometry, members: np.ndarray) -> np.ndarray:
        xy, persons = population.xy[members], population.persons[members]
        return choose_seeds(rng, parent, xy, persons, int(counts[index]), _COMMUNITY_AREA_SHARE)

    return split_level(streets.geometries, streets.labels, population, choose)


def build_grids(
    rng: np.random.Generator,
    communities: Units,
    kinds: list[str],
    population: Population,
    total: int,
) -> Units:
    """Cut the communities into ``total`` grids, at least one each."""
    count = len(communities.geometries)
    weights = weighted_persons(population, communities.labels, count, _RURAL_WEIGHT_GRIDS)
    counts = apportion(weights, total, 1)

    def choose(index: int, parent: BaseGeometry, members: np.ndarray) -> np.ndarray:
        share = _GRID_AREA_SHARE_URBAN if kinds[index] == "urban" else _GRID_AREA_SHARE_RURAL
        xy, persons = population.xy[members], population.persons[members]
        return choose_seeds(rng, parent, xy, persons, int(counts[index]), share)

    return split_level(communities.geometries, communities.labels, population, choose)


def community_kinds(population: Population, communities: Units) -> list[str]:
    """'urban' where most residents live in a town's dense core, else 'rural'."""
    shares = urban_shares(population, communities.labels, len(communities.geometries))
    return ["urban" if share >= 0.5 else "rural" for share in shares]


def name_streets(streets: Units, population: Population) -> list[str]:
    """Street names: the seat's street and the densest ones get the urban names."""
    count = len(streets.geometries)
    persons = np.bincount(streets.labels, weights=population.persons, minlength=count)
    areas = shapely.area(np.array(streets.geometries, dtype=object))
    density = persons / np.maximum(areas, 1.0)
    result = [""] * count
    for index, facts in enumerate(DISTRICTS):
        members = np.flatnonzero(streets.parent == index)
        seat = shapely.points(*to_utm(facts.seat_lon, facts.seat_lat))
        holds_seat = shapely.intersects(np.array(streets.geometries, dtype=object)[members], seat)
        # Seat first, then from the densest to the emptiest.
        order = np.lexsort((-density[members], ~holds_seat))
        ranks = np.empty(len(members), dtype=np.int64)
        ranks[order] = np.arange(len(members))
        for member, name in zip(members, names.street_names(facts.code, ranks), strict=True):
            result[member] = name
    return result


def name_communities(
    rng: np.random.Generator, communities: Units, streets: Units, kinds: list[str]
) -> list[str]:
    """Community names, unique inside each street."""
    result = [""] * len(communities.geometries)
    for street in range(len(streets.geometries)):
        members = np.flatnonzero(communities.parent == street)
        district_code = DISTRICTS[int(streets.parent[street])].code
        member_kinds = [kinds[m] for m in members]
        for member, name in zip(
            members, names.community_names(member_kinds, district_code, rng), strict=True
        ):
            result[member] = name
    return result


def child_codes(parent_codes: list[str], units: Units) -> list[str]:
    """Codes of the units: the parent's code and the unit's 3-digit number."""
    if len(units.number) and int(units.number.max()) > 999:
        raise ValueError("more than 999 children in one parent: codes have only 3 digits")
    return [f"{parent_codes[p]}{n:03d}" for p, n in zip(units.parent, units.number, strict=True)]
