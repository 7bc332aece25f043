from __future__ import annotations

import io

import jsonschema
import pytest
from PIL import Image

from gridsvc.config import get_settings
from tests.issues import open311_schemas as schemas
from tests.issues.conftest import bearer
from tests.issues.test_workflow_api import SUPERVISOR, WORKER_A, act, submit

ADMIN = bearer("admin", "moderator")


def publish(client, issue_id: int, text: str | None = "已发布", photos=()) -> None:
    response = client.put(
        f"/api/v1/issues/{issue_id}/publication",
        json={"text": text, "photos": list(photos)},
        headers=ADMIN,
    )
    assert response.status_code == 200, response.text


APP_KEY = "app-key-for-tests"


@pytest.fixture(autouse=True)
def app_keys(monkeypatch):
    monkeypatch.setattr(get_settings(), "open311_api_keys", f"other-key, {APP_KEY}")


FORMAT_CHECKER = jsonschema.Draft7Validator.FORMAT_CHECKER


def valid(instance, schema) -> None:
    jsonschema.validate(instance, schema, format_checker=FORMAT_CHECKER)


def test_discovery_and_services(client) -> None:
    discovery = client.get("/open311/v2/discovery.json").json()
    valid(discovery, schemas.DISCOVERY)
    assert discovery["endpoints"][0]["url"].endswith("/open311/v2/")
    services = client.get("/open311/v2/services.json").json()
    valid(services, schemas.SERVICES)
    assert "road_damage" in {s["service_code"] for s in services}
    definition = client.get("/open311/v2/services/road_damage.json")
    valid(definition.json(), schemas.SERVICE_DEFINITION)
    missing = client.get("/open311/v2/services/ufo.json")
    assert missing.status_code == 404
    valid(missing.json(), schemas.ERRORS)


def test_post_form_and_read_back(client, city) -> None:
    form = {
        "service_code": "road_damage",
        "lat": "35.5039",
        "long": "113.5039",
        "description": "路面塌陷",
        "email": "someone@example.com",
        "api_key": APP_KEY,
        "jurisdiction_id": "ordos.gov.cn",
    }
    created = client.post("/open311/v2/requests.json", data=form)
    assert created.status_code == 200, created.text
    valid(created.json(), schemas.CREATED)
    code = created.json()[0]["service_request_id"]
    notice = created.json()[0]["service_notice"]
    assert "Received" in notice and "150699" not in notice  # no internal codes
    assert client.get(f"/open311/v2/requests/{code}.json").status_code == 404  # unpublished
    listing = client.get("/open311/v2/requests.json?status=open&service_code=road_damage")
    assert code not in [r["service_request_id"] for r in listing.json()]
    issue_id = client.get("/api/v1/issues", headers=bearer("supervisor", "s")).json()["issues"][0][
        "id"
    ]
    publish(client, issue_id, text="路面塌陷，已派遣")
    one = client.get(f"/open311/v2/requests/{code}.json").json()
    valid(one, schemas.REQUESTS)
    assert one[0]["status"] == "open" and one[0]["agency_responsible"] == "交通运输局"
    assert one[0]["description"] == "路面塌陷，已派遣"
    assert "someone@example.com" not in str(one) and "35.5039" not in str(one)
    assert (one[0]["lat"], one[0]["long"]) == (35.504, 113.504)
    listing = client.get("/open311/v2/requests.json?status=open&service_code=road_damage")
    valid(listing.json(), schemas.REQUESTS)
    assert code in [r["service_request_id"] for r in listing.json()]


def test_closed_mapping_follows_the_workflow(client, city) -> None:
    issue = submit(client)
    act(client, issue["id"], WORKER_A, "reject", note="不属于受理范围")
    publish(client, issue["id"])
    code = issue["public_id"]
    request = client.get(f"/open311/v2/requests.json?service_request_id={code}").json()
    valid(request, schemas.REQUESTS)
    assert request[0]["status"] == "closed" and request[0]["status_notes"] == "rejected"
    closed = client.get("/open311/v2/requests.json?status=closed").json()
    assert code in [r["service_request_id"] for r in closed]
    opened = client.get("/open311/v2/requests.json?status=open").json()
    assert code not in [r["service_request_id"] for r in opened]
    assert SUPERVISOR  # staff tokens are not needed for Open311 reads


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"lat": "35.5", "long": "113.5"}, "'service_code' is required"),
        ({"service_code": "road_damage", "long": "113.5"}, "'lat' is required"),
        ({"service_code": "road_damage", "lat": "x", "long": "113.5"}, "'lat' must be a number"),
        ({"service_code": "road_damage", "lat": "95", "long": "113.5"}, "lat"),
    ],
)
def test_errors_in_the_spec_format(client, city, form, message) -> None:
    response = client.post("/open311/v2/requests.json", data={**form, "api_key": APP_KEY})
    assert response.status_code == 400
    valid(response.json(), schemas.ERRORS)
    assert message in response.json()[0]["description"]


