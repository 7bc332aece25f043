"""One test per conformance class the service declares (Features 1/2/3, Tiles), on the lattice city.

OGC's TEAM Engine (ets-ogcapi-features10) needs a Java download, so the requirements are
checked here by hand, each against SQL or the factory city.
"""

from __future__ import annotations

import pytest
import shapely
from sqlalchemy import text

from gridsvc.ogc.collections import feature_collections
from gridsvc.ogc.documents import CONFORMANCE
from tests.factories import DISTRICT_CODE, ORIGIN, STEP_LAT, STEP_LON

ITEMS = "/ogc/collections/grids/items"


def test_landing_page_links_api_conformance_and_data(client) -> None:
    page = client.get("/ogc").json()
    rels = {link["rel"]: link for link in page["links"]}
    assert {"self", "service-desc", "service-doc", "conformance", "data"} <= set(rels)
    assert rels["service-desc"]["type"].startswith("application/vnd.oai.openapi+json")
    assert client.get("/ogc/conformance").json()["conformsTo"] == CONFORMANCE


def test_api_document_declares_the_items_operation_and_its_limits(client) -> None:
    answer = client.get("/ogc/api")
    document = answer.json()
    assert document["servers"][0]["url"].endswith("/ogc")
    assert all(not path.startswith("/api/") for path in document["paths"])
    parameters = {
        p["name"]: p for p in document["paths"]["/collections/{collectionId}/items"]["get"]
        ["parameters"]
    }  # fmt: skip
    assert parameters["limit"]["schema"]["maximum"] == 10000
    assert {"bbox", "bbox-crs", "crs", "datetime", "filter", "filter-lang"} <= set(parameters)
    assert "cql2-text" in parameters["filter-lang"]["schema"]["enum"]


def test_only_the_listed_collections_exist(client, city) -> None:
    listed = {c["id"] for c in client.get("/ogc/collections").json()["collections"]}
    assert listed == set(feature_collections())
    for private in ("users", "issue_events", "population_points", "issue_photos", "rate_limits"):
        assert client.get(f"/ogc/collections/{private}/items").status_code == 404


def test_items_page_with_next_links_until_all_are_seen(client, city) -> None:
    seen, url = [], f"{ITEMS}?limit=7&filter=district_code%3D'{DISTRICT_CODE}'"
    while url:
        page = client.get(url).json()
        assert page["numberReturned"] == len(page["features"]) <= 7
        assert page["numberMatched"] == len(city.grids)
        seen += [f["id"] for f in page["features"]]
        url = next((x["href"] for x in page["links"] if x["rel"] == "next"), None)
    assert sorted(seen) == sorted(g.code for g in city.grids)


def test_one_item_and_its_absence(client, city) -> None:
    grid = city.grids[0]
    feature = client.get(f"{ITEMS}/{grid.code}").json()
    assert feature["properties"]["population"] == grid.population
    assert shapely.geometry.shape(feature["geometry"]).equals(grid.polygon)
    assert client.get(f"{ITEMS}/999999999999999").status_code == 404


def test_html_by_f_and_by_accept(client, city) -> None:
    for answer in (
        client.get(f"{ITEMS}?f=html&limit=2"),
        client.get("/ogc/collections", headers={"Accept": "text/html"}),
    ):
        assert answer.headers["content-type"].startswith("text/html")
        assert "<html" in answer.text


def test_bbox_equals_shapely(client, city) -> None:
    box = (ORIGIN[0] + 1.5 * STEP_LON, ORIGIN[1] + 0.5 * STEP_LAT, ORIGIN[0] + 3.2 * STEP_LON,
           ORIGIN[1] + 1.7 * STEP_LAT)  # fmt: skip
    answer = client.get(ITEMS, params={"bbox": ",".join(map(str, box)), "limit": 1000}).json()
    expected = sorted(g.code for g in city.grids if g.polygon.intersects(shapely.box(*box)))
    assert sorted(f["id"] for f in answer["features"]) == expected


