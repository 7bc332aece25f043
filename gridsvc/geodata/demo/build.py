"""Build the Ordos demo city: districts down to grids, residents, facilities, walking network.

Everything is generated from a seed (``numpy.random.default_rng``), built in
metres in UTM 49N and handed back in EPSG:4326. The same seed and size give
identical frames.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from tqdm import tqdm

from gridsvc.common.points import containing_index
from gridsvc.geodata.demo import DEFAULT_DEMO_SEED, hierarchy
from gridsvc.geodata.demo.facilities import (
    FULL_SIZE_GRIDS,
    Placement,
    facility_counts,
    facility_types_frame,
    place_facilities,
)
from gridsvc.geodata.demo.facility_names import Labels
from gridsvc.geodata.demo.geography import (
    DISTRICTS,
    WGS84,
    build_districts,
    geometry_to_wgs84,
    xy_to_wgs84,
)
from gridsvc.geodata.demo.names import grid_name
from gridsvc.geodata.demo.network import build_network
from gridsvc.geodata.demo.population import (
    CITY_POPULATION,
    Population,
    apportion,
    build_population,
)
from gridsvc.geodata.demo.reproject import dissolve, reproject_tessellation

CITY_GRID_WORKERS = 160_000
FULL_SIZE_COMMUNITIES = 981
_PERSONS_PER_HOUSEHOLD = 2.6
_MIN_GRID_WORKERS = 3
_STAGES = 8
# Longest polygon edge before reprojection: a straight UTM edge bends in lon/lat.
_MAX_EDGE_M = 100.0


@dataclass
class DemoCity:
    """The generated demo city; every GeoDataFrame is in EPSG:4326."""

    districts: gpd.GeoDataFrame
    streets: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame
    grids: gpd.GeoDataFrame
    facility_types: pd.DataFrame
    facilities: gpd.GeoDataFrame
    population: gpd.GeoDataFrame
    network_nodes: gpd.GeoDataFrame
    network_edges: gpd.GeoDataFrame
    seed: int


class _Progress:
    """A tqdm bar over the build stages (silent unless asked)."""

    def __init__(self, enabled: bool) -> None:
        self.bar = tqdm(total=_STAGES, disable=not enabled, file=sys.stderr, unit="stage")

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Show ``name`` while the stage runs, then advance the bar."""
        self.bar.set_description(f"demo city: {name}")
        yield
        self.bar.update(1)


