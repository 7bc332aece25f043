"""Do grids tessellate their communities? Overlaps, gaps and parts outside, in m².

Pure. The set operations run on the coordinates as stored (lon/lat, straight edges, as
PostGIS sees them): projecting first would bend long edges and open false slivers. The
pieces found are measured in the UTM zone of the grids' extent (:func:`~gridsvc.config.utm_crs`),
never in degrees. Floating point leaves slivers where neighbours meet, so each measure
passes up to a tolerance in m².
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from gridsvc.config import utm_crs
from gridsvc.geodata.problems import Problem


def area_m2(geometries: np.ndarray, crs: object) -> np.ndarray:
    """Areas on the ground, in m², of lon/lat geometries, measured in the metric ``crs``."""
    return gpd.GeoSeries(geometries, crs="EPSG:4326").to_crs(crs).area.to_numpy()


def overlap_problems(
    grids: np.ndarray,
    codes: np.ndarray,
    rows: np.ndarray,
    new_count: int,
    tolerance_m2: float,
    crs: object,
) -> list[Problem]:
    """Pairs of grids (at least one from the file) whose interiors share more than tolerance."""
    tree = shapely.STRtree(grids)
    first, second = tree.query(grids[:new_count], predicate="intersects")
    keep = (first < second) | (second >= new_count)
    first, second = first[keep], second[keep]
    areas = area_m2(shapely.intersection(grids[first], grids[second]), crs)
    problems = []
    for a, b, area in zip(first, second, areas, strict=True):
        if area > tolerance_m2:
            where = f"row {rows[b]}" if b < new_count else "in the database"
            problems.append(
                Problem(
                    int(rows[a]),
                    "geometry",
                    f"grid {codes[a]} overlaps grid {codes[b]} ({where}) by {area:,.1f} m²",
                )
            )
    return problems


def community_problems(
    grids: np.ndarray,
    communities: np.ndarray,
    community_codes: np.ndarray,
    codes: np.ndarray,
    rows: np.ndarray,
    new_count: int,
    tolerance_m2: float,
    crs: object,
) -> list[Problem]:
    """Grids sticking out of their community; communities left with gaps."""
    problems = []
    outside = area_m2(shapely.difference(grids[:new_count], communities[:new_count]), crs)
    for index in np.flatnonzero(outside > tolerance_m2):
        problems.append(
            Problem(
                int(rows[index]),
                "geometry",
                f"grid {codes[index]} crosses the boundary of community "
                f"{community_codes[index]}: {outside[index]:,.1f} m² lie outside it",
            )
        )
    frame = pd.DataFrame({"community": community_codes, "index": np.arange(len(grids))})
    for community, members in frame.groupby("community", sort=True)["index"]:
        members = members.to_numpy()
        if members.min() >= new_count:
            continue  # only kept grids: the import does not touch this community
        outline = communities[members[0]]
        gap = shapely.difference(outline, shapely.union_all(grids[members]))
        pieces = shapely.get_parts(gap)
        areas = area_m2(pieces, crs)
        area = areas.sum()
        if area <= tolerance_m2:
            continue
        point = shapely.point_on_surface(pieces[int(np.argmax(areas))])
        problems.append(
            Problem(
                int(rows[members[members < new_count].min()]),
                "geometry",
                f"community {community} has {area:,.1f} m² covered by no grid; the largest "
                f"gap is near lon {point.x:.6f}, lat {point.y:.6f}",
            )
        )
    return problems


def check_tessellation(
    grids: gpd.GeoDataFrame,
    communities: Mapping[str, BaseGeometry],
    kept: gpd.GeoDataFrame | None,
    tolerance_m2: float,
) -> list[Problem]:
    """Problems of grids that overlap, leave gaps in or cross the boundary of their community.

    Parameters
    ----------
    grids
        The file's grids (WGS-84) with ``code`` and ``community_code``; rows from 1 follow
        the frame's order.
    communities
        Outlines (WGS-84) of the communities the grids name, by code; grids of unknown
        communities are left to the parent check.
    kept
        Current grids that stay beside the file's, with ``code`` and ``community_code``.
    tolerance_m2
        Areas up to this pass.
    """
    known = grids["community_code"].isin(list(communities)).to_numpy()
    if not known.any():
        return []
    new = grids[known]
    rows = np.flatnonzero(known) + 1
    parts = [new[["code", "community_code", "geometry"]]]
    if kept is not None and len(kept):
        parts.append(kept[["code", "community_code", "geometry"]])
    everything = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs="EPSG:4326")
    crs = utm_crs(*everything.total_bounds)
    geometries = everything.geometry.to_numpy()
    community_codes = everything["community_code"].to_numpy()
    outlines = np.array([communities[c] for c in community_codes], dtype=object)
    codes = everything["code"].to_numpy()
    all_rows = np.concatenate([rows, np.zeros(len(everything) - len(new), dtype=int)])
    problems = overlap_problems(geometries, codes, all_rows, len(new), tolerance_m2, crs)
    problems += community_problems(
        geometries,
        outlines,
        community_codes,
        codes,
        all_rows,
        len(new),
        tolerance_m2,
        crs,
    )
    return problems
