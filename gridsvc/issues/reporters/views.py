"""Routes for residents: one's own report by its secret, and the public's published reports."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query
from fastapi.responses import FileResponse

from gridsvc.common.api import GeoJSONResponse, PageDep
from gridsvc.db import SessionDep
from gridsvc.issues.reporters import publication, tracking
from gridsvc.issues.schemas import ReporterAction, TrackOut

router = APIRouter(prefix="/api/v1", tags=["residents"])

ReporterSecret = Annotated[
    str,
    Header(
        alias="X-Reporter-Secret",
        description="The secret the 201 of the report gave (never put it in a URL).",
    ),
]


@router.get("/track", response_model=TrackOut)
def track_own_report(secret: ReporterSecret, session: SessionDep) -> Any:
    """One's own report, whole, and where the case stands, by the reporter's secret."""
    return tracking.track(session, secret)


@router.post("/track", response_model=TrackOut)
def act_on_own_report(secret: ReporterSecret, request: ReporterAction, session: SessionDep) -> Any:
    """Rate a closed case (once per closing) or ask to reopen it within the window."""
    return tracking.reporter_action(session, secret, request)


@router.get("/reports", response_class=GeoJSONResponse)
def list_published_reports(
    session: SessionDep,
    page: PageDep,
    category: Annotated[str | None, Query(max_length=40, description="Category code.")] = None,
    status: Annotated[Literal["open", "closed"] | None, Query()] = None,
) -> Any:
    """List the reports staff published, newest first.

    Category, status, dates, published text, photos and a location rounded to about
    100 m; never contact, own text or exact position.
    """
    open_only = None if status is None else status == "open"
    return publication.list_published(
        session, category=category, open_only=open_only, limit=page.limit, offset=page.offset
    )


@router.get("/reports/{public_id}", response_class=GeoJSONResponse)
def get_published_report(public_id: str, session: SessionDep) -> Any:
    """One published report (a GeoJSON Feature); unpublished reports are a 404."""
    return publication.public_body(session, publication.published_report(session, public_id))


@router.get("/reports/{public_id}/photos/{photo_id}", response_class=FileResponse)
def get_published_photo(public_id: str, photo_id: int, session: SessionDep) -> FileResponse:
    """Get a photo staff published with a published report."""
    path, media_type = publication.published_photo(session, public_id, photo_id)
    return FileResponse(path, media_type=media_type)
