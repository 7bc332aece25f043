"""Checks every request passes before its route runs: one rule for all operations.

- A query parameter the operation does not declare is refused, not silently ignored.
- A NUL character in a query, path, header, form or JSON text is refused: PostgreSQL stores
  no NUL in text, and the caller should hear which field held it.
- An integer beyond PostgreSQL's bigint in an integer parameter or anywhere in a JSON body is
  refused: no id, count or offset is that large.

Each refusal is an :class:`InvalidParameterError` (422) naming the field as the caller sent it.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.dependencies.utils import get_flat_params
from fastapi.routing import APIRoute

from gridsvc.common.errors import InvalidParameterError, field_name

BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
NUL = "\x00"


class Declared(typing.NamedTuple):
    """What an operation declares: its query parameters, and which parameters are integers."""

    query: frozenset[str]
    integers: tuple[tuple[str, str], ...]  # (location, alias)


_declared: dict[int, Declared] = {}


def is_integer(annotation: Any) -> bool:
    """Whether a parameter's annotation is ``int``, ``int | None`` or ``list[int]``."""
    if annotation is int:
        return True
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list, tuple, set, typing.Annotated):
        return any(is_integer(argument) for argument in typing.get_args(annotation))
    return False


def location_of(field: Any) -> str:
    """Return where a parameter is given: ``query``, ``path``, ``header`` or ``cookie``."""
    location = getattr(field.field_info, "in_", None)
    return getattr(location, "value", "")


def declared(route: APIRoute) -> Declared:
    """Return the route's declared parameters, its dependencies' included (cached per route)."""
    found = _declared.get(id(route))
    if found is None:
        fields = get_flat_params(route.dependant)
        query = {f.alias for f in fields if location_of(f) == "query"}
        # Routes that read the raw query string list what they accept in openapi_extra.
        extra = (route.openapi_extra or {}).get("parameters", [])
        query |= {p["name"] for p in extra if p.get("in") == "query"}
        integers = tuple(
            (location_of(f), f.alias) for f in fields if is_integer(f.field_info.annotation)
        )
        found = _declared[id(route)] = Declared(frozenset(query), integers)
    return found


def check_query_names(request: Request, accepted: frozenset[str]) -> None:
    """Refuse query parameters the operation does not declare."""
    unknown = sorted(set(request.query_params.keys()) - accepted)
    if unknown:
        known = ", ".join(sorted(accepted)) or "none"
        raise InvalidParameterError(
            unknown[0],
            f"unknown parameter{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr_free(name) for name in unknown)}; this operation takes: {known}",
        )


def repr_free(text: str) -> str:
    """Quote a caller's text for a message, control characters (NUL...) written as escapes."""
    shown = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)
    return f"'{shown}'"


def check_text(location: str, name: str, value: str) -> None:
    """Refuse a NUL character in one text value."""
    if NUL in value or NUL in name:
        shown = name.replace(NUL, "\\x00")
        raise InvalidParameterError(shown, "contains a NUL character (\\x00)", location)


def check_integer(location: str, name: str, value: str) -> None:
    """Refuse an integer parameter beyond bigint; other malformations are pydantic's to name."""
    try:
        number = int(value)
    except ValueError:
        return
    if not BIGINT_MIN <= number <= BIGINT_MAX:
        raise InvalidParameterError(
            name, f"must lie in [{BIGINT_MIN}, {BIGINT_MAX}], got {value}", location
        )


def values_in(request: Request, location: str, name: str) -> list[str]:
    """Return the raw values of a parameter, as sent."""
    if location == "query":
        return request.query_params.getlist(name)
    if location == "path":
        value = request.path_params.get(name)
        return [] if value is None else [str(value)]
    if location == "header":
        return request.headers.getlist(name)
    return []


def walk(document: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple, Any]]:
    """Yield every scalar of a JSON document with its path (keys are checked as values too)."""
    if isinstance(document, dict):
        for key, value in document.items():
            yield (*path, key), key
            yield from walk(value, (*path, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from walk(value, (*path, index))
    else:
        yield path, document


def check_json(body: bytes) -> None:
    """Refuse NUL in any text and integers beyond bigint anywhere in a JSON body."""
    if not body:
        return
    try:
        document = json.loads(body)
    except ValueError:
        return  # malformed JSON is FastAPI's to report
    for raw_path, value in walk(document):
        path = [p.replace(NUL, "\\x00") if isinstance(p, str) else p for p in raw_path]
        name = field_name(path) or "body"
        if isinstance(value, str) and NUL in value:
            raise InvalidParameterError(name, "contains a NUL character (\\u0000)", "body")
        if isinstance(value, int) and not isinstance(value, bool):
            if not BIGINT_MIN <= value <= BIGINT_MAX:
                raise InvalidParameterError(
                    name, f"must lie in [{BIGINT_MIN}, {BIGINT_MAX}], got {value}", "body"
                )


async def check_body(request: Request) -> None:
    """Check a JSON or form-encoded body already read by the route."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        check_json(await request.body())
    elif media_type == "application/x-www-form-urlencoded":
        text = (await request.body()).decode("utf-8", "replace")
        for name, value in parse_qsl(text, keep_blank_values=True):
            check_text("body", name, value)


async def check_request(request: Request) -> None:
    """Refuse unknown query parameters, NUL characters and integers beyond bigint."""
    route = request.scope.get("route")
    if isinstance(route, APIRoute):
        found = declared(route)
        check_query_names(request, found.query)
        for location, name in found.integers:
            for value in values_in(request, location, name):
                check_integer(location, name, value)
    for name, value in request.query_params.multi_items():
        check_text("query", name, value)
    for name, value in request.path_params.items():
        check_text("path", name, str(value))
    for name, value in request.headers.items():
        check_text("header", name, value)
    await check_body(request)
