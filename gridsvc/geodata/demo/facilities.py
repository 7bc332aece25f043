"""Facility types and demo facilities placed where people live.

Street-level practice institutes and community-level practice stations sit at
the most populated place of their street or community; every other facility is
a resident point drawn by persons, moved by a few tens of metres but kept in
the grid of that point.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from gridsvc.geodata.demo import facility_names


@dataclass(frozen=True)
class FacilityType:
    """A kind of facility, with its count in the full-size demo city."""

    code: str
    name: str
    name_en: str
    level: str
    demo_count: int
    capacity: tuple[int, int]


FACILITY_TYPES: tuple[FacilityType, ...] = (
    FacilityType(
        "practice_institute",
        "新时代文明实践所",
        "New Era civilization practice institute",
        "street",
        78,
        (300, 1200),
    ),
    FacilityType(
        "practice_station",
        "新时代文明实践站",
        "New Era civilization practice station",
        "community",
        981,
        (50, 400),
    ),
    FacilityType(
        "practice_point",
        "新时代文明实践点",
        "New Era civilization practice point",
        "grid",
        213,
        (20, 120),
    ),
    FacilityType(
        "volunteer_station", "志愿服务站", "Volunteer service station", "community", 390, (20, 150)
    ),
    FacilityType(
        "role_model_site",
        "道德模范/身边好人示范点",
        "Moral model / good people demonstration site",
        "grid",
        1288,
        (10, 80),
    ),
    FacilityType("park_square", "公园广场", "Park or square", "city", 420, (500, 20000)),
    FacilityType("culture_venue", "文化场馆", "Culture venue", "city", 160, (200, 2000)),
    FacilityType("library", "图书馆", "Library", "city", 70, (50, 1500)),
    FacilityType(
        "shop_market", "商店超市与市场", "Shop, supermarket or market", "grid", 3200, (30, 3000)
    ),
    FacilityType(
        "clinic",
        "卫生服务站/诊所",
        "Community health station or clinic",
        "community",
        750,
        (10, 200),
    ),
    FacilityType(
        "school", "中小学校", "Primary or secondary school", "community", 520, (200, 3000)
    ),
)

FULL_SIZE_GRIDS = 6702
_JITTER_M = 30.0
_DENSE_CELL_M = 250.0


def facility_types_frame() -> pd.DataFrame:
    """Return the facility types as a table: code, name, name_en, level."""
    return pd.DataFrame(
        {
            "code": [t.code for t in FACILITY_TYPES],
            "name": [t.name for t in FACILITY_TYPES],
            "name_en": [t.name_en for t in FACILITY_TYPES],
            "level": [t.level for t in FACILITY_TYPES],
        }
    )


def facility_counts(grids: int, streets: int, communities: int) -> dict[str, int]:
    """How many facilities of each type a city of ``grids`` grids gets.

    One practice institute per street and one practice station per community; the
    other counts are the full-size counts scaled by ``grids / 6702``, at least one each.
    """
    scale = grids / FULL_SIZE_GRIDS
    counts = {t.code: max(1, int(round(t.demo_count * scale))) for t in FACILITY_TYPES}
    counts["practice_institute"] = streets
    counts["practice_station"] = communities
    return counts


@dataclass
class Placement:
    """Where people live and how the city is cut, for placing facilities (UTM 49N).

    Attributes
    ----------
    xy, persons
        Resident points and their weights.
    grid_of_point
        Index of the grid holding each point.
    grid_geometries
        Grid polygons.
    grid_community, community_street, street_district
        Parent indices, level by level.
    """

    xy: np.ndarray
    persons: np.ndarray
    grid_of_point: np.ndarray
    grid_geometries: np.ndarray
    grid_community: np.ndarray
    community_street: np.ndarray
    street_district: np.ndarray


def densest_points(
    xy: np.ndarray, persons: np.ndarray, groups: np.ndarray, count: int
) -> np.ndarray:
    """Per group, the heaviest resident point of its most populated 250 m cell (-1 if none)."""
    cells = np.floor(xy / _DENSE_CELL_M).astype(np.int64)
    keys = pd.DataFrame({"group": groups, "cx": cells[:, 0], "cy": cells[:, 1], "p": persons})
    cell_sum = keys.groupby(["group", "cx", "cy"], sort=True)["p"].transform("sum")
    # Sort by group, then densest cell, then heaviest point, then index: first row per group wins.
    order = np.lexsort((np.arange(len(xy)), -persons, -cell_sum.to_numpy(), groups))
    first = np.ones(len(order), dtype=bool)
    first[1:] = groups[order][1:] != groups[order][:-1]
    result = np.full(count, -1, dtype=np.int64)
    result[groups[order][first]] = order[first]
    return result


def weighted_sample(rng: np.random.Generator, persons: np.ndarray, count: int) -> np.ndarray:
    """``count`` distinct point indices drawn with probability proportional to persons."""
    count = min(count, len(persons))
    keys = np.log(rng.random(len(persons))) / persons
    chosen = np.argpartition(-keys, count - 1)[:count] if count else np.zeros(0, dtype=np.int64)
    return np.sort(chosen)


def jitter_inside(rng: np.random.Generator, xy: np.ndarray, containers: np.ndarray) -> np.ndarray:
    """Move points by a few tens of metres, unless that takes them out of their container."""
    moved = xy + rng.normal(0.0, _JITTER_M, xy.shape)
    inside = shapely.contains_xy(containers, moved[:, 0], moved[:, 1])
    return np.where(inside[:, None], moved, xy)


def _anchor_points(
    placement: Placement, groups: np.ndarray, count: int, fallback: np.ndarray
) -> np.ndarray:
    """One point per group at its densest place; a group without residents uses ``fallback``."""
    best = densest_points(placement.xy, placement.persons, groups, count)
    xy = np.empty((count, 2))
    has = best >= 0
    xy[has] = placement.xy[best[has]]
    xy[~has] = shapely.get_coordinates(shapely.point_on_surface(fallback[~has]))
    return xy


def place_facilities(
    rng: np.random.Generator,
    placement: Placement,
    counts: dict[str, int],
    labels: facility_names.Labels,
    street_geometries: np.ndarray,
    community_geometries: np.ndarray,
) -> pd.DataFrame:
    """All demo facilities, type by type in :data:`FACILITY_TYPES` order.

    Returns
    -------
    pandas.DataFrame
        Columns type_code, name, capacity, x, y (UTM 49N metres).
    """
    community_of_point = placement.grid_community[placement.grid_of_point]
    street_of_point = placement.community_street[community_of_point]
    units = {
        "practice_institute": (street_of_point, street_geometries, labels.institute),
        "practice_station": (community_of_point, community_geometries, labels.station),
    }
    frames = []
    for facility_type in FACILITY_TYPES:
        code = facility_type.code
        if code in units:
            xy, grid, names = _one_per_unit(rng, placement, *units[code])
        else:
            chosen = weighted_sample(rng, placement.persons, counts[code])
            grid = placement.grid_of_point[chosen]
            xy = jitter_inside(rng, placement.xy[chosen], placement.grid_geometries[grid])
            names = [labels.facility(code, int(g), rng) for g in grid]
        low, high = facility_type.capacity
        frames.append(
            pd.DataFrame(
                {
                    "type_code": code,
                    "name": names,
                    "capacity": rng.integers(low, high + 1, len(xy)),
                    "x": xy[:, 0],
                    "y": xy[:, 1],
                    "grid": grid,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _one_per_unit(
    rng: np.random.Generator,
    placement: Placement,
    unit_of_point: np.ndarray,
    unit_geometries: np.ndarray,
    name_of: Callable[[int], str],
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Place one facility in each street or community, near its residents: xy, grid, names."""
    units = np.arange(len(unit_geometries))
    xy = _anchor_points(placement, unit_of_point, len(units), unit_geometries)
    xy = jitter_inside(rng, xy, unit_geometries)
    return xy, _nearest_grid(placement, xy), [name_of(unit) for unit in units]


def _nearest_grid(placement: Placement, xy: np.ndarray) -> np.ndarray:
    """Return the grid of the resident point nearest to each of ``xy``."""
    _, nearest = cKDTree(placement.xy).query(xy)
    return placement.grid_of_point[nearest]
