"""Synthetic cities for a region: the demo builder with another seed, moved to another place.

City ``i`` is the demo city of seed ``seed + i``, its centre moved on a 4-wide lattice of
steps of 5.5° of longitude and 3.5° of latitude (Ordos spans about 5° × 3.3°), so that 16
cities cover about 106–128°E, 37–52°N, Inner Mongolia's span. The move is made on the
ground: the city in an azimuthal equidistant projection about its own centre is read again
as the same metres about the new centre. Every city so keeps the demo city's size in
metres (a shift in degrees would narrow a city at 50°N by a sixth east–west and crowd its
network, making the northern cities dearer per grid). Each city is then projected to its
own UTM zone; walking lengths are measured anew there.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from gridsvc.config import utm_crs
from gridsvc.geodata.demo.build import DemoCity, build_demo_city
from gridsvc.region.layout import CityLayers

COLUMNS = 4
STEP_LON = 5.5
STEP_LAT = 3.5
WGS84 = 4326


def city_code(index: int) -> str:
    """Return the region code of synthetic city ``index`` (c00, c01, ...)."""
    return f"c{index:02d}"


def city_offset(index: int) -> tuple[float, float]:
    """Degrees of longitude and latitude city ``index`` is moved by."""
    return (index % COLUMNS) * STEP_LON, (index // COLUMNS) * STEP_LAT


def _about(lon: float, lat: float) -> CRS:
    """Return the azimuthal equidistant projection about a place (metres from its centre)."""
    return CRS.from_proj4(f"+proj=aeqd +lat_0={lat} +lon_0={lon} +datum=WGS84 +units=m")


def _moved(
    frame: gpd.GeoDataFrame, centre: tuple[float, float], offset: tuple[float, float]
) -> gpd.GeoDataFrame:
    """Move ``frame`` (EPSG:4326) on the ground by ``offset`` degrees of its ``centre``."""
    if offset == (0.0, 0.0):
        return frame.copy()
    there = (centre[0] + offset[0], centre[1] + offset[1])
    metres = frame.to_crs(_about(*centre))
    return metres.set_crs(_about(*there), allow_override=True).to_crs(WGS84)


def demo_layers(city: DemoCity, offset: tuple[float, float]) -> tuple[CityLayers, str]:
    """Turn a demo city (EPSG:4326) into region layers in its own UTM zone.

    Returns the layers and the CRS they are in.
    """
    west, south, east, north = city.grids.total_bounds
    centre = ((west + east) / 2, (south + north) / 2)
    grids = _moved(city.grids, centre, offset)
    crs = utm_crs(*grids.total_bounds)
    grids = grids.to_crs(crs)
    street = grids["community_code"].str[:9]
    grid_frame = gpd.GeoDataFrame(
        {
            "code": grids["code"],
            "community_code": grids["community_code"],
            "street_code": street,
            "district_code": street.str[:6],
        },
        geometry=grids.geometry,
        crs=crs,
    ).sort_values("code", ignore_index=True)
    population = _moved(city.population[["persons", "geometry"]], centre, offset).to_crs(crs)
    facilities = _moved(city.facilities, centre, offset).to_crs(crs)
    facility_frame = gpd.GeoDataFrame(
        {
            "facility_id": np.arange(1, len(facilities) + 1, dtype=np.int64),
            "type_code": facilities["type_code"].astype(str),
        },
        geometry=facilities.geometry,
        crs=crs,
    )
    edges = _moved(city.network_edges, centre, offset).to_crs(crs)
    network = gpd.GeoDataFrame(
        {
            "source": edges["source"].to_numpy(np.int64),
            "target": edges["target"].to_numpy(np.int64),
            "length_m": shapely.length(edges.geometry.to_numpy()),
        },
        geometry=edges.geometry,
        crs=crs,
    )
    return CityLayers(grid_frame, population.reset_index(drop=True), facility_frame, network), crs


def synthetic_city(index: int, seed: int, grids: int) -> tuple[CityLayers, str]:
    """Build synthetic city ``index`` of a region (demo seed ``seed + index``)."""
    city = build_demo_city(seed=seed + index, grids=grids)
    return demo_layers(city, city_offset(index))