def test_bad_filters_and_unknown_request(client) -> None:
    bad = client.get("/open311/v2/requests.json?start_date=yesterday")
    assert bad.status_code == 400
    valid(bad.json(), schemas.ERRORS)
    missing = client.get("/open311/v2/requests/GSNOPE.json")
    assert missing.status_code == 404
    valid(missing.json(), schemas.ERRORS)


def post(client, headers=None, **fields):
    form = {"service_code": "road_damage", "lat": "35.5039", "long": "113.5039", **fields}
    return client.post("/open311/v2/requests.json", data=form, headers=headers or {})


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({}, 400, "'api_key' is required"),
        ({"api_key": "guessed"}, 403, "api_key is not valid"),
        ({"api_key": APP_KEY, "jurisdiction_id": "beijing.gov.cn"}, 404, "ordos.gov.cn"),
        ({"api_key": APP_KEY, "service_code": "ufo"}, 404, "service_code 'ufo' was not found"),
    ],
)
def test_post_needs_a_key_and_our_jurisdiction(client, city, fields, status, message) -> None:
    response = post(client, **fields)
    assert response.status_code == status
    valid(response.json(), schemas.ERRORS)
    assert response.json()[0]["code"] == status and message in response.json()[0]["description"]


def test_a_bearer_token_serves_as_api_key(client, city) -> None:
    token = WORKER_A["Authorization"].removeprefix("Bearer ")
    as_key = post(client, api_key=token)
    assert as_key.status_code == 200, as_key.text
    as_header = post(client, headers=WORKER_A)
    assert as_header.status_code == 200, as_header.text
    issue = client.get("/api/v1/issues", headers=WORKER_A).json()["issues"][0]
    assert issue["events"][0]["actor"] == "worker-a"


def test_jurisdiction_on_reads(client, city) -> None:
    ours = client.get("/open311/v2/services.json?jurisdiction_id=ordos.gov.cn")
    assert ours.status_code == 200
    for url in (
        "/open311/v2/services.json",
        "/open311/v2/services/road_damage.json",
        "/open311/v2/requests.json",
        "/open311/v2/requests/GSNOPE.json",
    ):
        other = client.get(url, params={"jurisdiction_id": "elsewhere.gov"})
        assert other.status_code == 404, url
        valid(other.json(), schemas.ERRORS)
        assert "jurisdiction_id" in other.json()[0]["description"]


def test_post_honours_idempotency_key(client, city) -> None:
    key = {"Idempotency-Key": "open311-retry-1"}
    first = post(client, key, api_key=APP_KEY, description="井盖缺失")
    again = post(client, key, api_key=APP_KEY, description="井盖缺失")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    valid(again.json(), schemas.CREATED)
    other = post(client, key, api_key=APP_KEY, description="another report")
    assert other.status_code == 422
    valid(other.json(), schemas.ERRORS)
    assert again.json()[0]["secret"] == first.json()[0]["secret"]
    code = first.json()[0]["service_request_id"]
    created_id = client.get("/api/v1/issues", headers=bearer("supervisor", "s")).json()["issues"][
        0
    ]["id"]
    publish(client, created_id)
    listed = client.get(f"/open311/v2/requests.json?service_request_id={code}").json()
    assert len(listed) == 1


def test_media_url_is_the_first_photo(client, city, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(get_settings(), "photos_dir", tmp_path)
    issue = submit(client)
    code = issue["public_id"]
    publish(client, issue["id"])
    assert client.get(f"/open311/v2/requests/{code}.json").json()[0]["media_url"] is None
    out = io.BytesIO()
    Image.new("RGB", (6, 4), (10, 10, 10)).save(out, "PNG")
    url = f"/api/v1/issues/{issue['id']}/photos"
    secret = {"X-Reporter-Secret": issue["secret"]}
    first = client.post(url, files={"photo": ("a.png", out.getvalue())}, headers=secret).json()
    second = client.post(url, files={"photo": ("b.png", out.getvalue())}, headers=secret).json()
    # Photos are public only when published with the report.
    assert client.get(f"/open311/v2/requests/{code}.json").json()[0]["media_url"] is None
    publish(client, issue["id"], photos=[second["id"]])
    request = client.get(f"/open311/v2/requests/{code}.json").json()
    valid(request, schemas.REQUESTS)
    media_url = request[0]["media_url"]
    assert media_url == f"http://testserver/api/v1/reports/{code}/photos/{second['id']}"
    image = client.get(media_url)
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    hidden = client.get(f"/api/v1/reports/{code}/photos/{first['id']}")
    assert hidden.status_code == 404
