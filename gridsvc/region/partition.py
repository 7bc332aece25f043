"""What one Dask task computes on one partition: pure functions from frames to frames.

Coverage is the coverage domain's own arithmetic (:func:`gridsvc.coverage.analysis.
compute_coverage` on :func:`gridsvc.coverage.inputs.city_inputs`), called per part of a
city (some communities of one district) on the sub-city :func:`gridsvc.coverage.inputs.
part_inputs` cuts out; this module only
turns region layers into its inputs and its tables into result frames. The
point join is :class:`gridsvc.common.cell_index.CellIndex`, the one answer to "which grid
holds each point", built once per city and asked per partition of points.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridsvc.common.cell_index import CellIndex
from gridsvc.common.points import point_xy
from gridsvc.coverage import analysis
from gridsvc.coverage.circles import Circle
from gridsvc.coverage.ground import areal_scales
from gridsvc.coverage.inputs import city_inputs, part_inputs
from gridsvc.region.layout import CityLayers

GRID_COLUMNS = ["code", "community_code", "street_code", "district_code"]


def layers_to_inputs(layers: CityLayers) -> analysis.CityInputs:
    """Return the coverage inputs of a city's layers (all in its metric CRS)."""
    grids = pd.DataFrame(layers.grids[GRID_COLUMNS])
    grids["geometry"] = layers.grids.geometry.to_numpy()
    population = layers.population
    residents = np.column_stack(
        [shapely.get_coordinates(population.geometry.to_numpy()), population["persons"]]
    )
    facilities = layers.facilities
    network = layers.network
    edges = (
        network["source"].to_numpy(np.int64),
        network["target"].to_numpy(np.int64),
        network["length_m"].to_numpy(np.float64),
        network.geometry.to_numpy(),
    )
    inputs = city_inputs(
        grids,
        residents,
        (
            facilities["facility_id"].to_numpy(np.int64),
            facilities["type_code"].to_numpy(object),
            shapely.get_coordinates(facilities.geometry.to_numpy()),
        ),
        edges,
    )
    crs = layers.grids.crs
    inputs.areal_scale = areal_scales(grids["geometry"].to_numpy(), crs and crs.to_string())
    return inputs


def inputs_to_layers(inputs: analysis.CityInputs, crs: str) -> CityLayers:
    """Return a city's layers from its coverage inputs (the inverse of :func:`layers_to_inputs`)."""
    grids = gpd.GeoDataFrame(
        inputs.grids[GRID_COLUMNS].reset_index(drop=True),
        geometry=list(inputs.grids["geometry"]),
        crs=crs,
    )
    population = gpd.GeoDataFrame(
        {"persons": inputs.resident_persons.astype(np.int64)},
        geometry=shapely.points(inputs.resident_xy),
        crs=crs,
    )
    facilities = gpd.GeoDataFrame(
        {"facility_id": inputs.facility_ids, "type_code": inputs.facility_types.astype(str)},
        geometry=shapely.points(inputs.facility_xy),
        crs=crs,
    )
    network = inputs.network
    if network is None:
        edges = {"source": [], "target": [], "length_m": []}
        lines: list = []
    else:
        edges = {
            "source": network.node_ids[network.source],
            "target": network.node_ids[network.target],
            "length_m": network.length,
        }
        lines = list(network.lines)
    return CityLayers(
        grids, population, facilities, gpd.GeoDataFrame(edges, geometry=lines, crs=crs)
    )


