"""Broken files a tester hands over: each a clear message and exit 1, never a traceback.

Most of these crashed with a traceback, loaded silently garbled text, or loaded nothing
with exit 0 before; each now names the problem, and nothing is loaded.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point, Polygon, box

from tests.city_cli import Cli
from tests.geodata.cityfiles import ORIGIN, STEP, FixtureCity

EMPTY_COLLECTION = '{"type": "FeatureCollection", "features": []}'
LIBRARY = (ORIGIN[0] + 0.5 * STEP, ORIGIN[1] + 0.5 * STEP)
NAMES = ["东胜区图书馆", "第一小学"]


def assert_refused(result, *expected: str) -> None:  # click's Result
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    for text in expected:
        assert text in result.output, result.output


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


@pytest.mark.parametrize("layer", ["districts", "grids", "facilities", "population"])
def test_an_empty_feature_collection_is_refused(cli: Cli, tmp_path: Path, layer: str) -> None:
    result = cli("import", layer, write(tmp_path, "empty.geojson", EMPTY_COLLECTION))
    assert_refused(result, "holds no features", "nothing was loaded")
    assert "{0}" not in result.output


def test_grids_without_a_code_column_name_it(cli: Cli, city_files: FixtureCity) -> None:
    cli.load_boundaries(city_files, up_to="communities")
    path = city_files.write("nocode", city_files.frames["grids"].drop(columns="code"))
    result = cli("import", "grids", path)
    assert_refused(result, "the file has no 'code' field; give it with --map code=COLUMN")
    assert "{0}" not in result.output
    assert cli.count("grids") == 0


def csv_file(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    return write(folder, name, text.encode(encoding))


FACILITY_CSV = f"type_code,name,lon,lat\nlibrary,图书馆,{LIBRARY[0]},{LIBRARY[1]}\n"

# (file name, content, what the message must say)
UNREADABLE = {
    "empty CSV": ("empty.csv", b"", "is empty"),
    "header-only CSV": ("header.csv", b"type_code,name,lon,lat\n", "holds no features"),
    "empty GeoJSON file": ("empty.geojson", b"", "the file is empty (0 bytes)"),
    "not a geo file": ("notes.geojson", b"hello", "not a GeoJSON, GeoPackage, Shapefile"),
    "a zip that is no zip": ("broken.zip", b"PK\x03\x04junk", "not a readable zip archive"),
    "CSV without lon/lat": ("plain.csv", b"type_code,name\nlibrary,a\n", "needs lon and lat"),
    "repeated column": (
        "twice.csv",
        f"type_code,name,name,lon,lat\nlibrary,a,b,{LIBRARY[0]},{LIBRARY[1]}\n".encode(),
        "more than one column named name",
    ),
    "columns differing only in case": (
        "case.csv",
        f"type_code,name,LON,Lon,lat\nlibrary,a,{LIBRARY[0]},1,{LIBRARY[1]}\n".encode(),
        "columns LON and Lon differ only in case",
    ),
    "GBK CSV": ("gbk.csv", FACILITY_CSV.encode("gbk"), "give --encoding gbk"),
    "NUL in a name": (
        "nul.csv",
        f"type_code,name,lon,lat\nlibrary,a\x00b,{LIBRARY[0]},{LIBRARY[1]}\n".encode(),
        "contains a NUL character",
    ),
    "capacity beyond an integer": (
        "big.csv",
        f"type_code,name,capacity,lon,lat\nlibrary,a,99999999999999999999,{LIBRARY[0]},"
        f"{LIBRARY[1]}\n".encode(),
        "is too large: at most 2,147,483,647",
    ),
}


@pytest.mark.parametrize("case", list(UNREADABLE), ids=list(UNREADABLE))
def test_unreadable_facility_files_are_named(cli: Cli, tmp_path: Path, case: str) -> None:
    name, content, expected = UNREADABLE[case]
    result = cli("import", "facilities", write(tmp_path, name, content))
    assert_refused(result, expected)
    assert cli.count("facilities") == 0


def test_a_zip_without_a_shapefile_and_a_truncated_geopackage(
    cli: Cli, city_files: FixtureCity, tmp_path: Path
) -> None:
    archive = tmp_path / "readme.zip"
    with zipfile.ZipFile(archive, "w") as opened:
        opened.writestr("readme.txt", "the shapefile is on its way")
    assert_refused(cli("import", "facilities", archive), "the zip holds no Shapefile (.shp)")
    whole = city_files.write("facilities", city_files.frames["facilities"], ".gpkg").read_bytes()
    cut = write(tmp_path, "cut.gpkg", whole[: len(whole) // 2])
    assert_refused(cli("import", "facilities", cut), "damaged or cut short")
    assert_refused(
        cli("import", "facilities", city_files.folder / "facilities.gpkg", "--layer", "nope"),
        "has no layer 'nope'",
    )
    assert cli.count("facilities") == 0


def test_a_csv_with_a_bom_and_no_capacity_column_loads(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, "bom.csv", "\ufeff" + FACILITY_CSV)
    cli.ok("import", "facilities", path, "--no-refresh")
    assert cli.rows("SELECT type_code, name, capacity FROM facilities") == [
        ("library", "图书馆", None)
    ]


def test_a_gbk_csv_loads_with_its_encoding(cli: Cli, tmp_path: Path) -> None:
    path = csv_file(tmp_path, "gbk.csv", FACILITY_CSV, "gbk")
    cli.ok("import", "facilities", path, "--encoding", "gbk", "--no-refresh")
    assert cli.rows("SELECT name FROM facilities") == [("图书馆",)]


def gbk_shapefile(city: FixtureCity, folder: Path, with_cpg: bool) -> Path:
    folder.mkdir()
    path = folder / "facilities.shp"
    city.frames["facilities"].to_file(path, encoding="gbk", engine="pyogrio")
    if not with_cpg:
        path.with_suffix(".cpg").unlink()
    return path


def test_a_gbk_shapefile_without_cpg_is_refused_not_garbled(
    cli: Cli, city_files: FixtureCity, tmp_path: Path
) -> None:
    declared = gbk_shapefile(city_files, tmp_path / "declared", with_cpg=True)
    cli.ok("import", "facilities", declared, "--no-refresh", "--set", "source=declared")
    undeclared = gbk_shapefile(city_files, tmp_path / "undeclared", with_cpg=False)
    result = cli("import", "facilities", undeclared, "--no-refresh")
    assert_refused(result, "does not say its text encoding (no .cpg file)", "--encoding gbk")
    cli.ok("import", "facilities", undeclared, "--encoding", "gbk", "--no-refresh")
    names = cli.rows("SELECT source, name FROM facilities ORDER BY source, id")
    assert names == [("declared", n) for n in NAMES] + [("import", n) for n in NAMES]


def test_heights_are_dropped_not_a_traceback(cli: Cli, tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {"type_code": ["library"], "name": ["a"]}, geometry=[Point(*LIBRARY, 1050.0)], crs=4326
    )
    path = tmp_path / "heights.geojson"
    frame.to_file(path, engine="pyogrio")
    cli.ok("import", "facilities", path, "--no-refresh")
    assert cli.scalar("SELECT ST_NDims(geom) FROM facilities") == 2


def test_absurd_coordinates_in_a_district_are_refused(cli: Cli, tmp_path: Path) -> None:
    huge = Polygon([(1e300, 1e300), (1e300, -1e300), (-1e300, 0)])
    frame = gpd.GeoDataFrame({"code": ["150603"], "name": ["x"]}, geometry=[huge], crs=4326)
    path = tmp_path / "huge.geojson"
    frame.to_file(path, engine="pyogrio")
    result = cli("import", "districts", path)
    assert_refused(result, "coordinates out of range: lon -1e+300")
    assert cli.count("districts") == 0


def district_file(folder: Path, code: str, name: str, bounds: tuple[float, ...]) -> Path:
    frame = gpd.GeoDataFrame({"code": [code], "name": [name]}, geometry=[box(*bounds)], crs=4326)
    path = folder / f"{code}.geojson"
    frame.to_file(path, engine="pyogrio")
    return path


def test_districts_load_one_file_at_a_time_in_any_order(
    cli: Cli, city_files: FixtureCity, tmp_path: Path
) -> None:
    cli.ok("import", "districts", city_files.files["districts"])  # 东胜区, in the centre
    # 鄂托克前旗, in the south-west: some 250 km from 东胜区 but inside the city's box.
    banner = district_file(tmp_path, "150623", "鄂托克前旗", (107.2, 37.9, 107.6, 38.3))
    cli.ok("import", "districts", banner)
    hangzhou = district_file(tmp_path, "330102", "上城区", (120.15, 30.2, 120.2, 30.25))
    result = cli("import", "districts", hangzhou)
    assert_refused(result, "far outside the city: lon 120.150000", "GRIDSVC_CITY_BBOX")
    # Reaching into the city is not enough for a district: it must lie inside the box.
    sprawling = district_file(tmp_path, "150699", "x", (109.9, 39.8, 116.0, 40.0))
    assert_refused(cli("import", "districts", sprawling), "it reaches lon 109.900000 to 116")
    assert cli.rows("SELECT code FROM districts ORDER BY code") == [("150602",), ("150623",)]
