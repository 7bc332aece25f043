"""Schemathesis over every operation, with and without an admin token, on the lattice city.

The lattice city sits in a database of its own: what other modules committed to the shared
test database (the demo city) would make the whole-city answers slower and change with the
order the modules ran in.

Each operation gets a small, derandomised budget of generated requests, valid ones and
(negative mode) ones that break the document; every answer must be no server error, a
status the operation documents, a body and headers that match the document, and a
documented content type.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.conftest import app_on, engine_of_its_own, openapi_document
from tests.factories import make_test_city
from tests.issues.conftest import bearer

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Per operation, caller and mode (`make test-fast` asks for 5); a deeper hunt:
# GRIDSVC_TEST_EXAMPLES=200 pytest this file.
EXAMPLES = int(os.environ.get("GRIDSVC_TEST_EXAMPLES", "15"))
# Whole-city computations get fewer: each one solves coverage or renders a map.
HEAVY = ("/api/v1/coverage/siting", "/api/v1/coverage/what-if", "/maps/")

OPERATIONS = sorted(
    (method.upper(), path)
    for path, operations in openapi_document()["paths"].items()
    for method in operations
)

engine = engine_of_its_own("schemathesis")


@pytest.fixture(scope="module")
def schema(engine: Engine) -> Iterator[schemathesis.BaseSchema]:
    """The app on the lattice city, in one transaction rolled back after the whole file."""
    with engine.connect() as connection:
        transaction = connection.begin()
        session = Session(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        make_test_city(session)
        session.commit()  # releases the savepoint: a request's rollback keeps the city
        app = app_on(session)
        try:
            yield schemathesis.openapi.from_asgi("/openapi.json", app)
        finally:
            session.close()
            transaction.rollback()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize("caller", ["anonymous", "admin"])
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_conforms(schema, method: str, path: str, caller: str, mode: GenerationMode):
    operation = schema[path][method]
    headers = bearer("admin") if caller == "admin" else {}
    budget = max(2, EXAMPLES // 3) if path.startswith(HEAVY) else EXAMPLES

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=budget,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def conforms(case) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    try:
        conforms()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise
        pytest.skip("nothing in this operation's parameters can be made invalid")
