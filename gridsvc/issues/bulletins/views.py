"""Routes of the bulletins (定期通报): the period's bulletin now, and the ones issued."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, Response

from gridsvc.auth.dependencies import SupervisorDep
from gridsvc.common.api import PageDep
from gridsvc.common.heavy import heavy
from gridsvc.db import SessionDep
from gridsvc.issues.bulletins import archive as bulletin_archive
from gridsvc.issues.bulletins import document as bulletin
from gridsvc.issues.bulletins import figures as bulletin_figures
from gridsvc.issues.bulletins import pdf as bulletin_pdf
from gridsvc.issues.catalog.calendar import SHANGHAI

router = APIRouter(prefix="/api/v1", tags=["supervision"])

DOCUMENTS = {
    200: {
        "content": {
            "text/html": {"schema": {"type": "string"}},
            "text/csv": {"schema": {"type": "string"}},
            bulletin_pdf.PDF_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
        }
    }
}
FormatQuery = Annotated[
    Literal["html", "csv", "pdf"],
    Query(description="html to read or print, csv for the tables (UTF-8, BOM), or pdf (A4)."),
]


def document(html: str, table: bytes, name: str, kind: str) -> Response:
    """Answer a bulletin as HTML, its tables as CSV, or the page printed as PDF."""
    if kind == "csv":
        return Response(
            table,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    if kind == "pdf":
        return Response(
            bulletin_pdf.html_to_pdf(html),
            media_type=bulletin_pdf.PDF_MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'},
        )
    return HTMLResponse(html)


@router.get("/bulletins")
def list_bulletins(
    session: SessionDep,
    principal: SupervisorDep,
    page: PageDep,
    period: Annotated[
        Literal["week", "month", "quarter"] | None, Query(description="Only this period's.")
    ] = None,
) -> dict[str, Any]:
    """List the bulletins issued by the scheduler, newest period first, with their links.

    A district's supervisor sees that district's bulletins; the city's see all.
    """
    total, rows = bulletin_archive.list_issued(session, principal, period, page.limit, page.offset)
    return {"numberMatched": total, "bulletins": rows}


@router.get("/bulletins/issued/{bulletin_id}", response_class=HTMLResponse, responses=DOCUMENTS)
@heavy
def get_issued_bulletin(
    session: SessionDep,
    principal: SupervisorDep,
    bulletin_id: Annotated[int, Path(ge=1)],
    format: FormatQuery = "html",  # public name
) -> Response:
    """Show a bulletin as it was issued: the stored page and tables, never recomputed."""
    row = bulletin_archive.get_issued(session, principal, bulletin_id)
    district = f"-{row.district_code}" if row.district_code else ""
    name = f"bulletin-{row.period}-{row.start_date}{district}"
    return document(row.html, row.csv, name, format)


@router.get("/bulletins/{period}", response_class=HTMLResponse, responses=DOCUMENTS)
@heavy
def get_bulletin(
    period: Literal["week", "month", "quarter"],
    session: SessionDep,
    principal: SupervisorDep,
    day: Annotated[
        date | None,
        Query(alias="date", description="A day of the period (local); default: the last one."),
    ] = None,
    district: Annotated[
        str | None, Query(description="A district's 6-digit code; default: the token's scope.")
    ] = None,
    format: FormatQuery = "html",  # public name
) -> Response:
    """Show the period's bulletin (定期通报) as of now: indicators, league, overdue, hotspots.

    HTML to print, its tables as CSV (UTF-8, BOM), or PDF. By default the last complete
    period. The bulletins the scheduler issued are kept as they were: ``/bulletins``.
    """
    when = day or bulletin.previous_day(period, datetime.now(SHANGHAI).date())
    figures = bulletin_figures.bulletin_figures(session, principal, period, when, district)
    name = bulletin_figures.bulletin_name(figures)
    if format == "csv":
        return document("", bulletin_figures.bulletin_csv(figures), name, format)
    return document(bulletin.render_html(figures), b"", name, format)
