"""Open311 GeoReport v2 routes at ``/open311/v2/``; errors in the spec's own format."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from gridsvc.auth.dependencies import PrincipalDep
from gridsvc.common.errors import GridsvcError, NotFoundError
from gridsvc.db import SessionDep
from gridsvc.issues import open311

router = APIRouter(prefix="/open311/v2", tags=["open311"])


def answer(produce: Callable[[], Any], session: Session | None = None) -> JSONResponse:
    """Run ``produce``; a domain error becomes ``[{"code", "description"}]`` with its status.

    A failed write is rolled back here, since the error never reaches the session dependency.
    """
    try:
        return JSONResponse(jsonable_encoder(produce()))
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
def services(session: SessionDep) -> JSONResponse:
    """Service list: the issue categories."""
    return answer(lambda: open311.list_services(session))


@router.get("/services/{service_code}.json")
def service_definition(service_code: str, session: SessionDep) -> JSONResponse:
    """Service definition (no extra attributes)."""
    return answer(lambda: open311.service_definition(session, service_code))


@router.get("/requests.json")
def list_requests(request: Request, session: SessionDep) -> JSONResponse:
    """Service requests: filter by service_request_id, service_code, start/end_date, status."""
    return answer(lambda: open311.list_requests(session, dict(request.query_params)))


async def form_fields(request: Request) -> dict[str, str]:
    """Return the form-encoded body's fields as text."""
    return {key: str(value) for key, value in (await request.form()).items()}


@router.post("/requests.json")
def create_request(
    session: SessionDep,
    principal: PrincipalDep,
    form: Annotated[dict[str, str], Depends(form_fields)],
) -> JSONResponse:
    """Create a service request from a form-encoded body (service_code, lat, long, ...)."""
    return answer(lambda: open311.create_request(session, form, principal), session=session)


@router.get("/requests/{service_request_id}.json")
def get_request(service_request_id: str, session: SessionDep) -> JSONResponse:
    """One service request, as a list of one."""
    return answer(lambda: open311.get_request(session, service_request_id))
