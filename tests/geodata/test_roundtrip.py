"""Import → export → import gives back the same rows, within 1e-7 degrees, in every format."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from sqlalchemy import text

from gridsvc.common import coords
from gridsvc.common.postgis import copy_rows
from gridsvc.geodata.city_loader import CITY_TABLES
from gridsvc.geodata.demo.build import build_demo_city
from gridsvc.geodata.gpkg import write_city_geopackage
from tests.city_cli import Cli
from tests.geodata.cityfiles import FixtureCity

LAYERS = ("districts", "streets", "communities", "grids", "facilities", "population")
TOLERANCE_DEGREES = 1e-7


def export_all(cli: Cli, folder: Path, suffix: str) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for layer in LAYERS:
        files[layer] = folder / f"{layer}{suffix}"
        cli.ok("export", layer, files[layer])
    return files


def empty_city(cli: Cli, keep_types: bool = True) -> None:
    tables = [t for t in CITY_TABLES if not (keep_types and t == "facility_types")]
    with cli.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


def read_back(path: Path) -> gpd.GeoDataFrame:
    return pyogrio.read_dataframe(path)


def assert_same(before: gpd.GeoDataFrame, after: gpd.GeoDataFrame, layer: str) -> None:
    assert len(before) == len(after), layer
    columns = [c for c in before.columns if c != "geometry"]
    left = pd.DataFrame(before[columns]).astype(str).reset_index(drop=True)
    right = pd.DataFrame(after[columns]).astype(str).reset_index(drop=True)
    pd.testing.assert_frame_equal(left, right, obj=layer)
    # normalize: the same rings whatever their start and orientation (exports are CCW).
    same = shapely.equals_exact(
        shapely.normalize(before.geometry.to_numpy()),
        shapely.normalize(after.geometry.to_numpy()),
        tolerance=TOLERANCE_DEGREES,
    )
    assert same.all(), f"{layer}: {int((~same).sum())} geometries moved"


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".zip", ".shp", ".csv"])
def test_fixture_city_round_trips(
    cli: Cli, city_files: FixtureCity, tmp_path: Path, suffix: str
) -> None:
    for layer in LAYERS:
        cli.ok("import", layer, city_files.files[layer], "--no-refresh")
    first = export_all(cli, tmp_path / "first", ".geojson")
    files = export_all(cli, tmp_path / "out", suffix)
    empty_city(cli)
    for layer in LAYERS:
        cli.ok("import", layer, files[layer], "--no-refresh")
    second = export_all(cli, tmp_path / "second", ".geojson")
    for layer in LAYERS:
        assert_same(read_back(first[layer]), read_back(second[layer]), layer)
    grids = read_back(second["grids"])
    original = city_files.frames["grids"]
    assert list(grids["name"]) == list(original.sort_values("code")["name"])


def test_demo_city_round_trips_through_its_geopackage(cli: Cli, tmp_path: Path) -> None:
    city = build_demo_city(seed=7, grids=60)
    source = write_city_geopackage(city, tmp_path / "demo.gpkg")
    with cli.engine.begin() as connection:
        session_rows = city.facility_types[["code", "name", "name_en", "level"]]
        from sqlalchemy.orm import Session

        with Session(bind=connection) as session:
            copy_rows(
                session,
                "facility_types",
                list(session_rows.columns),
                session_rows.itertuples(index=False, name=None),
            )
            session.flush()
    for layer in LAYERS:
        cli.ok("import", layer, source, "--no-refresh")
    exported = export_all(cli, tmp_path / "out", ".gpkg")
    originals = {layer: getattr(city, layer) for layer in LAYERS}
    for layer in ("districts", "streets", "communities", "grids"):
        mine = originals[layer].sort_values("code").reset_index(drop=True)
        assert_same(mine, read_back(exported[layer])[list(mine.columns)], layer)
    persons = read_back(exported["population"])
    assert persons["persons"].sum() == city.population["persons"].sum()
    assert np.allclose(
        shapely.get_coordinates(persons.geometry.to_numpy()),
        shapely.get_coordinates(city.population.geometry.to_numpy()),
        atol=TOLERANCE_DEGREES,
        rtol=0,
    )


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_chinese_coordinates_come_in_as_wgs84(
    cli: Cli, city_files: FixtureCity, tmp_path: Path, system: str
) -> None:
    cli.load_boundaries(city_files)
    wgs = city_files.frames["facilities"]
    lon, lat = coords.from_wgs84(wgs.geometry.x, wgs.geometry.y, system)
    shifted = wgs.set_geometry(gpd.points_from_xy(lon, lat, crs=wgs.crs))
    path = city_files.write(f"facilities-{system}", shifted, ".csv")
    cli.ok("import", "facilities", path, "--crs", system)
    stored = cli.rows("SELECT name, ST_X(geom), ST_Y(geom) FROM facilities ORDER BY id")
    for (name, x, y), (_, expected) in zip(stored, wgs.iterrows(), strict=True):
        assert name == expected["name"]
        assert abs(x - expected.geometry.x) < TOLERANCE_DEGREES
        assert abs(y - expected.geometry.y) < TOLERANCE_DEGREES
    # Shifted by hundreds of metres: importing them as WGS-84 would land elsewhere.
    assert abs(lon[0] - wgs.geometry.x[0]) > 1e-3
    out = tmp_path / f"out-{system}.csv"
    cli.ok("export", "facilities", out, "--crs", system)
    written = pd.read_csv(out)
    assert np.allclose(written["lon"], lon, atol=TOLERANCE_DEGREES, rtol=0)
    assert np.allclose(written["lat"], lat, atol=TOLERANCE_DEGREES, rtol=0)


def test_map_and_set_fill_fields_the_file_names_otherwise(
    cli: Cli, city_files: FixtureCity
) -> None:
    data = city_files.frames["districts"].rename(columns={"name": "QXMC"}).drop(columns="code")
    path = city_files.write("districts-odd", data, ".gpkg")
    cli.ok("import", "districts", path, "--map", "name=QXMC", "--set", "code=150602")
    assert cli.rows("SELECT code, name FROM districts") == [("150602", "东胜区")]


def test_epsg_crs_is_reprojected(cli: Cli, city_files: FixtureCity) -> None:
    projected = city_files.frames["districts"].to_crs(32649)
    path = city_files.folder / "districts-utm.csv"
    table = pd.DataFrame({"code": ["150602"], "name": ["东胜区"]})
    table["wkt"] = shapely.to_wkt(projected.geometry.to_numpy(), rounding_precision=-1)
    table.to_csv(path, index=False)
    cli.ok("import", "districts", path, "--crs", "EPSG:32649")
    bounds = cli.rows("SELECT ST_XMin(geom), ST_YMin(geom) FROM districts")[0]
    expected = city_files.frames["districts"].total_bounds
    assert abs(bounds[0] - expected[0]) < 1e-6 and abs(bounds[1] - expected[1]) < 1e-6
