"""Open311 GeoReport v2 routes at ``/open311/v2/``, JSON or XML; errors in the spec's format.

Every route ends in ``.json`` or ``.xml`` (the spec's format suffix); the answer, errors
included, is in that format: :func:`open311_errors` wraps the app's error handlers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response

from gridsvc.auth.dependencies import PrincipalDep
from gridsvc.common.errors import GridsvcError, InvalidParameterError, status_of
from gridsvc.db import SessionDep
from gridsvc.issues.open311 import access as open311_access
from gridsvc.issues.open311 import service as open311_service
from gridsvc.issues.open311 import xml_format as open311_xml
from gridsvc.issues.reporters import secrets as reporter
from gridsvc.issues.reporters.ratelimit import SubmissionRateLimit

router = APIRouter(prefix="/open311/v2", tags=["open311"])

JurisdictionQuery = Annotated[
    str | None,
    Query(description="Optional: this endpoint serves one jurisdiction (ordos.gov.cn)."),
]
LocaleQuery = Annotated[
    str | None,
    Query(description="zh_CN (default): Chinese service names; en: English ones."),
]
Format = Literal["json", "xml"]
ErrorHandler = Callable[[Request, Any], Awaitable[Response]]
#: What an Open311 route answers: JSON or XML by its suffix. The error answers' bodies (the
#: spec's format, in either) are documented with every other error (common/openapi.py).
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The answer, in the format the path's suffix names.",
        "content": {"application/json": {}, "text/xml": {"schema": {"type": "string"}}},
    },
    400: {"description": "Bad request"},
    403: {"description": "Bad api_key"},
    404: {"description": "Not found"},
}


def rendered(
    result: Any, fmt: Format, names: tuple[str, str] | None, status: int = 200
) -> Response:
    """Return the answer in the asked format: a list under ``names`` in XML, or one element."""
    if fmt == "json":
        return JSONResponse(jsonable_encoder(result), status_code=status)
    body = jsonable_encoder(result)
    if names is None:
        content = open311_xml.document("service_definition", body)
    else:
        content = open311_xml.listing(names, body)
    return Response(content, status_code=status, media_type=open311_xml.MEDIA_TYPE)


PREFIX = router.prefix + "/"


def open311_errors(handler: ErrorHandler) -> ErrorHandler:
    """Answer domain errors under ``/open311/v2/`` in the spec's format, others with ``handler``.

    ``[{"code", "description"}]`` with the error's status, in the path's format. It is an
    exception handler, so the session dependency has rolled back before it answers. A 422
    for a bad parameter keeps the shape every route gives it (the OpenAPI document's).
    """

    async def handle(request: Request, error: Exception) -> Response:
        if (
            not isinstance(error, GridsvcError)
            or isinstance(error, InvalidParameterError)  # one 422 shape, as the document says
            or not request.url.path.startswith(PREFIX)
        ):
            return await handler(request, error)
        code = status_of(error)
        fmt: Format = "xml" if request.url.path.endswith(".xml") else "json"
        response = rendered(
            [{"code": code, "description": error.message}], fmt, open311_xml.ERRORS, code
        )
        if code == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    return handle


@router.get("/discovery.json")
def discovery(request: Request) -> Response:
    """Discovery: where this GeoReport v2 endpoint is and what it speaks."""
    services_url = str(request.url_for("services", fmt="json"))
    return rendered(open311_service.discovery(services_url[: -len("services.json")]), "json", None)


@router.get("/services.{fmt}", name="services", responses=RESPONSES)
def services(
    fmt: Format,
    session: SessionDep,
    jurisdiction_id: JurisdictionQuery = None,
    locale: LocaleQuery = None,
) -> Response:
    """Service list: the issue categories."""
    open311_access.check_jurisdiction(jurisdiction_id)
    return rendered(open311_service.list_services(session, locale), fmt, open311_xml.SERVICES)


@router.get("/services/{service_code}.{fmt}", responses=RESPONSES)
def service_definition(
    service_code: str, fmt: Format, session: SessionDep, jurisdiction_id: JurisdictionQuery = None
) -> Response:
    """Service definition (no extra attributes)."""
    open311_access.check_jurisdiction(jurisdiction_id)
    return rendered(open311_service.service_definition(session, service_code), fmt, None)


REQUEST_FILTERS = [  # read from the raw query below; declared so that the rest is refused
    {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
    for name in (
        "service_request_id",
        "service_code",
        "start_date",
        "end_date",
        "status",
        "jurisdiction_id",
        "locale",
    )
]


@router.get("/requests.{fmt}", responses=RESPONSES, openapi_extra={"parameters": REQUEST_FILTERS})
def list_requests(fmt: Format, request: Request, session: SessionDep) -> Response:
    """Service requests: filter by service_request_id, service_code, start/end_date, status.

    ``locale`` names the services in Chinese (zh_CN, default) or English (en).
    """
    query = dict(request.query_params)
    open311_access.check_jurisdiction(query.get("jurisdiction_id"))
    found = open311_service.list_requests(session, query, str(request.base_url))
    return rendered(found, fmt, open311_xml.REQUESTS)


async def form_fields(request: Request) -> dict[str, str]:
    """Return the form-encoded body's fields as text."""
    return {key: str(value) for key, value in (await request.form()).items()}


@router.post("/requests.{fmt}", responses=RESPONSES)
def create_request(
    fmt: Format,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    rate_limited: SubmissionRateLimit,
    form: Annotated[dict[str, str], Depends(form_fields)],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="A retry with the same key and form gets the first answer (200).",
        ),
    ] = None,
    device_id: Annotated[
        str | None,
        Header(alias="X-Device-Id", max_length=100, description="Scopes Idempotency-Keys."),
    ] = None,
) -> Response:
    """Create a service request from a form-encoded body (api_key, service_code, lat, long...).

    Answers 200 with ``[{service_request_id, service_notice, account_id, secret}]``, as the
    spec's example does, plus the reporter's secret (shown once). Extensions: ``crs``
    (wgs84, gcj02 or bd09; default wgs84), ``media_url`` (kept as a link for staff, never
    fetched), ``account_id`` (echoed back).
    """
    open311_access.check_jurisdiction(form.get("jurisdiction_id"))
    poster = open311_access.poster(form.get("api_key"), principal)
    address = request.client.host if request.client else None
    scope = reporter.idempotency_scope(poster, device_id, address)
    body, replayed = open311_service.create_request_once(
        session, form, poster, idempotency_key, scope
    )
    response = rendered(body, fmt, open311_xml.REQUESTS)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@router.get("/requests/{service_request_id}.{fmt}", responses=RESPONSES)
def get_request(
    service_request_id: str,
    fmt: Format,
    request: Request,
    session: SessionDep,
    jurisdiction_id: JurisdictionQuery = None,
    locale: LocaleQuery = None,
) -> Response:
    """One service request, as a list of one."""
    open311_access.check_jurisdiction(jurisdiction_id)
    found = open311_service.get_request(session, service_request_id, str(request.base_url), locale)
    return rendered(found, fmt, open311_xml.REQUESTS)