def assign_points(grid_geometries: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Find the grid holding each point; a point on a shared edge goes to the lowest index.

    A point that reprojection left outside every grid (by the city's edge, which bends) is
    given to the nearest grid, and must then be moved into it by the caller.
    """
    return containing_index(grid_geometries, points, nearest=True)


def _grid_columns(
    rng: np.random.Generator, population: np.ndarray, scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """Households (about 2.6 persons each) and grid workers (about 160,000 in all)."""
    size = rng.normal(_PERSONS_PER_HOUSEHOLD, 0.15, len(population)).clip(2.2, 3.2)
    households = np.where(population > 0, np.maximum(1, np.rint(population / size)), 0)
    workers = apportion(population, int(round(CITY_GRID_WORKERS * scale)), _MIN_GRID_WORKERS)
    return households.astype(np.int64), workers.astype(np.int64)


def _frame(columns: dict, geometry: np.ndarray) -> gpd.GeoDataFrame:
    """Make a GeoDataFrame in EPSG:4326."""
    return gpd.GeoDataFrame(columns, geometry=list(geometry), crs=WGS84)


@dataclass
class _Admin:
    """The city cut into units (UTM), with names."""

    districts: list
    streets: hierarchy.Units
    communities: hierarchy.Units
    grids: hierarchy.Units
    kinds: list[str]
    street_names: list[str]
    community_names: list[str]


@dataclass
class _Shapes:
    """Every unit's polygons in EPSG:4326, sharing vertices across units and levels."""

    districts: np.ndarray
    streets: np.ndarray
    communities: np.ndarray
    grids: np.ndarray


def _shapes_in_wgs84(admin: _Admin) -> _Shapes:
    """Reproject the grids as one tessellation; each parent is the union of its children.

    So a grid's edge is its neighbour's edge and its community's, vertex for vertex: no
    point falls between two units however fine the test.
    """
    grids = reproject_tessellation(admin.grids.geometries, xy_to_wgs84, _MAX_EDGE_M)
    communities = dissolve(grids, admin.grids.parent, len(admin.communities.geometries))
    streets = dissolve(communities, admin.communities.parent, len(admin.streets.geometries))
    districts = dissolve(streets, admin.streets.parent, len(admin.districts))
    return _Shapes(districts=districts, streets=streets, communities=communities, grids=grids)


def _cut_city(
    rngs: list[np.random.Generator],
    progress: _Progress,
    districts: list,
    population: Population,
    grids: int,
) -> _Admin:
    """Streets, communities and grids, each tessellating its parent."""
    scale = grids / FULL_SIZE_GRIDS
    with progress.stage("streets"):
        streets = hierarchy.build_streets(rngs[0], districts, population, scale)
    with progress.stage("communities"):
        total = min(grids, max(len(streets.geometries), round(FULL_SIZE_COMMUNITIES * scale)))
        communities = hierarchy.build_communities(rngs[1], streets, population, total)
        kinds = hierarchy.community_kinds(population, communities)
    with progress.stage("grids"):
        cut = hierarchy.build_grids(rngs[2], communities, kinds, population, grids)
    return _Admin(
        districts=districts,
        streets=streets,
        communities=communities,
        grids=cut,
        kinds=kinds,
        street_names=hierarchy.name_streets(streets, population),
        community_names=hierarchy.name_communities(rngs[3], communities, streets, kinds),
    )


def _unit_frames(
    admin: _Admin, shapes: _Shapes
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Districts, streets and communities with their codes, in EPSG:4326."""
    district_codes = [d.code for d in DISTRICTS]
    street_codes = hierarchy.child_codes(district_codes, admin.streets)
    community_codes = hierarchy.child_codes(street_codes, admin.communities)
    districts = _frame(
        {"code": district_codes, "name": [d.name for d in DISTRICTS]},
        shapes.districts,
    )
    streets = _frame(
        {
            "code": street_codes,
            "name": admin.street_names,
            "district_code": [district_codes[p] for p in admin.streets.parent],
        },
        shapes.streets,
    )
    communities = _frame(
        {
            "code": community_codes,
            "name": admin.community_names,
            "street_code": [street_codes[p] for p in admin.communities.parent],
            "kind": admin.kinds,
        },
        shapes.communities,
    )
    return districts, streets, communities


def _grids_and_population(
    rng: np.random.Generator,
    admin: _Admin,
    shapes: _Shapes,
    communities: gpd.GeoDataFrame,
    population: Population,
    scale: float,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, np.ndarray, list[str]]:
    """Grids with their residents counted in EPSG:4326, and the resident points.

    Returns the grids, the points, each point's grid and the grid names.
    """
    geometries = shapes.grids
    points = geometry_to_wgs84(shapely.points(population.xy))
    grid_of_point = assign_points(geometries, points)
    # A point left in no grid by reprojection moves into the grid it was given.
    strays = ~shapely.intersects(geometries[grid_of_point], points)
    points[strays] = shapely.point_on_surface(geometries[grid_of_point[strays]])
    persons = np.bincount(grid_of_point, weights=population.persons, minlength=len(geometries))
    persons = persons.astype(np.int64)
    households, workers = _grid_columns(rng, persons, scale)
    community_codes = communities["code"].tolist()
    names = [
        grid_name(admin.community_names[p], int(n))
        for p, n in zip(admin.grids.parent, admin.grids.number, strict=True)
    ]
    grids = _frame(
        {
            "code": hierarchy.child_codes(community_codes, admin.grids),
            "name": names,
            "community_code": [community_codes[p] for p in admin.grids.parent],
            "population": persons,
            "households": households,
            "grid_workers": workers,
        },
        geometries,
    )
    residents = _frame({"persons": population.persons.astype(np.int64)}, points)
    return grids, residents, grid_of_point, names


def _facilities(
    rng: np.random.Generator,
    admin: _Admin,
    population: Population,
    grid_of_point: np.ndarray,
    grid_names: list[str],
) -> gpd.GeoDataFrame:
    """Place the demo facilities; returned in EPSG:4326."""
    grids = len(admin.grids.geometries)
    counts = facility_counts(grids, len(admin.streets.geometries), len(admin.kinds))
    placement = Placement(
        xy=population.xy,
        persons=population.persons,
        grid_of_point=grid_of_point,
        grid_geometries=np.array(admin.grids.geometries, dtype=object),
        grid_community=admin.grids.parent,
        community_street=admin.communities.parent,
        street_district=admin.streets.parent,
    )
    labels = Labels(
        district_names=[d.name for d in DISTRICTS],
        street_names=admin.street_names,
        community_names=admin.community_names,
        grid_names=grid_names,
        street_district=admin.streets.parent,
        community_street=admin.communities.parent,
        grid_community=admin.grids.parent,
        community_kinds=admin.kinds,
    )
    table = place_facilities(
        rng,
        placement,
        counts,
        labels,
        np.array(admin.streets.geometries, dtype=object),
        np.array(admin.communities.geometries, dtype=object),
    )
    points = geometry_to_wgs84(shapely.points(table[["x", "y"]].to_numpy()))
    return _frame(
        {
            "type_code": table["type_code"].to_numpy(),
            "name": table["name"].to_numpy(),
            "capacity": table["capacity"].to_numpy(dtype=np.int64),
            "source": "demo",
        },
        points,
    )


def _network(
    rng: np.random.Generator, districts: list, population: Population, scale: float
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Build the walking network in EPSG:4326, with lengths measured in UTM metres."""
    net = build_network(
        rng, districts, population.xy, population.persons, population.district, scale
    )
    nodes = geometry_to_wgs84(shapely.points(net.xy))
    lonlat = shapely.get_coordinates(nodes)
    source, target = net.edges[:, 0], net.edges[:, 1]
    lines = shapely.linestrings(np.stack([lonlat[source], lonlat[target]], axis=1))
    length = np.hypot(*(net.xy[target] - net.xy[source]).T)
    node_frame = _frame({"node_id": np.arange(len(net.xy), dtype=np.int64)}, nodes)
    edge_frame = _frame(
        {"source": source.astype(np.int64), "target": target.astype(np.int64), "length_m": length},
        lines,
    )
    return node_frame, edge_frame


def build_demo_city(
    seed: int = DEFAULT_DEMO_SEED, grids: int = FULL_SIZE_GRIDS, progress: bool = False
) -> DemoCity:
    """Generate the Ordos demo city.

    Parameters
    ----------
    seed
        Seed of every random choice: the same seed and ``grids`` give identical frames.
    grids
        Number of grids. 6,702 (the city's own count) gives the full-size city with 78
        streets, 981 communities and 2.2 million residents; smaller values scale streets,
        communities, residents and facilities down by ``grids / 6702``.
    progress
        Show a progress bar over the build stages on stderr.

    Returns
    -------
    DemoCity
        All layers in EPSG:4326.

    Raises
    ------
    ValueError
        If ``grids`` is smaller than the number of districts (9).
    """
    if grids < len(DISTRICTS):
        raise ValueError(f"grids must be at least {len(DISTRICTS)} (one per district), got {grids}")
    scale = grids / FULL_SIZE_GRIDS
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(8)]
    progress_bar = _Progress(progress)
    with progress_bar.stage("districts"):
        districts = build_districts()
    with progress_bar.stage("population"):
        population = build_population(rngs[0], districts, int(round(CITY_POPULATION * scale)))
    admin = _cut_city(rngs[1:5], progress_bar, districts, population, grids)
    city = _layers(rngs[5:], progress_bar, districts, admin, population, scale, seed)
    progress_bar.bar.close()
    return city


def _layers(
    rngs: list[np.random.Generator],
    progress_bar: _Progress,
    districts: list,
    admin: _Admin,
    population: Population,
    scale: float,
    seed: int,
) -> DemoCity:
    """Return the cut city's layers in EPSG:4326, with residents, facilities and network."""
    with progress_bar.stage("grids to EPSG:4326"):
        shapes = _shapes_in_wgs84(admin)
        district_frame, street_frame, community_frame = _unit_frames(admin, shapes)
        grid_frame, residents, grid_of_point, grid_names = _grids_and_population(
            rngs[0], admin, shapes, community_frame, population, scale
        )
    with progress_bar.stage("facilities"):
        facilities = _facilities(rngs[1], admin, population, grid_of_point, grid_names)
    with progress_bar.stage("walking network"):
        nodes, edges = _network(rngs[2], districts, population, scale)
    return DemoCity(
        districts=district_frame,
        streets=street_frame,
        communities=community_frame,
        grids=grid_frame,
        facility_types=facility_types_frame(),
        facilities=facilities,
        population=residents,
        network_nodes=nodes,
        network_edges=edges,
        seed=seed,
    )
