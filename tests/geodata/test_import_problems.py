"""Each class of bad input: exit 1, the problem named with its row and field, nothing loaded."""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import pytest
from shapely.geometry import LineString, MultiPolygon, Point, Polygon
from shapely.geometry import box as shapely_box

from tests.city_cli import Cli
from tests.geodata.cityfiles import ORIGIN, STEP, FixtureCity, block

LAYER_BEFORE = {"streets": "districts", "communities": "streets", "grids": "communities"}


def set_value(row: int, column: str, value: object) -> Callable[[gpd.GeoDataFrame], None]:
    def spoil(data: gpd.GeoDataFrame) -> None:
        data[column] = data[column].astype(object) if column in data else None
        data.loc[row, column] = value

    return spoil


def set_geometry(row: int, geometry: object) -> Callable[[gpd.GeoDataFrame], None]:
    def spoil(data: gpd.GeoDataFrame) -> None:
        values = list(data.geometry)
        values[row] = geometry
        data.set_geometry(gpd.GeoSeries(values, crs=data.crs), inplace=True)

    return spoil


BOWTIE = Polygon([(ORIGIN[0], ORIGIN[1]), (ORIGIN[0] + STEP, ORIGIN[1] + STEP),
                  (ORIGIN[0] + STEP, ORIGIN[1]), (ORIGIN[0], ORIGIN[1] + STEP)])  # fmt: skip
SHIFTED = MultiPolygon([shapely_box(ORIGIN[0] + 0.5 * STEP, ORIGIN[1] + 3 * STEP,
                                    ORIGIN[0] + 1.5 * STEP, ORIGIN[1] + 4 * STEP)])  # fmt: skip

CASES = {
    "invalid geometry": ("grids", set_geometry(0, BOWTIE), 1, "geometry", "Self-intersection"),
    "empty geometry": ("grids", set_geometry(2, Polygon()), 3, "geometry", "empty or missing"),
    "wrong geometry type": (
        "grids",
        set_geometry(1, LineString([ORIGIN, (ORIGIN[0] + STEP, ORIGIN[1])])),
        2,
        "geometry",
        "expected a Polygon or MultiPolygon, got LineString",
    ),
    "point where a polygon belongs": (
        "districts",
        set_geometry(0, Point(ORIGIN)),
        1,
        "geometry",
        "got Point",
    ),
    "coordinates out of range": (
        "facilities",
        set_geometry(1, Point(200.0, 39.8)),
        2,
        "geometry",
        "coordinates out of range",
    ),
    "lat/lon swapped": (
        "facilities",
        set_geometry(0, Point(39.8, 109.9)),
        1,
        "geometry",
        "latitude and longitude look swapped",
    ),
    "far outside the city": (
        "population",
        set_geometry(5, Point(121.47, 31.23)),
        6,
        "geometry",
        "far outside the city",
    ),
    "duplicate code": ("grids", set_value(3, "code", "150602001001001"), 4, "code", "duplicate"),
    "malformed code": ("streets", set_value(1, "code", "15060200"), 2, "code", "9 digits"),
    "unknown parent": (
        "grids",
        set_value(5, "code", "150602001009001"),
        6,
        "community_code",
        "unknown community 150602001009",
    ),
    "parent not the code's prefix": (
        "communities",
        set_value(0, "street_code", "150602002"),
        1,
        "street_code",
        "does not start with its street's code",
    ),
    "overlapping grids": (
        "grids",
        set_geometry(9, SHIFTED),
        9,
        "geometry",
        "overlaps grid 150602002001002 (row 10) by",
    ),
    "gap in a community": (
        "grids",
        set_geometry(0, block(0, 1, 1, 1).buffer(-STEP / 4)),
        1,
        "geometry",
        "covered by no grid",
    ),
    "grid crossing its community": (
        "grids",
        set_geometry(0, block(0, 1, 1, 1).buffer(STEP / 8, join_style="mitre")),
        1,
        "geometry",
        "crosses the boundary of community 150602001001",
    ),
    "unknown facility type": (
        "facilities",
        set_value(1, "type_code", "zoo"),
        2,
        "type_code",
        "unknown facility type 'zoo'",
    ),
    "missing name": ("districts", set_value(0, "name", None), 1, "name", "missing"),
    "negative population": (
        "grids",
        set_value(7, "population", -5),
        8,
        "population",
        "not a whole number >= 0",
    ),
    "persons zero": ("population", set_value(2, "persons", 0), 3, "persons", ">= 1"),
    "community kind": ("communities", set_value(2, "kind", "suburb"), 3, "kind", "'suburb'"),
}


