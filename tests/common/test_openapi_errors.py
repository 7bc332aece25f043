"""The OpenAPI document declares the error answers the app really gives, in their real shape."""

from __future__ import annotations

import jsonschema
import pytest
from fastapi.testclient import TestClient

from gridsvc.common.openapi import BIGINT_MAX
from tests.conftest import openapi_document
from tests.issues.conftest import bearer

DOCUMENT = openapi_document()
OPERATIONS = [
    (method.upper(), path, operation)
    for path, operations in DOCUMENT["paths"].items()
    for method, operation in operations.items()
]


def statuses(method: str, path: str) -> set[str]:
    return set(DOCUMENT["paths"][path][method.lower()]["responses"])


def documented_schema(method: str, path: str, status: int) -> dict:
    """The response schema as a standalone JSON Schema, components resolvable."""
    response = DOCUMENT["paths"][path][method.lower()]["responses"][str(status)]
    schema = response["content"]["application/json"]["schema"]
    return {**schema, "components": DOCUMENT["components"]}


def test_fastapis_422_shape_is_gone():
    assert "HTTPValidationError" not in DOCUMENT["components"]["schemas"]
    assert "HTTPValidationError" not in str(DOCUMENT)
    invalid = DOCUMENT["components"]["schemas"]["InvalidRequest"]
    assert set(invalid["required"]) == {"detail", "errors"}


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS)
def test_every_operation_documents_its_errors(method: str, path: str, operation: dict):
    responses = operation["responses"]
    assert {"400", "422", "503"} <= set(responses)
    assert "Retry-After" in responses["503"]["headers"]
    for status, response in responses.items():
        if status.startswith(("4", "5")):
            assert "$ref" in str(response["content"]["application/json"]["schema"])


def test_statuses_follow_what_an_operation_depends_on():
    assert {"401", "403"} <= statuses("GET", "/api/v1/issues")  # a staff token
    assert {"401", "403"} <= statuses("POST", "/api/v1/issues")  # an optional token
    assert "401" not in statuses("GET", "/api/v1/grids")
    assert "404" in statuses("GET", "/api/v1/grids/{code}")  # a path parameter
    assert "404" in statuses("GET", "/api/v1/track")  # the reporter's secret header
    assert "404" in statuses("GET", "/open311/v2/services.{fmt}")  # jurisdiction_id, the suffix
    assert "404" not in statuses("GET", "/api/v1/grids")
    assert {"408", "413", "415", "409"} <= statuses("POST", "/api/v1/coverage/what-if")
    assert "413" not in statuses("GET", "/api/v1/grids")
    assert "429" in statuses("POST", "/api/v1/issues")
    assert "429" in statuses("POST", "/open311/v2/requests.{fmt}")
    assert "429" not in statuses("POST", "/api/v1/coverage/what-if")
    assert "504" in statuses("POST", "/api/v1/coverage/siting")  # the heavy lane's time limit
    assert "504" not in statuses("GET", "/api/v1/grids")


def test_integer_parameters_are_bounded_to_bigint():
    parameters = DOCUMENT["paths"]["/api/v1/issues/{issue_id}"]["get"]["parameters"]
    issue_id = next(p for p in parameters if p["name"] == "issue_id")
    assert issue_id["schema"]["maximum"] == BIGINT_MAX


@pytest.mark.parametrize(
    ("method", "url", "path", "status", "headers"),
    [
        ("GET", "/api/v1/grids?limit=0", "/api/v1/grids", 422, {}),
        ("GET", "/api/v1/grids?colour=red", "/api/v1/grids", 422, {}),
        ("GET", "/api/v1/grids/150699009009009", "/api/v1/grids/{code}", 404, {}),
        ("GET", "/api/v1/issues", "/api/v1/issues", 401, {}),
        ("GET", "/api/v1/issues", "/api/v1/issues", 403, bearer("reporter")),
        ("GET", "/open311/v2/services.json?jurisdiction_id=x", "/open311/v2/services.{fmt}", 404,
         {}),
    ],
)  # fmt: skip
def test_real_error_bodies_match_the_document(
    client: TestClient, method: str, url: str, path: str, status: int, headers: dict
):
    response = client.request(method, url, headers=headers)
    assert response.status_code == status
    jsonschema.validate(response.json(), documented_schema(method, path, status))
