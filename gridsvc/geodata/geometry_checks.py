"""Geometry checks of an import: present, of the layer's type, valid, in range, in the city.

Pure, vectorised over the whole file; only the rows found wrong are visited one by one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gridsvc.common.extent import grown
from gridsvc.geodata.layers import Layer
from gridsvc.geodata.problems import Problem


@dataclass(frozen=True)
class Placement:
    """Where an import's features must lie.

    Attributes
    ----------
    extent
        The city's extent (west, south, east, north) in degrees.
    margin_km
        How far outside ``extent`` a feature may lie before it is reported.
    name
        How messages name the extent (``GRIDSVC_CITY_BBOX``, the current districts').
    whole_inside
        Whether a feature must lie wholly inside the grown extent (districts, which define
        the city) or only reach into it (the layers below, checked against the districts).
    """

    extent: tuple[float, float, float, float]
    margin_km: float = 50.0
    name: str = "the city's extent"
    whole_inside: bool = False


def rows_of(mask: np.ndarray) -> Iterable[int]:
    """Return 1-based row numbers where ``mask`` holds."""
    return (int(index) + 1 for index in np.flatnonzero(mask))


def boxes_meet(bounds: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Which rows of ``bounds`` (minx, miny, maxx, maxy) meet ``box``."""
    return (
        (bounds[:, 0] <= box[2])
        & (bounds[:, 2] >= box[0])
        & (bounds[:, 1] <= box[3])
        & (bounds[:, 3] >= box[1])
    )


def boxes_within(bounds: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Which rows of ``bounds`` (minx, miny, maxx, maxy) lie wholly inside ``box``."""
    return (
        (bounds[:, 0] >= box[0])
        & (bounds[:, 2] <= box[2])
        & (bounds[:, 1] >= box[1])
        & (bounds[:, 3] <= box[3])
    )


def degrees(value: float) -> str:
    """Write a coordinate for a message: six decimals, or three digits when absurdly large."""
    return f"{value:.6f}" if abs(value) < 1e4 else f"{value:.3g}"


def far_outside(bounds: np.ndarray, placement: Placement, meets: bool) -> str:
    """Say where a feature found outside the city lies."""
    west, south, east, north = bounds
    if meets:  # reaches into the city, but not wholly inside: name its farthest corner
        where = f"it reaches lon {degrees(west)} to {degrees(east)}, lat {degrees(south)} to "
        where += f"{degrees(north)}, which is"
    else:
        where = f"lon {degrees(west)}, lat {degrees(south)} is"
    box = ", ".join(f"{v:g}" for v in placement.extent)
    return (
        f"far outside the city: {where} more than {placement.margin_km:g} km from "
        f"{placement.name} {box}"
    )


def check_placement(geometry: np.ndarray, placement: Placement, problems: list[Problem]) -> None:
    """Coordinates in range, inside the city's extent, and not lat/lon swapped."""
    present = ~shapely.is_missing(geometry) & ~shapely.is_empty(geometry)
    bounds = shapely.bounds(np.where(present, geometry, None))
    finite = np.isfinite(bounds).all(axis=1)
    in_range = (np.abs(bounds[:, [0, 2]]) <= 180).all(axis=1) & (
        np.abs(bounds[:, [1, 3]]) <= 90
    ).all(axis=1)
    area = np.array(grown(placement.extent, placement.margin_km))
    meets = boxes_meet(bounds, area)
    inside = boxes_within(bounds, area) if placement.whole_inside else meets
    swapped_inside = boxes_meet(bounds[:, [1, 0, 3, 2]], area)
    for row in rows_of(present & ~finite):
        problems.append(Problem(row, "geometry", "coordinates are not finite numbers"))
    for row in rows_of(present & finite & ~(inside & in_range)):
        west, south, _, _ = bounds[row - 1]
        where = f"lon {degrees(west)}, lat {degrees(south)}"
        if swapped_inside[row - 1] and not meets[row - 1]:
            message = f"latitude and longitude look swapped: {where} lies in the city as lat/lon"
        elif not in_range[row - 1]:
            message = f"coordinates out of range: {where} (lon in [-180, 180], lat in [-90, 90])"
        else:
            message = far_outside(bounds[row - 1], placement, bool(meets[row - 1]))
        problems.append(Problem(row, "geometry", message))


def polygonal(geometry: BaseGeometry) -> BaseGeometry | None:
    """Collect the polygons of ``geometry`` into one MultiPolygon, or None if it has none."""
    parts = [
        part
        for part in shapely.get_parts(shapely.get_parts(geometry))
        if part.geom_type in ("Polygon", "MultiPolygon") and not part.is_empty
    ]
    polygons = [p for part in parts for p in getattr(part, "geoms", [part])]
    return shapely.MultiPolygon(polygons) if polygons else None


def check_polygons(geometry: np.ndarray, repair: bool, problems: list[Problem]) -> np.ndarray:
    """Polygons or MultiPolygons, valid (or repaired with make_valid); as MultiPolygons."""
    kinds = shapely.get_type_id(geometry)
    right_kind = np.isin(kinds, [3, 6])
    for row in rows_of(~right_kind & (kinds >= 0)):
        kind = geometry[row - 1].geom_type
        problems.append(Problem(row, "geometry", f"expected a Polygon or MultiPolygon, got {kind}"))
    result = np.where(right_kind, geometry, None)
    invalid = right_kind & ~shapely.is_valid(result)
    for row in rows_of(invalid):
        shape = result[row - 1]
        reason = shapely.is_valid_reason(shape)
        if not repair:
            message = f"invalid geometry: {reason}; --repair fixes it with make_valid"
            problems.append(Problem(row, "geometry", message))
            continue
        fixed = polygonal(shapely.make_valid(shape))
        if fixed is None:
            problems.append(Problem(row, "geometry", f"invalid geometry ({reason}), unrepairable"))
        else:
            result[row - 1] = fixed
            problems.append(
                Problem(row, "geometry", f"repaired with make_valid: {reason}", repaired=True)
            )
    single = shapely.get_type_id(result) == 3
    if single.any():
        polygons = result[single]
        result[single] = shapely.multipolygons(polygons, indices=np.arange(len(polygons)))
    return result


def check_points(geometry: np.ndarray, problems: list[Problem]) -> np.ndarray:
    """Points (a MultiPoint of one point is taken as that point)."""
    kinds = shapely.get_type_id(geometry)
    result = geometry.copy()
    multi = kinds == 4
    single_parts = multi & (shapely.get_num_geometries(geometry) == 1)
    result[single_parts] = shapely.get_geometry(geometry[single_parts], 0)
    for row in rows_of((kinds >= 0) & (kinds != 0) & ~single_parts):
        kind = geometry[row - 1].geom_type
        problems.append(Problem(row, "geometry", f"expected a Point, got {kind}"))
    return result


def check_geometry(
    geometry: np.ndarray,
    layer: Layer,
    placement: Placement,
    repair: bool,
    problems: list[Problem],
) -> np.ndarray:
    """Present, of the layer's type, valid, in range and inside the city."""
    missing = shapely.is_missing(geometry) | shapely.is_empty(geometry)
    for row in rows_of(missing):
        problems.append(Problem(row, "geometry", "empty or missing geometry"))
    check_placement(geometry, placement, problems)
    if layer.geometry == "polygon":
        return check_polygons(geometry, repair, problems)
    return check_points(geometry, problems)