def city_coverage(
    inputs: analysis.CityInputs, circles: list[Circle], buffer_m: float, crs: str
) -> gpd.GeoDataFrame:
    """Coverage of every grid for every circle in both modes, the gap as geometry.

    The same calls, in the same order, as the single-process refresh
    (:func:`gridsvc.coverage.refresh.refresh`), so the figures are the same.

    Returns
    -------
    geopandas.GeoDataFrame
        ``grid_code``, parent codes, ``circle``, ``mode``, ``residents``,
        ``covered_residents``, ``area_m2``, ``covered_area_m2``, ``coverage`` (by residents,
        by area where none live) and the gap (None where covered whole), metric CRS.
    """
    tables = []
    for circle in circles:
        rows = inputs.facilities_of(circle.facility_types)
        for mode in analysis.MODES:
            table = analysis.compute_coverage(inputs, rows, mode, circle.threshold_m, buffer_m)
            tables.append(table.assign(circle=circle.code, mode=mode))
    if not tables:
        return gpd.GeoDataFrame({"grid_code": []}, geometry=[], crs=crs)
    result = pd.concat(tables, ignore_index=True).rename(columns={"code": "grid_code"})
    result["coverage"] = analysis.shares(
        result["residents"].to_numpy(),
        result["covered_residents"].to_numpy(),
        result["area_m2"].to_numpy(),
        result["covered_area_m2"].to_numpy(),
        "population",
    )
    gap = result.pop("gap").to_numpy()
    gap = np.where(shapely.is_empty(gap), None, gap)
    return gpd.GeoDataFrame(result, geometry=list(gap), crs=crs)


def part_coverage(
    inputs: analysis.CityInputs,
    communities: tuple[str, ...],
    circles: list[Circle],
    buffer_m: float,
    crs: str,
) -> gpd.GeoDataFrame:
    """:func:`city_coverage` of the grids of ``communities``, on the sub-city deciding them."""
    limit = max((circle.threshold_m for circle in circles), default=0.0)
    codes = inputs.grids["community_code"].to_numpy()
    rows = np.flatnonzero(np.isin(codes, list(communities)))
    return city_coverage(part_inputs(inputs, rows, limit, buffer_m), circles, buffer_m, crs)


@dataclass(frozen=True)
class Part:
    """What one coverage task computes: whole communities of one district."""

    district: str
    communities: tuple[str, ...]
    grids: int


