"""The web app: routers and the mapping of errors to responses.

Every error body has the same shape: ``{"detail": "<what is wrong>"}``; a 422 also lists
each problem under ``errors`` as FastAPI does (``loc``, ``msg``, ``type``).
Creating the app never touches the database: the engine is resolved by the first request.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from gridsvc import __version__
from gridsvc.cluster.home import ClusterError
from gridsvc.common import inputs, openapi
from gridsvc.common.errors import (
    DatabaseUnavailableError,
    GridsvcError,
    InvalidParameterError,
    field_name,
    status_of,
    where,
)
from gridsvc.common.headers import SecurityHeaders
from gridsvc.common.limits import BodyLimits
from gridsvc.coverage.views import router as coverage_router
from gridsvc.facilities.views import router as facilities_router
from gridsvc.geodata.views import router as geodata_router
from gridsvc.grids.views import router as grids_router
from gridsvc.health.views import router as health_router
from gridsvc.issues.bulletins.views import router as bulletins_router
from gridsvc.issues.indicators.views import router as indicators_router
from gridsvc.issues.open311.views import open311_errors
from gridsvc.issues.open311.views import router as open311_router
from gridsvc.issues.reporters.views import router as reporter_router
from gridsvc.issues.views import router as issues_router
from gridsvc.maps import views as maps_views
from gridsvc.ogc.tile_views import router as ogc_tiles_router
from gridsvc.ogc.views import router as ogc_router
from gridsvc.rebalancing.views import router as rebalance_router
from gridsvc.residents.views import router as residents_router

logger = logging.getLogger("gridsvc")

DESCRIPTION = (
    "Management grids, districts and facilities of the city. Geometries are RFC 7946 "
    "GeoJSON in WGS-84 (EPSG:4326), lon/lat order; only the current generation of every "
    "boundary is served."
)


def describe(error: dict[str, Any]) -> str:
    """One problem as "query parameter 'limit': <message>" or "body field 'add[0].lon': ..."."""
    location = list(error.get("loc", ()))
    if len(location) >= 2 and location[0] in ("query", "path", "header", "cookie", "body"):
        place = where(str(location[0]), field_name(location[1:]))
    else:
        place = " -> ".join(str(part) for part in location) or "request"
    return f"{place}: {error.get('msg', 'invalid value')}"


async def validation_failed(request: Request, error: RequestValidationError) -> JSONResponse:
    """422 naming each bad parameter in ``detail``."""
    problems = jsonable_encoder(error.errors(), exclude={"input", "url"})
    detail = "; ".join(describe(problem) for problem in problems)
    return JSONResponse({"detail": detail, "errors": problems}, status_code=422)


#: Seconds a client is asked to wait before retrying while the database is away.
RETRY_AFTER_S = 5


async def database_unavailable(request: Request, error: Exception) -> JSONResponse:
    """503 with Retry-After: the database cannot be reached; nothing of the request was kept.

    The driver's text names the host, port and driver: it goes to the server log, never
    into the answer.
    """
    logger.warning("database unavailable: %s", str(getattr(error, "orig", None) or error)[:300])
    return JSONResponse(
        {"detail": "database unavailable: nothing was stored; try again shortly"},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


async def database_refused(request: Request, error: DBAPIError) -> JSONResponse:
    """500: the database refused the work (a constraint at commit, say); nothing was stored."""
    if error.connection_invalidated:
        return await database_unavailable(request, error)
    logger.error("database refused the request: %s", str(error.orig or error)[:500])
    return JSONResponse(
        {"detail": "the database refused this request: nothing was stored"}, status_code=500
    )


async def domain_error(request: Request, error: GridsvcError) -> JSONResponse:
    """Any domain error, with the status of its kind (``common.errors.STATUS_CODES``).

    A bad parameter also lists itself in ``errors``, in the shape of FastAPI's own 422s.
    """
    status_code = status_of(error)
    body: dict[str, Any] = {"detail": error.message}
    if isinstance(error, InvalidParameterError):
        body["errors"] = [{"loc": error.loc, "msg": error.reason, "type": "value_error"}]
    headers = {"WWW-Authenticate": "Bearer"} if status_code == 401 else None
    return JSONResponse(body, status_code=status_code, headers=headers)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Warm the city in the background, and run the scheduler (escalation, bulletins).

    Each unless its setting is off (``GRIDSVC_WARM_CITY``, ``GRIDSVC_SCHEDULER``).
    """
    from gridsvc.common.memory import freeze_long_lived
    from gridsvc.config import get_settings
    from gridsvc.db import session_factory

    freeze_long_lived()  # the modules and routes, kept for good: out of collector passes
    if get_settings().warm_city:
        from gridsvc.coverage import cache

        cache.start_warming(lambda: session_factory()())
    if not get_settings().scheduler:
        yield
        return
    from gridsvc.issues import scheduler

    jobs = scheduler.build(session_factory())
    jobs.start()
    app.state.scheduler = jobs
    try:
        yield
    finally:
        jobs.shutdown(wait=False)


def create_app() -> FastAPI:
    """Build the gridsvc API with its routers and error mapping; connects to nothing yet."""
    app = FastAPI(
        title="gridsvc",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,  # served by maps_views.docs_router from local assets
        redoc_url=None,  # ReDoc only loads from a CDN: not offered rather than blank offline
        openapi_url="/openapi.json",
        dependencies=[Depends(inputs.check_request)],
        lifespan=lifespan,
    )
    app.add_middleware(BodyLimits)
    # Outermost: a 413 or 408 from the body limits carries the headers too.
    app.add_middleware(SecurityHeaders, image_sources=maps_views.tile_sources())
    app.add_exception_handler(RequestValidationError, validation_failed)
    # Domain errors under /open311/v2/ answer in the spec's format (open311_errors).
    app.add_exception_handler(DatabaseUnavailableError, open311_errors(database_unavailable))
    app.add_exception_handler(OperationalError, database_unavailable)
    app.add_exception_handler(InterfaceError, database_unavailable)
    app.add_exception_handler(ClusterError, database_unavailable)
    app.add_exception_handler(DBAPIError, database_refused)
    app.add_exception_handler(GridsvcError, open311_errors(domain_error))
    app.include_router(health_router)
    app.include_router(rebalance_router)  # before /grids/{code}
    app.include_router(grids_router)
    app.include_router(facilities_router)
    app.include_router(coverage_router)
    app.include_router(geodata_router)
    app.include_router(issues_router)
    app.include_router(indicators_router)
    app.include_router(bulletins_router)
    app.include_router(reporter_router)
    app.include_router(open311_router)
    app.include_router(ogc_router)
    app.include_router(ogc_tiles_router)
    app.include_router(maps_views.router)
    app.include_router(maps_views.docs_router)
    app.include_router(residents_router)
    app.mount("/static", maps_views.static_files(), name="static")
    openapi.document_errors(app)
    return app


app = create_app()
