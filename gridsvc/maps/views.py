"""Routes of the maps, the static assets they load, and the offline API docs."""

from __future__ import annotations

import gzip
from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import Mount

from gridsvc.auth.dependencies import BrowserStaffDep
from gridsvc.common.headers import TOKEN_COOKIE
from gridsvc.common.heavy import heavy
from gridsvc.config import get_settings
from gridsvc.db import SessionDep
from gridsvc.issues.workflow import Status
from gridsvc.maps import assets, service, tiled_pages
from gridsvc.maps.basemap import RenderOptions, base_tiles
from gridsvc.maps.index import index_html
from gridsvc.maps.render import GRID_MEASURES
from gridsvc.maps.versions import versioned

router = APIRouter(
    prefix="/maps", tags=["maps"], responses={404: {"description": "Nothing to draw."}}
)
docs_router = APIRouter(include_in_schema=False)

DISTRICT = Query(
    description="Only this district (6-digit code); the whole city when omitted.",
    examples=["150602"],
)
CIRCLE = Query(description="Living circle code (see /api/v1/circles); the first one if omitted.")
MODE = Query(description="network (walking on streets) or euclidean (straight line).")


#: Pages above this size go gzipped to clients that accept it (a city map: 3.4 → 0.4 MB).
GZIP_ABOVE_BYTES = 16_384
#: Static files above this size go gzipped to clients that accept it.
STATIC_GZIP_ABOVE_BYTES = 1_024


def map_page(request: Request, html: str, etag: str | None = None) -> Response:
    """Return an HTML response, gzipped when the client accepts it and the page is large.

    A page kept per data version has an ``etag``: the browser revalidates it on every
    load (``no-cache``) and gets a 304 while the data are unchanged.
    """
    body = html.encode("utf-8")
    accepts = "gzip" in request.headers.get("accept-encoding", "").lower()
    gzipped = accepts and len(body) >= GZIP_ABOVE_BYTES
    headers = {"Vary": "Accept-Encoding"} if gzipped or etag else {}
    if etag is not None:
        headers["ETag"] = f'"{etag}-gzip"' if gzipped else f'"{etag}"'
        headers["Cache-Control"] = "no-cache"
        if headers["ETag"] in request.headers.get("if-none-match", ""):
            # As HTML: the browser takes the 304's headers for the page it keeps, so the
            # page's security policy must come with it (not the data answers' "none").
            return Response(status_code=304, headers=headers, media_type="text/html")
    if not gzipped:
        return HTMLResponse(body, headers=headers)
    headers["Content-Encoding"] = "gzip"
    return HTMLResponse(gzip.compress(body, compresslevel=6), headers=headers)


def served_options(session: SessionDep) -> RenderOptions:
    """Options of a served map: its reference tiles' URLs carry their data versions."""
    return versioned(session, service.render_options(get_settings()))


#: A page kept per data version answers 304 to a reload while the data are unchanged.
NOT_MODIFIED = {304: {"description": "Unchanged since the ETag given in If-None-Match."}}


@router.get("", response_class=HTMLResponse)
def maps_index(session: SessionDep) -> HTMLResponse:
    """Return a page listing the maps: the whole city's grids and each district's."""
    return HTMLResponse(index_html(service.map_links(session)))


@router.get("/grids", response_class=HTMLResponse)
@heavy
def grids_map(
    request: Request,
    session: SessionDep,
    district: Annotated[str | None, DISTRICT] = None,
    measure: Annotated[
        str, Query(description=f"What colours the grids: one of {', '.join(GRID_MEASURES)}.")
    ] = "density",
) -> HTMLResponse:
    """Grids coloured by a measure with a classed legend, facilities clustered by type."""
    options = served_options(session)
    return map_page(request, service.grids_map_html(session, options, district, measure))


@router.get("/coverage", response_class=HTMLResponse, responses=NOT_MODIFIED)
@heavy
def coverage_map(
    request: Request,
    session: SessionDep,
    circle: Annotated[str | None, CIRCLE] = None,
    mode: Annotated[str, MODE] = "network",
    district: Annotated[str | None, DISTRICT] = None,
) -> Response:
    """Grids coloured by coverage with a classed legend, gap polygons and the facilities."""
    return coverage_page(request, session, circle, mode, district, scenario=False)


@router.get("/scenario", response_class=HTMLResponse, responses=NOT_MODIFIED)
@heavy
def scenario_map(
    request: Request,
    session: SessionDep,
    circle: Annotated[str | None, CIRCLE] = None,
    mode: Annotated[str, MODE] = "network",
    district: Annotated[str | None, DISTRICT] = None,
) -> Response:
    """Try a what-if on the coverage map: add, move or remove facilities; suggest k sites."""
    return coverage_page(request, session, circle, mode, district, scenario=True)


