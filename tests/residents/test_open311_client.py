"""Open311 through real clients: georeport (PyPI) reads, a plain client from the spec posts.

georeport only reads (services, a service's definition, requests), in JSON or XML; posting
is done as the GeoReport v2 spec describes it, a form-encoded POST to ``requests.{format}``.
The server is the app on uvicorn on loopback, committing into the test database with the
demo city in it.
"""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree import ElementTree

import httpx
import pytest
from georeport import GeoReport
from sqlalchemy import Engine, text

from gridsvc.config import get_settings
from tests.issues.conftest import bearer
from tests.residents.conftest import remove_reports
from tests.servers import committing_server

APP_KEY = "georeport-app-key"
ADMIN = bearer("admin", "moderator")


@pytest.fixture(scope="module")
def server(engine: Engine, loaded_demo_city) -> Iterator[str]:
    settings = get_settings()
    keys, settings.open311_api_keys = settings.open311_api_keys, APP_KEY
    try:
        yield from committing_server(engine)
    finally:
        settings.open311_api_keys = keys


@pytest.fixture
def posted(server: str, engine: Engine) -> Iterator[list[str]]:
    public_ids: list[str] = []
    yield public_ids
    remove_reports(engine, public_ids)


def post_form(server: str, fmt: str, form: dict[str, str]) -> httpx.Response:
    """POST a service request as the spec says: form-encoded, api_key in the body."""
    return httpx.post(f"{server}/open311/v2/requests.{fmt}", data={"api_key": APP_KEY, **form})


def test_georeport_reads_the_services_in_json_and_xml(server: str, engine: Engine) -> None:
    with engine.connect() as connection:
        stored = dict(connection.execute(text("SELECT code, name FROM issue_categories")).all())
    for fmt in ("json", "xml"):
        client = GeoReport(f"{server}/open311/v2", output_format=fmt)
        services = client.get_service_list()
        assert {s["service_code"]: s["service_name"] for s in services} == stored
        definition = client.get_service_definition("road_damage")
        assert definition["service_code"] == "road_damage"


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_posted_request_read_back_by_georeport(server, engine, dongsheng_point, posted, fmt):
    grid_code, lon, lat = dongsheng_point
    answer = post_form(server, fmt, {
        "service_code": "road_damage", "lat": f"{lat:.6f}", "long": f"{lon:.6f}",
        "description": f"井盖缺失 ({fmt})", "email": "resident@example.com",
    })  # fmt: skip
    assert answer.status_code == 200, answer.text
    if fmt == "xml":
        request = ElementTree.fromstring(answer.content).find("request")
        code, secret = request.findtext("service_request_id"), request.findtext("secret")
    else:
        (created,) = answer.json()
        code, secret = created["service_request_id"], created["secret"]
    posted.append(code)
    assert secret
    with engine.connect() as connection:
        issue_id, stored_grid = connection.execute(
            text("SELECT id, grid_code FROM issues WHERE public_id = :p"), {"p": code}
        ).one()
    assert stored_grid == grid_code
    client = GeoReport(f"{server}/open311/v2", output_format=fmt)
    # Unpublished: in no listing. (georeport cannot read an empty XML listing, the spec's
    # bare <service_requests/>: it fails on None, so this one is read as text.)
    listing = httpx.get(f"{server}/open311/v2/requests.{fmt}?service_code=road_damage")
    assert listing.status_code == 200 and code not in listing.text
    published = httpx.put(
        f"{server}/api/v1/issues/{issue_id}/publication",
        json={"text": "井盖缺失，已派遣", "photos": []},
        headers=ADMIN,
    )
    assert published.status_code == 200, published.text
    one = client.get_service_request(code)
    one = one[0] if isinstance(one, list) else one
    assert one["service_request_id"] == code and one["service_code"] == "road_damage"
    assert one["status"] == "open" and one["description"] == "井盖缺失，已派遣"
    assert (float(one["lat"]), float(one["long"])) == (round(lat, 3), round(lon, 3))
    assert "resident@example.com" not in str(one) and secret not in str(one)
    listing = client.get_service_requests(service_request_id=code)
    listing = listing if isinstance(listing, list) else [listing]  # XML: one request is a dict
    assert [r["service_request_id"] for r in listing] == [code]