def city_parts(grids: pd.DataFrame, most: int) -> list[Part]:
    """Cut a city's districts into parts of about ``most`` grids at most, largest first.

    ``grids`` holds each grid's ``district_code`` and ``community_code``. A district of more
    than ``most`` grids is cut into runs of whole communities (in code order, so a street's
    stay together) of about equal size, as many as keep a run near ``most``: each cut is at
    the community boundary nearest to its share, so a run is off its share by less than
    one community.
    Small tasks let two workers share one city.
    """
    counts = grids.groupby(["district_code", "community_code"], sort=True).size()
    parts = []
    for district, communities in counts.groupby(level=0, sort=True):
        names = communities.index.get_level_values("community_code").astype(str).to_numpy()
        ends = np.cumsum(communities.to_numpy())
        runs = -(-int(ends[-1]) // most)
        # Cut at the community boundary nearest to each k/runs share of the district.
        shares = np.arange(1, runs) * ends[-1] / runs
        after = np.searchsorted(ends, shares)  # the first community whose end reaches it
        before_end = np.where(after > 0, ends[np.maximum(after - 1, 0)], 0)
        nearer = np.abs(ends[after] - shares) <= np.abs(shares - before_end)
        cuts = np.unique(np.where(nearer, after + 1, after))
        cuts = cuts[(cuts > 0) & (cuts < len(names))]
        sizes = np.diff(np.concatenate([[0], ends[cuts - 1], [ends[-1]]]))
        for run, size in zip(np.split(names, cuts), sizes, strict=True):
            parts.append(Part(str(district), tuple(run.tolist()), int(size)))
    return sorted(parts, key=lambda part: (-part.grids, part.district, part.communities))


def in_city_order(parts: list[gpd.GeoDataFrame], circles: list[Circle]) -> gpd.GeoDataFrame:
    """Join parts' results in :func:`city_coverage`'s order: circle, mode, grid code."""
    frames = [part for part in parts if len(part)]
    if not frames:
        return parts[0] if parts else gpd.GeoDataFrame({"grid_code": []}, geometry=[])
    result = pd.concat(frames, ignore_index=True)
    circle_rank = {circle.code: rank for rank, circle in enumerate(circles)}
    mode_rank = {mode: rank for rank, mode in enumerate(analysis.MODES)}
    order = np.lexsort(
        (
            result["grid_code"].to_numpy(dtype=str),
            result["mode"].map(mode_rank).to_numpy(),
            result["circle"].map(circle_rank).to_numpy(),
        )
    )
    return result.iloc[order].reset_index(drop=True)


@dataclass
class CityGrids:
    """A city's grid codes in code order (EPSG:4326) and the cell index of their polygons."""

    city: str
    codes: np.ndarray
    districts: np.ndarray
    index: CellIndex


def city_grids(city: str, grids: gpd.GeoDataFrame) -> CityGrids:
    """Index a city's grids (``code``, ``district_code``, geometry in EPSG:4326)."""
    ordered = grids.sort_values("code", ignore_index=True)
    return CityGrids(
        city,
        ordered["code"].to_numpy(dtype=object),
        ordered["district_code"].to_numpy(dtype=object),
        CellIndex.build(ordered.geometry.to_numpy()),
    )


def locate_points(points: gpd.GeoDataFrame, cities: list[CityGrids]) -> pd.DataFrame:
    """Return ``point_id``, ``city``, ``grid_code``, ``district_code`` of each point in a grid.

    A point on an edge shared by grids goes to the lowest code, and where cities meet to
    the lowest city: the rule of :func:`gridsvc.common.points.containing_index`.
    """
    xy = point_xy(points.geometry.to_numpy())
    city_of = np.full(len(xy), -1, dtype=np.int64)
    grid_of = np.full(len(xy), -1, dtype=np.int64)
    ordered = sorted(cities, key=lambda city: city.city)
    for number, city in enumerate(ordered):
        waiting = np.flatnonzero(city_of < 0)
        found = city.index.locate(xy[waiting, 0], xy[waiting, 1])
        hit = found >= 0
        city_of[waiting[hit]], grid_of[waiting[hit]] = number, found[hit]
    inside = np.flatnonzero(city_of >= 0)
    names = np.array([city.city for city in ordered] or [""], dtype=object)
    codes = [city.codes for city in ordered]
    districts = [city.districts for city in ordered]
    first = np.cumsum([0] + [len(c) for c in codes])
    at = first[city_of[inside]] + grid_of[inside]
    every_code = np.concatenate(codes or [np.zeros(0, dtype=object)])
    every_district = np.concatenate(districts or [np.zeros(0, dtype=object)])
    return pd.DataFrame(
        {
            "point_id": points["point_id"].to_numpy(np.int64)[inside],
            "city": pd.Series(names[city_of[inside]], dtype=str),
            "grid_code": pd.Series(every_code[at], dtype=str),
            "district_code": pd.Series(every_district[at], dtype=str),
        }
    )


def sample_points(
    population: gpd.GeoDataFrame, count: int, seed: int, jitter_m: float = 30.0
) -> gpd.GeoDataFrame:
    """Draw ``count`` points where residents live (weighted by persons), moved up to ``jitter_m``.

    Hotline reports come from where people are; the jitter sends a few outside every grid.
    Returned in the population's CRS.
    """
    rng = np.random.default_rng(seed)
    persons = population["persons"].to_numpy(np.float64)
    if count == 0 or persons.sum() <= 0:
        return gpd.GeoDataFrame(geometry=[], crs=population.crs)
    rows = rng.choice(len(persons), size=count, p=persons / persons.sum())
    xy = shapely.get_coordinates(population.geometry.to_numpy())[rows]
    xy = xy + rng.uniform(-jitter_m, jitter_m, size=xy.shape)
    return gpd.GeoDataFrame(geometry=shapely.points(xy), crs=population.crs)
