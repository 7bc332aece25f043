"""The OpenAPI document tells the truth about errors: every status an operation can answer.

FastAPI documents a 422 in a shape gridsvc does not send, and no other error. Here every
operation's error statuses are derived from what it depends on, once for all routes:

- every operation: 400 (a domain error), 422 (a bad or unknown parameter), 503 (the database
  is away, or the server is too busy);
- a bearer token (optional or required): 401 and 403;
- a path parameter, a required header (a reporter's secret), a jurisdiction_id: 404;
- a request body: 408 (sent too slowly), 413 (too large), 415 (wrong type); a write: 409;
- a route or dependency marked with :func:`answers` (the submission rate limit: 429; the
  heavy lane's time limit: 504).

Error bodies share one schema (``Error``; ``InvalidRequest`` for 422, as ``gridsvc.main``
writes them); Open311 operations may also answer the spec's ``[{code, description}]``, or
its ``<errors>`` in XML.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security.base import SecurityBase

BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
REF = "#/components/schemas/"

REASONS = {
    400: "The request is understood but refused (the message says why).",
    401: "No bearer token, or one that is invalid or expired.",
    403: "The token's role or scope does not allow this.",
    404: "Not found (or not within the caller's scope).",
    408: "The request body arrived too slowly.",
    409: "The object's state does not allow this now.",
    413: "The request body (or photo) is too large.",
    415: "The request body's media type is not accepted.",
    422: "A parameter or body field is malformed, out of range or unknown; each is named.",
    429: "Too many submissions from this address or device: wait as Retry-After says.",
    503: "The database is away or the server is busy: retry after Retry-After seconds.",
    504: "The work took longer than the server's time limit.",
}
HEADERS = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}}},
    429: {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}},
    503: {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}},
}
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
NAMING_QUERY = {"jurisdiction_id"}  # query parameters naming a thing: 404 when unknown

SCHEMAS = {
    "Error": {
        "type": "object",
        "required": ["detail"],
        "properties": {"detail": {"type": "string", "description": "What is wrong."}},
    },
    "InvalidRequest": {
        "type": "object",
        "required": ["detail", "errors"],
        "properties": {
            "detail": {"type": "string", "description": "Every problem, each field named."},
            "errors": {"type": "array", "items": {"$ref": f"{REF}Problem"}},
        },
    },
    "Problem": {
        "type": "object",
        "required": ["loc", "msg", "type"],
        "properties": {
            "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
            "msg": {"type": "string"},
            "type": {"type": "string"},
        },
    },
    "Open311Errors": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["code", "description"],
            "properties": {"code": {"type": "integer"}, "description": {"type": "string"}},
        },
    },
}


def answers(*statuses: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a route or dependency as answering ``statuses`` (a rate limit's 429...)."""

    def mark(dependency: Callable[..., Any]) -> Callable[..., Any]:
        dependency.openapi_statuses = tuple(statuses)  # type: ignore[attr-defined]
        return dependency

    return mark


def dependencies(dependant: Dependant) -> Iterator[Dependant]:
    """Yield ``dependant`` and every dependency under it."""
    yield dependant
    for child in dependant.dependencies:
        yield from dependencies(child)


def names_a_thing(dependant: Dependant) -> bool:
    """Whether a parameter names something that may not exist (so the answer may be a 404).

    Path parameters, required headers (a reporter's secret) and Open311's jurisdiction_id.
    """
    return bool(
        dependant.path_params
        or any(field.field_info.is_required() for field in dependant.header_params)
        or any(field.alias in NAMING_QUERY for field in dependant.query_params)
    )


def error_statuses(route: APIRoute, method: str) -> set[int]:
    """Return the error statuses an operation can answer, from its dependencies and body."""
    statuses = {400, 422, 503}
    tree = list(dependencies(route.dependant))
    if any(isinstance(node.call, SecurityBase) for node in tree):
        statuses |= {401, 403}
    extra = (route.openapi_extra or {}).get("parameters", [])
    if any(names_a_thing(node) for node in tree) or any(
        p.get("in") == "query" and p.get("name") in NAMING_QUERY for p in extra
    ):
        statuses.add(404)
    if route.body_field is not None or method in WRITES:
        statuses |= {408, 413, 415}
    if method in WRITES:
        statuses.add(409)
    for call in [route.endpoint, *(node.call for node in tree)]:
        statuses.update(getattr(call, "openapi_statuses", ()))
    return statuses


def error_response(status: int, open311: bool) -> dict[str, Any]:
    """One documented error answer, with its body's schema and headers."""
    schema: dict[str, Any] = {"$ref": f"{REF}{'InvalidRequest' if status == 422 else 'Error'}"}
    if open311 and status != 422:
        schema = {"anyOf": [schema, {"$ref": f"{REF}Open311Errors"}]}
    content: dict[str, Any] = {"application/json": {"schema": schema}}
    if open311:
        content["text/xml"] = {"schema": {"type": "string", "description": "<errors><error>…"}}
    response: dict[str, Any] = {"description": REASONS.get(status, "Error."), "content": content}
    if status in HEADERS:
        response["headers"] = HEADERS[status]
    return response


def bound_integers(node: Any) -> None:
    """Give every integer schema without bounds PostgreSQL's bigint range (what is accepted)."""
    if isinstance(node, dict):
        if node.get("type") == "integer":
            node.setdefault("minimum", BIGINT_MIN)
            node.setdefault("maximum", BIGINT_MAX)
        for value in node.values():
            bound_integers(value)
    elif isinstance(node, list):
        for value in node:
            bound_integers(value)


def document(app: FastAPI, schema: dict[str, Any]) -> dict[str, Any]:
    """Return ``schema`` with every operation's error answers and the shared error schemas."""
    schema = copy.deepcopy(schema)
    paths = schema.get("paths", {})
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not context.include_in_schema:
            continue
        for method in context.methods or ():
            operation = paths.get(context.path_format, {}).get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            open311 = context.path_format.startswith("/open311/")
            declared = {int(code) for code in responses if code[:1] in ("4", "5")}
            for status in sorted(error_statuses(route, method) | declared):
                generated = error_response(status, open311)
                documented = responses.setdefault(str(status), {})
                documented.setdefault("description", generated["description"])
                documented["content"] = generated["content"]
                if "headers" in generated:
                    documented.setdefault("headers", generated["headers"])
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    components.update(SCHEMAS)
    bound_integers(schema)
    return schema


def document_errors(app: FastAPI) -> None:
    """Make ``app.openapi()`` answer the documented schema (recomputed when routes change)."""
    generate = app.openapi
    memo: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        source = generate()
        if memo.get("source") is not source:
            memo["source"], memo["documented"] = source, document(app, source)
        return memo["documented"]

    app.openapi = openapi  # type: ignore[method-assign]
