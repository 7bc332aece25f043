"""Exports: by district and in GCJ-02 (said in name and metadata), GeoPackage 1.2 for GDAL 3.6."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely

from gridsvc.common.coords import wgs84_to_gcj02
from gridsvc.geodata.export import ExportError, export_to_file, named_for
from tests.factories import DISTRICT_CODE


def test_geojson_export_of_one_district(client, city) -> None:
    answer = client.get("/api/v1/export/grids.geojson", params={"district": DISTRICT_CODE})
    assert answer.status_code == 200
    collection = answer.json()
    assert collection["name"] == "grids"
    codes = sorted(f["properties"]["code"] for f in collection["features"])
    assert codes == sorted(grid.code for grid in city.grids)
    assert f"grids-{DISTRICT_CODE}.geojson" in answer.headers["content-disposition"]


@pytest.mark.parametrize(
    ("params", "status"),
    [({"district": "999999"}, 404), ({"district": "15"}, 422), ({"crs": "epsg:3857"}, 422)],
)
def test_export_refuses_what_it_cannot_give(client, city, params: dict, status: int) -> None:
    answer = client.get("/api/v1/export/grids.geojson", params=params)
    assert answer.status_code == status and answer.json()["detail"]


def test_gcj02_geojson_says_so_and_is_shifted(client, city) -> None:
    params = {"district": DISTRICT_CODE, "crs": "gcj02"}
    answer = client.get("/api/v1/export/grids.geojson", params=params)
    assert "gcj02" in answer.headers["content-disposition"]
    collection = answer.json()
    assert collection["coordinate_system"] == "GCJ-02" and "GCJ-02" in collection["name"]
    shifted = {f["properties"]["code"]: f["geometry"] for f in collection["features"]}
    for grid in city.grids:
        xy = shapely.get_coordinates(grid.polygon)
        expected = np.column_stack(wgs84_to_gcj02(xy[:, 0], xy[:, 1]))
        got = shapely.get_coordinates(shapely.geometry.shape(shifted[grid.code]))
        assert {tuple(np.round(p, 7)) for p in got} == {tuple(np.round(p, 7)) for p in expected}


def gdal_info(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["ogrinfo", "-ro", "-al", "-so", str(path)], capture_output=True, text=True, check=True
    )


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="needs gdal-bin")
def test_geopackage_is_1_2_and_gdal_opens_it_quietly(client, city, tmp_path: Path) -> None:
    answer = client.get("/api/v1/export/grids.gpkg", params={"district": DISTRICT_CODE})
    path = tmp_path / "grids.gpkg"
    path.write_bytes(answer.content)
    with sqlite3.connect(path) as database:
        assert database.execute("PRAGMA user_version").fetchone()[0] == 10200
    info = gdal_info(path)
    assert "Warning" not in info.stderr and "ERROR" not in info.stderr
    assert f"Feature Count: {len(city.grids)}" in info.stdout and 'ID["EPSG",4326]' in info.stdout
    frame = pyogrio.read_dataframe(path)
    assert sorted(frame["code"]) == sorted(grid.code for grid in city.grids)


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="needs gdal-bin")
def test_gcj02_geopackage_is_never_labelled_wgs84(client, city, tmp_path: Path) -> None:
    params = {"district": DISTRICT_CODE, "crs": "gcj02"}
    answer = client.get("/api/v1/export/grids.gpkg", params=params)
    assert "grids-150699-gcj02.gpkg" in answer.headers["content-disposition"]
    path = tmp_path / "grids-gcj02.gpkg"
    path.write_bytes(answer.content)
    info = gdal_info(path)
    assert "Warning" not in info.stderr
    assert "4326" not in info.stdout and "WGS 84" not in info.stdout
    assert "GCJ-02" in info.stdout  # the layer's description and the metadata


def test_file_export_refuses_to_overwrite_and_names_its_layer(db_session, city, tmp_path) -> None:
    path = tmp_path / "grids.geojson"
    assert export_to_file(db_session, "grids", path, district=DISTRICT_CODE) == len(city.grids)
    assert json.loads(path.read_text())["name"] == "grids"  # not grids.partial
    with pytest.raises(ExportError, match="--overwrite"):
        export_to_file(db_session, "grids", path, district=DISTRICT_CODE, overwrite=False)
    assert named_for(path, "gcj02").name == "grids-gcj02.geojson"
    assert named_for(tmp_path / "gcj02-grids.gpkg", "gcj02").name == "gcj02-grids.gpkg"
    assert named_for(path, "wgs84") == path