def coverage_page(
    request: Request,
    session: SessionDep,
    circle: str | None,
    mode: str,
    district: str | None,
    scenario: bool,
) -> Response:
    """Answer the coverage (or scenario) page: from the stored coverage's tiles, else GeoJSON."""
    options = service.render_options(get_settings())
    if options.vector_tiles and tiled_pages.has_stored_coverage(session, circle, mode, district):
        page = tiled_pages.tiled_coverage_page(session, options, circle, mode, district, scenario)
        return map_page(request, page.html, page.etag)
    options = versioned(session, options)
    if scenario:
        html = tiled_pages.scenario_map_html(session, options, circle, mode, district)
    else:
        html = service.coverage_map_html(session, options, circle, mode, district)
    return map_page(request, html)


def keep_token_in_cookie(request: Request, token: str) -> RedirectResponse:
    """Move a checked ``?token=`` into an HttpOnly cookie and reload the page without it.

    The token then stays out of the address bar, history, bookmarks and Referer headers;
    SameSite=Strict keeps other sites from sending it, and the path keeps it to the maps.
    """
    query = request.url.remove_query_params("token").query
    response = RedirectResponse(request.url.path + (f"?{query}" if query else ""), 303)
    response.set_cookie(
        TOKEN_COOKIE,
        token,
        path="/maps",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.get(
    "/issues",
    response_class=HTMLResponse,
    responses={303: {"description": "The token moved into a cookie; the same page without it."}},
)
@heavy
def issues_map(
    request: Request,
    session: SessionDep,
    principal: BrowserStaffDep,
    status: Annotated[Status | None, Query(description="Only issues in this status.")] = None,
    district: Annotated[str | None, DISTRICT] = None,
    since: Annotated[
        datetime | None,
        Query(description="Only issues reported since (ISO date or time; city time if no zone)."),
    ] = None,
) -> Response:
    """Issues in the caller's scope, clustered by status, with a heat map; overdue ones stand out.

    Staff only (grid workers, departments, supervisors, admins), each within their scope.
    A browser opens it once with `?token=` (moved into an HttpOnly cookie), then without.
    """
    token = request.query_params.get("token")
    if token:  # checked by BrowserStaffDep already
        return keep_token_in_cookie(request, token)
    options = served_options(session)
    html = service.issues_map_html(
        session, options, principal, status.value if status else None, district, since
    )
    return map_page(request, html)


def static_files() -> Starlette:
    """Return the installed packages' JS, CSS and images under ``/static/<package>/``."""
    assets_dir = get_settings().assets_dir
    return Starlette(
        routes=[
            Mount(
                f"/{folder.name}",
                StaticFiles(directory=folder.directory(assets_dir), check_dir=False),
            )
            for folder in assets.STATIC_FOLDERS
        ],
        # Leaflet and its plugins are most of a map's first bytes: gzipped, about a third.
        middleware=[Middleware(GZipMiddleware, minimum_size=STATIC_GZIP_ABOVE_BYTES)],
    )


def tile_sources() -> list[str]:
    """CSP sources of the configured base map's tiles (``*.`` for a ``{s}`` subdomain)."""
    settings = get_settings()
    try:
        url = base_tiles(settings.map_tiles, settings.map_tiles_crs).url
    except ValueError:  # a bad setting: the maps say so themselves
        return []
    if not url:
        return []
    parsed = urlsplit(url)
    host = parsed.netloc
    if "{" in host:
        host = "*." + host.split(".", 1)[1] if "." in host else "*"
    return [f"{parsed.scheme}://{host}"]


@docs_router.get("/docs")
def swagger_ui() -> HTMLResponse:
    """Swagger UI from the service's own copy of swagger-ui-dist (no CDN)."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="gridsvc API",
        swagger_js_url=assets.static_url("/static", assets.SWAGGER_JS),
        swagger_css_url=assets.static_url("/static", assets.SWAGGER_CSS),
        swagger_favicon_url=assets.static_url("/static", assets.SWAGGER_FAVICON),
        oauth2_redirect_url="/docs/oauth2-redirect",
        swagger_ui_parameters={"validatorUrl": None},
    )


@docs_router.get("/docs/oauth2-redirect")
def swagger_ui_redirect() -> HTMLResponse:
    """Swagger UI's OAuth2 redirect page."""
    return get_swagger_ui_oauth2_redirect_html()
