"""What one Dask task computes on one partition: pure functions from frames to frames.

Coverage is the coverage domain's own arithmetic (:func:`gridsvc.coverage.analysis.
compute_coverage` on :func:`gridsvc.coverage.inputs.city_inputs`), called per city; this
module only turns region layers into its inputs and its tables into result frames.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridsvc.coverage import analysis
from gridsvc.coverage.circles import Circle
from gridsvc.coverage.inputs import city_inputs
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
    return city_inputs(
        grids,
        residents,
        (
            facilities["facility_id"].to_numpy(np.int64),
            facilities["type_code"].to_numpy(object),
            shapely.get_coordinates(facilities.geometry.to_numpy()),
        ),
        edges,
    )


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


def first_grid(joined: pd.DataFrame) -> pd.DataFrame:
    """Keep one grid per point: a point on a shared edge goes to the lowest grid code.

    ``joined`` holds ``point_id``, ``city`` and ``grid_code`` (NaN where no grid).
    """
    ordered = joined.sort_values(["point_id", "city", "grid_code"], na_position="last")
    return ordered.drop_duplicates("point_id", keep="first")


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