def prepare(cli: Cli, city: FixtureCity, layer: str) -> None:
    """Load the layers the spoiled one needs (all boundaries for points)."""
    if layer in ("facilities", "population"):
        cli.load_boundaries(city)
    elif layer in LAYER_BEFORE:
        cli.load_boundaries(city, up_to=LAYER_BEFORE[layer])


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_input_is_named_and_nothing_loads(cli: Cli, city_files: FixtureCity, case: str) -> None:
    layer, spoil, row, field, expected = CASES[case]
    prepare(cli, city_files, layer)
    table = "population_points" if layer == "population" else layer
    before = cli.count(table)
    data = city_files.frames[layer].copy()
    spoil(data)
    path = city_files.write(f"bad-{layer}", data)
    result = cli("import", layer, path)
    assert result.exit_code == 1, result.output
    lines = [line.split(None, 2) for line in result.output.splitlines()]
    assert [str(row), field] in [line[:2] for line in lines], result.output
    assert expected in result.output
    assert "nothing was loaded" in result.output
    assert cli.count(table) == before


def test_every_problem_is_listed_at_once(cli: Cli, city_files: FixtureCity) -> None:
    cli.load_boundaries(city_files, up_to="communities")
    data = city_files.frames["grids"].copy()
    set_geometry(0, BOWTIE)(data)
    set_value(3, "code", "150602001001001")(data)
    set_value(7, "households", "many")(data)
    result = cli("import", "grids", city_files.write("bad", data))
    assert result.exit_code == 1
    assert "3 problem(s) in 16 grids row(s)" in result.output
    assert "'many' is not a whole number" in result.output
    assert cli.count("grids") == 0


def test_repair_fixes_invalid_geometry_and_says_so(cli: Cli, city_files: FixtureCity) -> None:
    cli.load_boundaries(city_files, up_to="districts")
    data = city_files.frames["streets"].copy()
    ring = list(block(0, 0, 4, 2).geoms[0].exterior.coords)
    # A spike back along an edge: invalid, and make_valid gives back the same block.
    spiked = Polygon([ring[0], ring[1], (ring[1][0] - STEP, ring[1][1]), *ring[1:]])
    set_geometry(0, spiked)(data)
    path = city_files.write("spiked", data)
    refused = cli("import", "streets", path)
    assert refused.exit_code == 1
    assert "--repair fixes it" in refused.output
    repaired = cli.ok("import", "streets", path, "--repair")
    assert "repaired: repaired with make_valid" in repaired.output
    assert cli.count("streets") == 2
    assert cli.scalar("SELECT bool_and(ST_IsValid(geom)) FROM streets")


def test_code_already_loaded_needs_replace(cli: Cli, city_files: FixtureCity) -> None:
    cli.load_boundaries(city_files, up_to="districts")
    result = cli("import", "districts", city_files.files["districts"])
    assert result.exit_code == 1
    assert "district 150602 is already in the database" in result.output
    assert cli.count("districts") == 1


def test_unreadable_csv_coordinates_and_file_errors(cli: Cli, city_files: FixtureCity) -> None:
    cli.load_boundaries(city_files)
    path = city_files.folder / "people.csv"
    path.write_text("persons,lon,lat\n3,109.88,39.76\n4,abc,39.76\n", encoding="utf-8")
    result = cli("import", "population", path)
    assert result.exit_code == 1
    assert "'abc', '39.76' is not a lon/lat pair" in result.output
    missing = cli("import", "population", city_files.folder / "nowhere.csv")
    assert missing.exit_code == 1 and "no such file" in missing.output
    nomap = cli("import", "grids", city_files.files["grids"], "--map", "code=CODE")
    assert nomap.exit_code == 1 and "does not have" in nomap.output
    assert cli.count("population_points") == 0
