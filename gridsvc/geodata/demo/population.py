"""Where the demo city's residents live: weighted points in UTM 49N.

Each point is a building or a homestead with 1 to 60 persons. About three
quarters of the residents live in dense gaussian blobs around Dongsheng,
Kangbashi and the banner seats; the rest live in small villages scattered
over each district. Per-district totals follow the 2020 census split.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gridsvc.geodata.demo.geography import DISTRICTS, URBAN_CENTRES, UrbanCentre, to_utm

CITY_POPULATION = 2_200_000
# Points stay this far inside their district, so that reprojection never pushes one out.
_INSIDE_MARGIN_M = 5.0
_RESIDENTS_PER_VILLAGE = 250
_VILLAGE_SIGMA_M = 400.0


@dataclass
class Population:
    """Residents as weighted points (UTM 49N), in district order.

    Attributes
    ----------
    xy
        Coordinates, shape (n, 2), metres.
    persons
        Residents per point, all >= 1.
    urban
        True for points of a town's dense core.
    district
        Index into :data:`~gridsvc.geodata.demo.geography.DISTRICTS`.
    """

    xy: np.ndarray
    persons: np.ndarray
    urban: np.ndarray
    district: np.ndarray


def apportion(weights: np.ndarray, total: int, minimum: int = 0) -> np.ndarray:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder).

    Parameters
    ----------
    weights
        Non-negative weights, one per recipient.
    total
        The integer total to hand out.
    minimum
        Every recipient gets at least this many.

    Returns
    -------
    numpy.ndarray
        Integer shares summing exactly to ``total``; ties go to the earlier recipient.
    """
    weights = np.asarray(weights, dtype=float)
    count = len(weights)
    spare = total - minimum * count
    if spare < 0:
        raise ValueError(f"cannot give {count} recipients at least {minimum} each out of {total}")
    if weights.sum() <= 0:
        weights = np.ones(count)
    quotas = weights / weights.sum() * spare
    shares = np.floor(quotas).astype(np.int64)
    remainder = quotas - shares
    left = spare - int(shares.sum())
    order = np.argsort(-remainder, kind="stable")
    shares[order[:left]] += 1
    return shares + minimum


def district_populations(total: int) -> np.ndarray:
    """Residents per district: ``total`` split by the 2020 census shares."""
    census = np.array([d.census_population for d in DISTRICTS], dtype=float)
    return apportion(census, total)


def _draw_persons(
    rng: np.random.Generator, total: int, draw: Callable[[int], np.ndarray]
) -> np.ndarray:
    """Persons per point, drawn with ``draw`` until they add up to exactly ``total``."""
    if total <= 0:
        return np.zeros(0, dtype=np.int64)
    values = draw(max(16, total // 4))
    while values.sum() < total:
        values = np.concatenate([values, draw(max(16, total // 4))])
    cumulative = np.cumsum(values)
    last = int(np.searchsorted(cumulative, total))
    values = values[: last + 1].copy()
    values[last] -= int(cumulative[last]) - total
    return values


def _sample_inside(
    region: BaseGeometry,
    count: int,
    draw_xy: Callable[[int], np.ndarray],
    acceptance: float = 0.7,
) -> np.ndarray:
    """Draw ``count`` points with ``draw_xy``, rejecting those outside ``region``.

    ``acceptance`` is the expected share of draws that land inside; batches are sized by it.
    """
    shapely.prepare(region)
    kept: list[np.ndarray] = [np.zeros((0, 2))]
    found = 0
    while found < count:
        batch = draw_xy(max(64, int((count - found) * 1.2 / max(acceptance, 1e-3))))
        batch = batch[shapely.contains_xy(region, batch[:, 0], batch[:, 1])]
        kept.append(batch)
        found += len(batch)
    return np.concatenate(kept)[:count]


def uniform_inside(rng: np.random.Generator, region: BaseGeometry, count: int) -> np.ndarray:
    """``count`` points spread uniformly over ``region``."""
    xmin, ymin, xmax, ymax = region.bounds

    def draw(n: int) -> np.ndarray:
        return np.column_stack([rng.uniform(xmin, xmax, n), rng.uniform(ymin, ymax, n)])

    acceptance = region.area / max((xmax - xmin) * (ymax - ymin), 1e-9)
    return _sample_inside(region, count, draw, acceptance)


def _urban_points(
    rng: np.random.Generator, region: BaseGeometry, centres: tuple[UrbanCentre, ...], count: int
) -> np.ndarray:
    """Points from a gaussian mixture around the town's centres."""
    cx, cy = to_utm([c.lon for c in centres], [c.lat for c in centres])
    weights = np.array([c.weight for c in centres])
    sigmas = np.array([(c.sigma_x_m, c.sigma_y_m) for c in centres])

    def draw(n: int) -> np.ndarray:
        which = rng.choice(len(centres), size=n, p=weights / weights.sum())
        offsets = rng.standard_normal((n, 2)) * sigmas[which]
        return np.column_stack([cx[which], cy[which]]) + offsets

    return _sample_inside(region, count, draw)


def _rural_points(
    rng: np.random.Generator, region: BaseGeometry, residents: int, count: int
) -> np.ndarray:
    """Points clustered in villages spread over the district."""
    villages = uniform_inside(rng, region, max(3, residents // _RESIDENTS_PER_VILLAGE))
    sizes = rng.lognormal(0.0, 0.6, len(villages))

    def draw(n: int) -> np.ndarray:
        which = rng.choice(len(villages), size=n, p=sizes / sizes.sum())
        return villages[which] + rng.standard_normal((n, 2)) * _VILLAGE_SIGMA_M

    return _sample_inside(region, count, draw)


def build_population(
    rng: np.random.Generator, districts: list[BaseGeometry], total: int
) -> Population:
    """Residents of every district as weighted points.

    Parameters
    ----------
    rng
        The random generator of this stage.
    districts
        District polygons in UTM 49N, in the order of ``DISTRICTS``.
    total
        Residents of the whole city.

    Returns
    -------
    Population
        The points, district by district, urban before rural.
    """

    def urban_persons(n: int) -> np.ndarray:
        return np.clip(np.rint(rng.lognormal(np.log(10.0), 0.7, n)), 1, 60).astype(np.int64)

    def rural_persons(n: int) -> np.ndarray:
        return np.clip(np.rint(rng.lognormal(np.log(3.5), 0.6, n)), 1, 20).astype(np.int64)

    parts: list[tuple[np.ndarray, np.ndarray, bool, int]] = []
    for index, (facts, residents) in enumerate(
        zip(DISTRICTS, district_populations(total), strict=True)
    ):
        region = districts[index].buffer(-_INSIDE_MARGIN_M)
        urban_total = int(round(residents * facts.urban_share))
        persons = _draw_persons(rng, urban_total, urban_persons)
        xy = _urban_points(rng, region, URBAN_CENTRES[facts.code], len(persons))
        parts.append((xy, persons, True, index))
        persons = _draw_persons(rng, int(residents) - urban_total, rural_persons)
        xy = _rural_points(rng, region, int(residents) - urban_total, len(persons))
        parts.append((xy, persons, False, index))
    return Population(
        xy=np.concatenate([p[0] for p in parts]),
        persons=np.concatenate([p[1] for p in parts]),
        urban=np.concatenate([np.full(len(p[1]), p[2]) for p in parts]),
        district=np.concatenate([np.full(len(p[1]), p[3], dtype=np.int64) for p in parts]),
    )
