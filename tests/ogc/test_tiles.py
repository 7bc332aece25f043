"""Vector tiles decoded by mapbox-vector-tile and checked against shapely on the factory city."""

from __future__ import annotations

import gzip

import mapbox_vector_tile
import pytest
from shapely.geometry import Polygon
from sqlalchemy import text

from tests.factories import ORIGIN, STEP_LAT, STEP_LON
from tests.ogc.tiles_math import mercator, tile_box, tile_of

MARGIN = 64 / 4096  # the tiles' buffer


def centre_tile(z: int) -> tuple[int, int]:
    return tile_of(ORIGIN[0] + 3 * STEP_LON, ORIGIN[1] + 2.5 * STEP_LAT, z)


def decode(response) -> dict:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    return mapbox_vector_tile.decode(response.content) if response.content else {}


def test_z14_grid_tile_holds_the_grids_that_reach_it(client, city) -> None:
    x, y = centre_tile(14)
    layers = decode(client.get(f"/ogc/collections/grids/tiles/WebMercatorQuad/14/{y}/{x}"))
    features = layers["grids"]["features"]
    buffered = tile_box(14, x, y, MARGIN)
    expected = {
        grid.code: grid
        for grid in city.grids
        if mercator(grid.polygon).intersection(buffered).area > 0
    }
    assert expected and len(expected) < len(city.grids)
    assert sorted(f["properties"]["code"] for f in features) == sorted(expected)
    for feature in features:
        grid = expected[feature["properties"]["code"]]
        assert feature["properties"]["population"] == grid.population
        assert feature["properties"]["district_code"] == grid.district_code


def test_decoded_geometry_is_the_grid_in_tile_units(client, city) -> None:
    x, y = centre_tile(14)
    layers = decode(client.get(f"/ogc/collections/grids/tiles/WebMercatorQuad/14/{y}/{x}"))
    west, south, east, north = tile_box(14, x, y).bounds
    unit = (east - west) / 4096
    tile = tile_box(14, x, y)
    checked = 0
    for feature in layers["grids"]["features"]:
        grid = city.by_code()[feature["properties"]["code"]]
        inside = mercator(grid.polygon).intersection(tile)
        decoded = feature["geometry"]
        ring = decoded["coordinates"][0] if decoded["type"] == "Polygon" else None
        if ring is None or inside.area == 0:
            continue
        # mapbox-vector-tile decodes with y up, in tile units from the south-west corner.
        shape = Polygon([(west + px * unit, south + py * unit) for px, py in ring])
        overlap = shape.intersection(tile).area
        assert overlap == pytest.approx(inside.area, rel=0.02)
        checked += 1
    assert checked >= 4


def test_reference_tile_has_its_layers_from_their_zoom(client, city) -> None:
    x, y = centre_tile(14)
    layers = decode(client.get(f"/ogc/tiles/WebMercatorQuad/14/{y}/{x}"))
    assert {"districts", "streets", "communities", "grids", "labels"} <= set(layers)
    labels = layers["labels"]["features"]
    assert {f["properties"]["level"] for f in labels} <= {"district", "street", "community"}
    x, y = centre_tile(7)
    layers = decode(client.get(f"/ogc/tiles/WebMercatorQuad/7/{y}/{x}"))
    assert set(layers) == {"districts", "grids", "labels"}  # streets from 8, communities 10
    assert {f["properties"]["level"] for f in layers["labels"]["features"]} == {"district"}


def test_etag_revalidates_and_follows_the_data(client, city, db_session) -> None:
    x, y = centre_tile(14)
    path = f"/ogc/collections/grids/tiles/WebMercatorQuad/14/{y}/{x}"
    first = client.get(path)
    etag = first.headers["etag"]
    assert "max-age" in first.headers["cache-control"]
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
    client.app.state.ogc_tile_cache.version_ttl_s = 0
    code = decode(first)["grids"]["features"][0]["properties"]["code"]
    db_session.execute(text("UPDATE grids SET population = 4321 WHERE code = :c"), {"c": code})
    db_session.commit()
    second = client.get(path, headers={"If-None-Match": etag})
    assert second.status_code == 200 and second.headers["etag"] != etag
    changed = {f["properties"]["code"]: f for f in decode(second)["grids"]["features"]}
    assert changed[code]["properties"]["population"] == 4321


def test_tiles_are_gzip_encoded_for_clients_that_accept_it(client, city) -> None:
    x, y = centre_tile(14)
    path = f"/ogc/collections/grids/tiles/WebMercatorQuad/14/{y}/{x}"
    plain = client.get(path, headers={"Accept-Encoding": "identity"})
    with client.stream("GET", path, headers={"Accept-Encoding": "gzip, deflate"}) as encoded:
        raw = b"".join(encoded.iter_raw())  # as sent, not decoded
    assert "content-encoding" not in plain.headers
    assert encoded.headers["content-encoding"] == "gzip"
    assert (
        "Accept-Encoding" in encoded.headers["vary"] and "Accept-Encoding" in plain.headers["vary"]
    )
    assert gzip.decompress(raw) == plain.content and len(raw) < len(plain.content)
    assert encoded.headers["etag"] != plain.headers["etag"]  # two representations
    refused = client.get(path, headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers and refused.content == plain.content
    again = {"Accept-Encoding": "gzip", "If-None-Match": encoded.headers["etag"]}
    assert client.get(path, headers=again).status_code == 304


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/ogc/collections/nothing/tiles/WebMercatorQuad/3/1/1", 404),
        ("/ogc/collections/grids/tiles/WebMercatorQuad/3/8/1", 404),
        ("/ogc/collections/grids/tiles/WebMercatorQuad/23/1/1", 422),
        ("/ogc/tiles/WebMercatorQuad/3/1/1?collections=grids,users", 422),
        ("/ogc/tiles/WebMercatorQuad/3/1/1?layers=grids", 422),
    ],
)
def test_bad_tiles_are_refused_by_name(client, path: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert response.json()["detail"]
