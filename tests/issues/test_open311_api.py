from __future__ import annotations

import jsonschema
import pytest

from tests.issues import open311_schemas as schemas
from tests.issues.test_workflow_api import SUPERVISOR, WORKER_A, act, submit

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
    }
    created = client.post("/open311/v2/requests.json", data=form)
    assert created.status_code == 200, created.text
    valid(created.json(), schemas.CREATED)
    code = created.json()[0]["service_request_id"]
    assert "150699001001001" in created.json()[0]["service_notice"]
    one = client.get(f"/open311/v2/requests/{code}.json").json()
    valid(one, schemas.REQUESTS)
    assert one[0]["status"] == "open" and one[0]["agency_responsible"] == "交通运输局"
    assert "someone@example.com" not in str(one)
    listing = client.get("/open311/v2/requests.json?status=open&service_code=road_damage")
    valid(listing.json(), schemas.REQUESTS)
    assert code in [r["service_request_id"] for r in listing.json()]


def test_closed_mapping_follows_the_workflow(client, city) -> None:
    issue = submit(client)
    act(client, issue["id"], WORKER_A, "reject", note="不属于受理范围")
    code = issue["tracking_code"]
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
        ({"lat": "35.5", "long": "113.5"}, "service_code"),
        ({"service_code": "road_damage", "long": "113.5"}, "'lat' is required"),
        ({"service_code": "road_damage", "lat": "x", "long": "113.5"}, "'lat' must be a number"),
        ({"service_code": "road_damage", "lat": "95", "long": "113.5"}, "lat"),
    ],
)
def test_errors_in_the_spec_format(client, city, form, message) -> None:
    response = client.post("/open311/v2/requests.json", data=form)
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
