"""The map routes, static assets and API docs through the app, on the factory city."""

from __future__ import annotations

import json
import re

import shapely
import shapely.geometry

from tests.factories import DISTRICT_CODE, make_facility, make_facility_type
from tests.maps.helpers import embedded_collections

LINK = re.compile(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"')
EXTERNAL = re.compile(r"""(?:src|href|url)\s*[=(]\s*["']?(?:https?:)?//""", re.I)


def escaped(text: str) -> str:
    """``text`` as folium's tojson writes it inside a script (non-ASCII as \\u escapes)."""
    return json.dumps(text)[1:-1]


def test_grids_map_of_a_district(client, city, db_session) -> None:
    # A type of its own: the demo city, loaded by other tests, has the usual ones.
    make_facility_type(db_session, "map_test_square", "测试广场", "Map test square")
    inside = city.grids[0].polygon.centroid
    make_facility(db_session, "map_test_square", inside.x, inside.y, "人民公园")
    make_facility(db_session, "map_test_square", 100.0, 30.0, "far away")  # outside the district
    response = client.get("/maps/grids", params={"district": DISTRICT_CODE})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    (grids,) = embedded_collections(html)
    codes = sorted(item["properties"]["code"] for item in grids["features"])
    assert codes == sorted(grid.code for grid in city.grids)
    populations = {
        item["properties"]["code"]: item["properties"]["population"] for item in grids["features"]
    }
    assert populations == {grid.code: grid.population for grid in city.grids}
    assert escaped("人民公园") in html and "far away" not in html
    assert "测试旗 150699" in html  # the title names the district
    assert not EXTERNAL.search(html)
    for link in LINK.findall(html):
        assert client.get(link).status_code == 200, link


def test_grids_map_measure(client, city) -> None:
    response = client.get(
        "/maps/grids", params={"district": DISTRICT_CODE, "measure": "households"}
    )
    assert response.status_code == 200
    assert "households" in response.text


def test_bad_map_parameters(client, city) -> None:
    response = client.get("/maps/grids", params={"district": "15"})
    assert response.status_code == 422 and "district" in response.json()["detail"]
    response = client.get("/maps/grids", params={"measure": "beauty"})
    assert response.status_code == 422 and "measure" in response.json()["detail"]
    response = client.get("/maps/grids", params={"district": "150600"})
    assert response.status_code == 404 and "150600" in response.json()["detail"]


def test_maps_index_lists_city_and_districts(client, city) -> None:
    html = client.get("/maps").text
    assert 'href="/maps/grids"' in html
    assert f'href="/maps/grids?district={DISTRICT_CODE}"' in html


def test_static_assets_are_served(client) -> None:
    for path in (
        "/static/leaflet/leaflet.js",
        "/static/leaflet/leaflet.css",
        "/static/leaflet/images/marker-icon.png",
        "/static/leaflet.markercluster/leaflet.markercluster.js",
        "/static/folium/leaflet_heat.min.js",
        "/static/swagger-ui/swagger-ui-bundle.js",
    ):
        assert client.get(path).status_code == 200, path
    assert client.get("/static/leaflet/nothing.js").status_code == 404


def test_static_assets_go_gzipped_to_clients_that_accept_it(client, settings) -> None:
    original = (settings.assets_dir / "leaflet" / "dist" / "leaflet.js").read_bytes()
    plain = client.get("/static/leaflet/leaflet.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == original
    packed = client.get("/static/leaflet/leaflet.js", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.content == original  # httpx undoes the gzip: the same file
    assert packed.num_bytes_downloaded < len(original) / 2  # bytes on the wire


def test_docs_reference_no_external_url(client) -> None:
    html = client.get("/docs").text
    assert "/static/swagger-ui/swagger-ui-bundle.js" in html
    assert "/static/swagger-ui/swagger-ui.css" in html
    assert "http://" not in html and "https://" not in html
    assert (
        "map"
        in client.get("/openapi.json").json()["paths"]["/maps/grids"]["get"]["summary"].lower()
    )


def test_coverage_map_agrees_with_the_coverage_api(client, loaded_demo_city) -> None:
    code = loaded_demo_city.districts["code"].iloc[1]
    params = {"circle": "living_10min", "mode": "euclidean", "district": code}
    response = client.get("/maps/coverage", params=params)
    assert response.status_code == 200
    html = response.text
    grids, gaps = embedded_collections(html)
    api = client.get("/api/v1/coverage", params={**params, "limit": 10000}).json()
    expected = {row["code"]: row for row in api["rows"]}
    assert {item["properties"]["code"] for item in grids["features"]} == set(expected)
    for item in grids["features"]:
        row = expected[item["properties"]["code"]]
        assert item["properties"]["coverage_percent"] == round(row["coverage"] * 100, 1)
        assert item["properties"]["uncovered_residents"] == row["uncovered_residents"]
    gap_codes = {item["properties"]["code"] for item in gaps["features"]}
    api_gaps = client.get("/api/v1/coverage/gaps", params={**params, "limit": 10000}).json()
    assert gap_codes == {item["properties"]["grid_code"] for item in api_gaps["features"]}
    assert escaped("10分钟生活圈") in html
    assert not EXTERNAL.search(html)
    assert response.headers["content-encoding"] == "gzip"  # a big page, and httpx accepts it
    plain = client.get("/maps/coverage", params=params, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert embedded_collections(plain.text) == [grids, gaps]


def test_bad_coverage_map_parameters(client, city) -> None:
    response = client.get("/maps/coverage", params={"circle": "nope"})
    assert response.status_code == 422 and "circle" in response.json()["detail"]
    response = client.get("/maps/coverage", params={"mode": "flying"})
    assert response.status_code == 422 and "mode" in response.json()["detail"]
    response = client.get("/maps/coverage", params={"district": "150600"})
    assert response.status_code == 404


def test_coverage_map_service_areas_per_type(client, db_session, loaded_demo_city) -> None:
    from gridsvc.coverage import refresh

    code = loaded_demo_city.districts["code"].iloc[1]
    params = {"circle": "living_10min", "mode": "euclidean", "district": code}
    before = client.get("/maps/coverage", params=params).text
    assert "service areas" not in before  # nothing stored yet: no layer
    refresh.refresh(db_session, district=code, circle_codes=["living_10min"])
    # Served, the district's stored coverage now draws from tiles, service areas too...
    served = client.get("/maps/coverage", params=params).text
    assert "collections/service_areas-living_10min-euclidean/tiles/" in served
    assert embedded_collections(served) == []
    # ...and a written page (no tile server) carries them merged, one shape per type.
    from gridsvc.config import get_settings
    from gridsvc.maps import service as maps_service

    options = maps_service.render_options(get_settings(), ogc_url=None)
    html = maps_service.coverage_map_html(db_session, options, "living_10min", "euclidean", code)
    grids, areas, gaps = embedded_collections(html)
    stored = client.get("/api/v1/coverage/service-areas", params={**params, "limit": 1000}).json()
    types = {item["properties"]["type_code"] for item in stored["features"]}
    assert len(types) > 1 and len(areas["features"]) == len(types)  # one shape per type
    assert all(item["geometry"]["coordinates"] for item in areas["features"])
    assert len(grids["features"]) > 0 and escaped("服务圈 service areas") in html


def test_merged_service_areas_are_reused_until_the_next_refresh(
    db_session,
    loaded_demo_city,
) -> None:
    from gridsvc.coverage import refresh
    from gridsvc.coverage.circles import load_circles
    from gridsvc.maps import service as maps_service

    code = loaded_demo_city.districts["code"].iloc[1]
    circle = load_circles()["living_10min"]
    refresh.refresh(db_session, district=code, circle_codes=["living_10min"])
    first = maps_service.service_areas_frame(db_session, circle, "euclidean", code, 1e-4)
    again = maps_service.service_areas_frame(db_session, circle, "euclidean", code, 1e-4)
    assert again is first  # the merge is reused
    fresh = maps_service.merged_service_areas(db_session, circle, "euclidean", code, 1e-4)
    assert list(fresh["type_name"]) == list(first["type_name"])
    assert all(a.equals(b) for a, b in zip(fresh.geometry, first.geometry, strict=True))
    refresh.refresh(db_session, district=code, circle_codes=["living_10min"])
    after = maps_service.service_areas_frame(db_session, circle, "euclidean", code, 1e-4)
    assert after is not first  # a new refresh merges anew


def test_merged_service_areas_are_the_union_of_the_stored_ones(
    client, db_session, loaded_demo_city
) -> None:
    """Per type, the map's merged shape covers what the API's service areas cover, no more."""
    from gridsvc.coverage import refresh
    from gridsvc.coverage.circles import load_circles
    from gridsvc.maps import service as maps_service

    code = loaded_demo_city.districts["code"].iloc[1]
    refresh.refresh(db_session, district=code, circle_codes=["living_10min"])
    params = {"circle": "living_10min", "mode": "network", "district": code, "limit": 10000}
    stored = client.get("/api/v1/coverage/service-areas", params=params).json()["features"]
    assert stored
    circle = load_circles()["living_10min"]
    merged = maps_service.merged_service_areas(db_session, circle, "network", code, 1e-7)
    names = {t["code"]: t["name"] for t in client.get("/api/v1/facility-types").json()}
    for type_code in {f["properties"]["type_code"] for f in stored}:
        expected = shapely.union_all(
            [
                shapely.geometry.shape(f["geometry"])
                for f in stored
                if f["properties"]["type_code"] == type_code
            ]
        )
        row = merged[merged["type_name"] == names[type_code]].iloc[0]
        assert row["facilities"] == sum(f["properties"]["type_code"] == type_code for f in stored)
        apart = shapely.symmetric_difference(row.geometry, expected).area
        assert apart < 1e-4 * expected.area, (type_code, apart / expected.area)