CONDITIONS = [
    "population > 500 AND district_code = '150699'",
    "population BETWEEN 100 AND 900",
    "code IN ('150699001001001', '150699002001002') OR grid_workers >= 3",
    "name LIKE '第00%' AND NOT (households < 100)",
    "community_name IS NOT NULL",
    "population BETWEEN 100 AND 900 OR grid_workers >= 3",  # BETWEEN's AND is no AND
    "(population > 500 AND households < 300) OR name = 'a AND b' OR grid_workers >= 3",
]


@pytest.mark.parametrize("condition", CONDITIONS)
def test_cql2_text_equals_python(client, city, condition: str) -> None:
    answer = client.get(ITEMS, params={"filter": condition, "limit": 10000})
    assert answer.status_code == 200, answer.text
    got = sorted(f["id"] for f in answer.json()["features"] if f["id"].startswith(DISTRICT_CODE))
    rows = {g.code: g for g in city.grids}

    def keep(g) -> bool:
        return {
            0: g.population > 500 and g.district_code == "150699",
            1: 100 <= g.population <= 900,
            2: g.code in ("150699001001001", "150699002001002") or g.grid_workers >= 3,
            3: f"第{g.code[-3:]}网格".startswith("第00") and not g.households < 100,
            4: True,
            5: 100 <= g.population <= 900 or g.grid_workers >= 3,
            6: (g.population > 500 and g.households < 300) or g.grid_workers >= 3,
        }[CONDITIONS.index(condition)]

    assert got == sorted(code for code, g in rows.items() if keep(g))


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"filter": "secret = 'x'"}, "filter"),
        ({"filter": "population >"}, "filter"),
        ({"filter": "grid_workers >= 3 OR population > 500 AND households < 300"}, "filter"),
        ({"filter": "S_INTERSECTS(geom, POINT(1 2))"}, "filter"),
        ({"crs": "EPSG:3857"}, "crs"),
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/4326"}, "bbox-crs"),
        ({"limit": 10001}, "limit"),
        ({"datetime": "yesterday"}, "datetime"),
        ({"population": 5}, "population"),
    ],
)
def test_bad_parameters_are_named(client, params: dict, named: str) -> None:
    answer = client.get(ITEMS, params=params)
    assert answer.status_code == 422
    assert named in answer.json()["detail"]


def test_published_issues_only_and_coarse(client, city, db_session) -> None:
    category = db_session.scalar(text("SELECT code FROM issue_categories LIMIT 1"))
    for public_id, published in (("OGCPUB1", True), ("OGCHID1", False)):
        db_session.execute(
            text(
                "INSERT INTO issues (public_id, category_code, description, reporter_contact,"
                " crs, reported_lon, reported_lat, geom, routing, status, published_at,"
                " published_text) VALUES (:p, :c, 'my own words', '13800000000', 'wgs84',"
                " 113.5123456, 35.5123456, ST_SetSRID(ST_MakePoint(113.5123456, 35.5123456),"
                " 4326), 'inside', 'submitted', CASE WHEN :pub THEN now() END, 'a pothole')"
            ),
            {"p": public_id, "c": category, "pub": published},
        )
    db_session.commit()
    features = client.get("/ogc/collections/issues/items").json()["features"]
    ids = [f["id"] for f in features]
    assert "OGCPUB1" in ids and "OGCHID1" not in ids
    mine = next(f for f in features if f["id"] == "OGCPUB1")
    assert mine["geometry"]["coordinates"] == [113.512, 35.512]
    assert mine["properties"]["text"] == "a pothole"
    flat = str(mine)
    assert "13800000000" not in flat and "my own words" not in flat
    assert client.get("/ogc/collections/issues/items/OGCHID1").status_code == 404
    during = client.get("/ogc/collections/issues/items", params={"datetime": "2000-01-01/.."})
    assert "OGCPUB1" in [f["id"] for f in during.json()["features"]]
    before = client.get("/ogc/collections/issues/items", params={"datetime": "../2000-01-01"})
    assert "OGCPUB1" not in [f["id"] for f in before.json()["features"]]


def test_tile_matrix_set_is_web_mercator_quad(client) -> None:
    document = client.get("/ogc/tileMatrixSets/WebMercatorQuad").json()
    assert document["id"] == "WebMercatorQuad"
    assert document["crs"].endswith("EPSG/0/3857")
