"""GDAL (Debian's ogrinfo/ogr2ogr, as QGIS uses it) and OWSLib read the service as OGC API.

Every answer is checked against SQL on the same database, or against shapely.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import httpx
import mapbox_vector_tile
import pyogrio
import pytest
import shapely
from owslib.ogcapi.features import Features
from pyproj import Transformer
from sqlalchemy import Engine, text

from tests.ogc.tiles_math import mercator, tile_box, tile_of

pytestmark = pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="needs gdal-bin")

CURRENT_GRIDS = (
    "SELECT g.code, ST_AsBinary(g.geom) AS wkb FROM grids g"
    " JOIN communities c ON c.id = g.community_id JOIN streets s ON s.id = c.street_id"
    " JOIN districts d ON d.id = s.district_id WHERE g.valid_to IS NULL"
)


def run(*command: str) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def grids_in_sql(engine: Engine, where: str = "TRUE", **values) -> dict[str, object]:
    with engine.connect() as connection:
        rows = connection.execute(text(f"{CURRENT_GRIDS} AND {where}"), values)
        return {code: shapely.from_wkb(bytes(wkb)) for code, wkb in rows}


def copied(path: Path) -> dict[str, object]:
    frame = pyogrio.read_dataframe(path)
    return dict(zip(frame["code"], frame.geometry, strict=True))


def test_ogrinfo_lists_grids_with_fields_and_count(ogc_server: str, engine: Engine) -> None:
    summary = run("ogrinfo", "-ro", "-so", f"OAPIF:{ogc_server}", "grids")
    assert f"Feature Count: {len(grids_in_sql(engine))}" in summary
    for field in (
        "code: String",
        "population: Integer",
        "households: Integer",
        "grid_workers: Integer",
        "district_code: String",
        "community_name: String",
    ):
        assert field in summary
    layers = run("ogrinfo", "-ro", "-q", f"OAPIF:{ogc_server}")
    assert "grids" in layers and "coverage-living_10min-network" in layers
    assert "users" not in layers and "population_points" not in layers


@pytest.mark.full_city  # thousands of grids: ogr2ogr pages through them
def test_ogr2ogr_copies_every_grid_with_its_geometry(
    full_city_ogc_server: str, full_city_engine: Engine, tmp_path: Path
) -> None:
    target = tmp_path / "grids.gpkg"
    run(
        "ogr2ogr",
        "-oo",
        "PAGE_SIZE=1000",
        "-f",
        "GPKG",
        str(target),
        f"OAPIF:{full_city_ogc_server}",
        "grids",
    )
    database, copy = grids_in_sql(full_city_engine), copied(target)
    assert len(database) > 6000 and sorted(copy) == sorted(database)
    for code, geometry in database.items():
        assert shapely.equals_exact(copy[code], geometry, tolerance=1e-8), code


def test_cql2_filter_through_gdal_equals_sql(
    ogc_server: str, engine: Engine, tmp_path: Path
) -> None:
    target = tmp_path / "filtered.geojson"
    where = "population > 500 AND district_code = '150602'"
    run(
        "ogr2ogr",
        "-oo",
        "PAGE_SIZE=1000",
        "-f",
        "GeoJSON",
        "-where",
        where,
        str(target),
        f"OAPIF:{ogc_server}",
        "grids",
    )
    expected = grids_in_sql(engine, "g.population > 500 AND d.code = '150602'")
    assert expected and sorted(copied(target)) == sorted(expected)
    # The filter ran on the server: one page answers it whole.
    page = httpx.get(
        f"{ogc_server}/collections/grids/items", params={"filter": where, "limit": 10000}
    ).json()
    assert page["numberMatched"] == len(expected)


def test_bbox_filter_through_gdal_equals_sql(
    ogc_server: str, engine: Engine, tmp_path: Path
) -> None:
    target = tmp_path / "box.geojson"
    box = (109.9, 39.8, 110.0, 39.9)
    run(
        "ogr2ogr",
        "-oo",
        "PAGE_SIZE=1000",
        "-f",
        "GeoJSON",
        "-spat",
        *map(str, box),
        str(target),
        f"OAPIF:{ogc_server}",
        "grids",
    )
    expected = grids_in_sql(
        engine,
        "ST_Intersects(g.geom, ST_MakeEnvelope(:a, :b, :c, :d, 4326))",
        a=box[0],
        b=box[1],
        c=box[2],
        d=box[3],
    )
    assert expected and sorted(copied(target)) == sorted(expected)


@pytest.mark.parametrize("code", ["4490", "4326"])
def test_crs_by_reference_gives_lat_lon_in_cgcs2000(
    ogc_server: str, engine: Engine, code: str
) -> None:
    uri = f"http://www.opengis.net/def/crs/EPSG/0/{code}"
    answer = httpx.get(f"{ogc_server}/collections/grids/items", params={"crs": uri, "limit": 20})
    assert answer.headers["content-crs"] == f"<{uri}>"
    database = grids_in_sql(engine)
    for feature in answer.json()["features"]:
        swapped = shapely.transform(
            shapely.geometry.shape(feature["geometry"]), lambda xy: xy[:, ::-1]
        )
        assert shapely.equals_exact(swapped, database[feature["id"]], tolerance=1e-8)


def test_metric_crs_and_bbox_crs_agree_with_pyproj(ogc_server: str, engine: Engine) -> None:
    uri = "http://www.opengis.net/def/crs/EPSG/0/32649"
    to_utm = Transformer.from_crs(4326, 32649, always_xy=True)
    west, south = to_utm.transform(109.9, 39.8)
    east, north = to_utm.transform(110.0, 39.9)
    answer = httpx.get(
        f"{ogc_server}/collections/grids/items",
        params={
            "crs": uri,
            "bbox-crs": uri,
            "bbox": f"{west},{south},{east},{north}",
            "limit": 10000,
        },
    )
    assert answer.headers["content-crs"] == f"<{uri}>"
    area = shapely.transform(
        shapely.box(west, south, east, north).segmentize(200),
        lambda xy: shapely.get_coordinates(
            shapely.points(
                *Transformer.from_crs(32649, 4326, always_xy=True).transform(xy[:, 0], xy[:, 1])
            )
        ),
    )
    database = grids_in_sql(engine)
    expected = sorted(code for code, geometry in database.items() if geometry.intersects(area))
    features = answer.json()["features"]
    assert sorted(f["id"] for f in features) == expected
    for feature in features[:20]:
        projected = shapely.transform(
            database[feature["id"]],
            lambda xy: shapely.get_coordinates(
                shapely.points(*to_utm.transform(xy[:, 0], xy[:, 1]))
            ),
        )
        assert shapely.equals_exact(
            shapely.geometry.shape(feature["geometry"]), projected, tolerance=0.01
        )


def test_gcj02_is_an_extension_never_called_4326(ogc_server: str) -> None:
    answer = httpx.get(
        f"{ogc_server}/collections/grids/items",
        params={"crs": "urn:gridsvc:crs:GCJ-02", "limit": 1},
    )
    assert answer.headers["content-crs"] == "<urn:gridsvc:crs:GCJ-02>"
    described = httpx.get(f"{ogc_server}/collections/grids").json()
    assert "urn:gridsvc:crs:GCJ-02" not in described["crs"]
    plain = httpx.get(f"{ogc_server}/collections/grids/items", params={"limit": 1}).json()
    shifted = answer.json()["features"][0]["geometry"]["coordinates"][0][0][0]
    original = plain["features"][0]["geometry"]["coordinates"][0][0][0]
    assert 0.002 < abs(shifted[0] - original[0]) + abs(shifted[1] - original[1]) < 0.02


def test_owslib_reads_collections_pages_and_queryables(ogc_server: str, engine: Engine) -> None:
    service = Features(ogc_server)
    ids = {c["id"] for c in service.collections()["collections"]}
    assert {"districts", "streets", "communities", "grids", "facilities", "issues"} <= ids
    assert any(i.startswith("gaps-") for i in ids) and any(i.startswith("coverage-") for i in ids)
    assert "queryables" in json.dumps(service.conformance())
    queryables = service.collection_queryables("grids")["properties"]
    assert queryables["population"]["type"] == "integer"
    seen, offset = [], 0
    while True:
        page = service.collection_items("grids", limit=2000, offset=offset)
        seen += [f["id"] for f in page["features"]]
        if not any(link["rel"] == "next" for link in page["links"]):
            break
        offset += 2000
    assert sorted(seen) == sorted(grids_in_sql(engine)) and len(seen) == len(set(seen))


def test_z14_tile_over_dongsheng_matches_the_grids_reaching_it(
    ogc_server: str, engine: Engine
) -> None:
    x, y = tile_of(109.98, 39.82, 14)
    answer = httpx.get(f"{ogc_server}/collections/grids/tiles/WebMercatorQuad/14/{y}/{x}")
    features = mapbox_vector_tile.decode(answer.content)["grids"]["features"]
    buffered = tile_box(14, x, y, 64 / 4096)
    expected = sorted(
        code
        for code, geometry in grids_in_sql(engine).items()
        if mercator(geometry).intersection(buffered).area > 0
    )
    assert len(expected) > 10
    assert sorted(f["properties"]["code"] for f in features) == expected
