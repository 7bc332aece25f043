"""Open311 GeoReport v2 routes at ``/open311/v2/``; errors in the spec's own format."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from gridsvc.auth.dependencies import PrincipalDep
from gridsvc.common.errors import GridsvcError, NotFoundError
from gridsvc.db import SessionDep
from gridsvc.issues import open311, open311_access, reporter
from gridsvc.issues.ratelimit import SubmissionRateLimit

router = APIRouter(prefix="/open311/v2", tags=["open311"])

JurisdictionQuery = Annotated[
    str | None,
    Query(description="Optional: this endpoint serves one jurisdiction (ordos.gov.cn)."),
]


def answer(produce: Callable[[], Any], session: Session | None = None) -> JSONResponse:
    """Run ``produce``; a domain error becomes ``[{"code", "description"}]`` with its status.

    A failed write is rolled back here, since the error never reaches the session dependency.
    """
    try:
        result = produce()
        return result if isinstance(result, Response) else JSONResponse(jsonable_encoder(result))
    except GridsvcError as error:
        if session is not None:
            session.rollback()
        code = 404 if isinstance(error, NotFoundError) else getattr(error, "status_code", 400)
        return JSONResponse([{"code": code, "description": error.message}], status_code=code)


@router.get("/discovery.json")
def discovery(request: Request) -> JSONResponse:
    """Discovery: where this GeoReport v2 endpoint is and what it speaks."""
    return answer(
        lambda: open311.discovery(str(request.url_for("services"))[: -len("services.json")])
    )


@router.get("/services.json", name="services")
def services(session: SessionDep, jurisdiction_id: JurisdictionQuery = None) -> JSONResponse:
    """Service list: the issue categories."""

    def produce() -> Any:
        open311_access.check_jurisdiction(jurisdiction_id)
        return open311.list_services(session)

    return answer(produce)


@router.get("/services/{service_code}.json")
def service_definition(
    service_code: str, session: SessionDep, jurisdiction_id: JurisdictionQuery = None
) -> JSONResponse:
    """Service definition (no extra attributes)."""

    def produce() -> Any:
        open311_access.check_jurisdiction(jurisdiction_id)
        return open311.service_definition(session, service_code)

    return answer(produce)


REQUEST_FILTERS = [  # read from the raw query below; declared so that the rest is refused
    {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
    for name in (
        "service_request_id",
        "service_code",
        "start_date",
        "end_date",
        "status",
        "jurisdiction_id",
    )
]


@router.get("/requests.json", openapi_extra={"parameters": REQUEST_FILTERS})
def list_requests(request: Request, session: SessionDep) -> JSONResponse:
    """Service requests: filter by service_request_id, service_code, start/end_date, status."""
    query = dict(request.query_params)

    def produce() -> Any:
        open311_access.check_jurisdiction(query.get("jurisdiction_id"))
        return open311.list_requests(session, query, str(request.base_url))

    return answer(produce)


async def form_fields(request: Request) -> dict[str, str]:
    """Return the form-encoded body's fields as text."""
    return {key: str(value) for key, value in (await request.form()).items()}


@router.post("/requests.json")
def create_request(
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
) -> JSONResponse:
    """Create a service request from a form-encoded body (api_key, service_code, lat, long...).

    Answers 200 with ``[{service_request_id, service_notice, account_id, secret}]``, as the
    spec's example does, plus the reporter's secret (shown once).
    """

    def produce() -> Any:
        open311_access.check_jurisdiction(form.get("jurisdiction_id"))
        poster = open311_access.poster(form.get("api_key"), principal)
        address = request.client.host if request.client else None
        scope = reporter.idempotency_scope(poster, device_id, address)
        body, replayed = open311.create_request_once(session, form, poster, idempotency_key, scope)
        headers = {"Idempotent-Replayed": "true"} if replayed else {}
        return JSONResponse(jsonable_encoder(body), headers=headers)

    return answer(produce, session=session)


@router.get("/requests/{service_request_id}.json")
def get_request(
    service_request_id: str,
    request: Request,
    session: SessionDep,
    jurisdiction_id: JurisdictionQuery = None,
) -> JSONResponse:
    """One service request, as a list of one."""

    def produce() -> Any:
        open311_access.check_jurisdiction(jurisdiction_id)
        return open311.get_request(session, service_request_id, str(request.base_url))

    return answer(produce)
