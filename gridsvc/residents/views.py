"""The residents' pages: the landing page, report, track and the public map of reports.

Plain HTML, CSS and JavaScript from this package's ``static/`` folder, with Leaflet from
the project's own npm copy: no CDN, no build step, no inline script (a strict
Content-Security-Policy passes). The service worker is served at ``/sw.js`` so that its
scope covers every page: the pages stay usable offline and a report made without a
connection waits on the phone (IndexedDB) until it can be sent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse

from gridsvc.common.coords import CoordinateSystem
from gridsvc.common.errors import NotFoundError
from gridsvc.config import get_settings
from gridsvc.maps.basemap import base_tiles

STATIC = Path(__file__).resolve().parent / "static"
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
}
#: Pages and files revalidate on every visit: the service worker keeps the offline copy.
NO_CACHE = {"Cache-Control": "no-cache"}
WORKER_POLICY = "default-src 'self'"

router = APIRouter(tags=["residents"])


def static_file(name: str) -> FileResponse:
    """Return one file of the package's static folder, or a 404 for any other name."""
    path = STATIC / name
    if "/" in name or name.startswith(".") or path.suffix not in MEDIA_TYPES or not path.is_file():
        raise NotFoundError(f"no residents' file '{name}'")
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers=NO_CACHE)


@router.get("/", response_class=FileResponse)
def landing_page() -> FileResponse:
    """Serve the landing page: report a problem, follow one's report, the public map, the maps."""
    return static_file("index.html")


@router.get("/report", response_class=FileResponse)
def report_page() -> FileResponse:
    """Serve the phone page to report a problem, offline-safe (Chinese first, English beside)."""
    return static_file("report.html")


@router.get("/track", response_class=FileResponse)
def track_page() -> FileResponse:
    """Follow one's report; the secret comes in the link's fragment (never sent to the server)."""
    return static_file("track.html")


@router.get("/reports", response_class=FileResponse)
def reports_page() -> FileResponse:
    """Serve the public map of published reports: clustered, coarse locations only."""
    return static_file("reports.html")


@router.get("/sw.js", response_class=FileResponse, include_in_schema=False)
def service_worker() -> FileResponse:
    """Serve the service worker at the root so that its scope covers every page.

    A worker runs under its own script's policy: it may fetch from this origin (to keep the
    pages and send the waiting reports), which the data policy of other scripts forbids.
    """
    response = static_file("sw.js")
    response.headers["Content-Security-Policy"] = WORKER_POLICY
    return response


@router.get("/residents/config.json")
def page_config() -> dict[str, Any]:
    """Tell the pages the base tiles (if any), the city's extent, windows."""
    settings = get_settings()
    tiles = base_tiles(settings.map_tiles, settings.map_tiles_crs, settings.map_tiles_attribution)
    # The pages draw WGS-84 positions: tiles in another system would put the pin off the
    # street, so they are left out and the reference layers alone are drawn.
    usable = tiles.url is not None and tiles.crs == CoordinateSystem.WGS84.value
    return {
        "tiles": (
            {"url": tiles.url, "attribution": tiles.attribution, "subdomains": tiles.subdomains}
            if usable
            else None
        ),
        "city_bbox": list(settings.city_bbox),
        "reopen_window_days": settings.reopen_window_days,
    }


@router.get("/residents/{name}", response_class=FileResponse, include_in_schema=False)
def residents_file(name: str) -> FileResponse:
    """Serve the pages' scripts and styles."""
    return static_file(name)
