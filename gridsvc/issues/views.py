"""Routes of issues: submission, reading in scope, workflow actions, publication, photos."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Header, Query, Request, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response

from gridsvc.auth.dependencies import AdminDep, PrincipalDep, StaffDep, SupervisorDep
from gridsvc.common.api import GeoJSONResponse, PageDep
from gridsvc.config import get_settings
from gridsvc.db import SessionDep
from gridsvc.issues import actions, export, idempotency, listing, service
from gridsvc.issues.catalog import admin as catalog_admin
from gridsvc.issues.catalog import service as catalog_service
from gridsvc.issues.catalog.deadlines import Priority
from gridsvc.issues.catalog.schemas import (
    CategoryIn,
    CategoryOut,
    DeadlineIn,
    DepartmentRouteIn,
    DepartmentRouteOut,
)
from gridsvc.issues.indicators import stats
from gridsvc.issues.list_params import IssueFilterDep
from gridsvc.issues.photos import service as photos_service
from gridsvc.issues.photos.service import PhotoStage
from gridsvc.issues.reporters import publication
from gridsvc.issues.reporters import secrets as reporter
from gridsvc.issues.reporters.ratelimit import SubmissionRateLimit
from gridsvc.issues.schemas import (
    ActionRequest,
    IssueCreated,
    IssueOut,
    IssueSubmission,
    OverdueIssue,
    PublicationIn,
)

router = APIRouter(prefix="/api/v1", tags=["issues"])

PriorityQuery = Annotated[
    Priority, Query(description="normal (一般) or urgent (紧急): whose deadline this is.")
]

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Any unique string per report: a retry with the same key and body gets "
        "the first answer; the same key with another body gets 422.",
    ),
]

DeviceIdHeader = Annotated[
    str | None,
    Header(
        alias="X-Device-Id",
        max_length=100,
        description="A random id the page or app keeps per phone: anonymous reporters' "
        "Idempotency-Keys are scoped to it (and to the client address).",
    ),
]

SecretHeader = Annotated[
    str | None,
    Header(
        alias="X-Reporter-Secret",
        description="The reporter's secret from the 201: the reporter's own photos.",
    ),
]


@router.post("/issues", status_code=201, response_model=IssueCreated)
def submit_issue(
    submission: IssueSubmission,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    rate_limited: SubmissionRateLimit,
    idempotency_key: IdempotencyKeyHeader = None,
    device_id: DeviceIdHeader = None,
) -> Any:
    """Report a problem at a point; it is routed to a grid and a department at once.

    The answer carries the reporter's secret, once: keep it to follow the report.
    """
    scope = reporter.idempotency_scope(principal, device_id, request.client and request.client.host)
    secret = reporter.new_secret(scope, idempotency_key)

    def create() -> dict[str, Any]:
        return service.submit(session, submission, principal, reporter.hash_secret(secret))

    if idempotency_key is None:
        status_code, body, replayed = 201, create(), False
    else:
        status_code, body, replayed = idempotency.once(
            session, scope, idempotency_key, submission.model_dump(mode="json"), create
        )
    answer = IssueCreated.model_validate({**body, "secret": secret})  # one shape, first or replayed
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return JSONResponse(answer.model_dump(mode="json"), status_code=status_code, headers=headers)


@router.get(
    "/issues",
    responses={
        200: {"content": {"text/csv": {}, "application/geo+json": {}}},
        422: {"description": "A bad filter, or an export larger than the setting allows."},
    },
)
def list_issues(
    session: SessionDep,
    principal: StaffDep,
    page: PageDep,
    wanted: IssueFilterDep,
    format: Annotated[  # public name
        Literal["json", "csv", "geojson"],
        Query(description="json: a page; csv (UTF-8 with BOM) or geojson: every match."),
    ] = "json",
) -> Any:
    """Issues within the caller's scope, newest first, filtered; or all of them as CSV/GeoJSON.

    status=unrouted is the supervisors' queue. The list never shows the reporter's contact;
    exports leave out the reporter's text too.
    """
    listing.check_filter(session, wanted)
    if format != "json":
        rows = export.export_rows(session, principal, wanted)
        if format == "geojson":
            return GeoJSONResponse(export.to_geojson(rows))
        return Response(
            export.to_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="issues.csv"'},
        )
    matched, rows = listing.matching(session, principal, wanted, page.limit, page.offset)
    return {"numberMatched": matched, "issues": listing.page_bodies(session, principal, rows)}


@router.get("/issues/overdue", response_model=list[OverdueIssue])
def list_overdue(session: SessionDep, principal: SupervisorDep) -> Any:
    """Open issues in scope past their stage deadline, most overdue first, with by how much."""
    return actions.list_overdue(session, principal)


@router.get("/issues/{issue_id}", response_model=IssueOut)
def get_issue(issue_id: int, session: SessionDep, principal: PrincipalDep) -> Any:
    """One issue with its history; outside the caller's scope it is a 404."""
    issue = service.find_issue(session, principal, issue_id)
    return listing.issue_body(session, issue, principal)


@router.post("/issues/{issue_id}/actions", response_model=IssueOut)
def act_on_issue(
    issue_id: int, request: ActionRequest, session: SessionDep, principal: PrincipalDep
) -> Any:
    """Take a workflow action (register, dispatch, whistle, resolve, close...) on an issue."""
    issue = actions.act(session, principal, issue_id, request)
    return listing.issue_body(session, issue, principal)


@router.put("/issues/{issue_id}/publication", response_model=IssueOut)
def publish_issue(
    issue_id: int, body: PublicationIn, session: SessionDep, principal: SupervisorDep
) -> Any:
    """Publish a report (supervisors in scope, admins).

    The public then sees its category, status, dates, this text, these photos and a
    location rounded to about 100 m.
    """
    issue = publication.publish(session, principal, issue_id, body.text, body.photos)
    return listing.issue_body(session, issue, principal)


@router.delete("/issues/{issue_id}/publication", response_model=IssueOut)
def unpublish_issue(issue_id: int, session: SessionDep, principal: SupervisorDep) -> Any:
    """Take a report out of every public view (supervisors in scope, admins)."""
    issue = publication.unpublish(session, principal, issue_id)
    return listing.issue_body(session, issue, principal)


@router.get("/issue-categories", response_model=list[CategoryOut])
def list_categories(
    session: SessionDep,
    retired: Annotated[
        bool, Query(description="true: the retired categories too (for old cases).")
    ] = False,
) -> Any:
    """Categories a report may have, with default department and stage deadlines."""
    return catalog_service.list_categories(session, retired=retired)


@router.put("/issue-categories/{code}", response_model=CategoryOut)
def put_category(code: str, category: CategoryIn, session: SessionDep, principal: AdminDep) -> Any:
    """Create or change a category: names, default department, stage deadlines (admins only)."""
    body, created = catalog_admin.put_category(session, code, category)
    return JSONResponse(jsonable_encoder(body), status_code=201 if created else 200)


@router.put("/issue-categories/{code}/retirement", response_model=CategoryOut)
def retire_category(code: str, session: SessionDep, principal: AdminDep) -> Any:
    """Retire a category: no new reports, gone from the pickers, kept for old cases (admins)."""
    return catalog_admin.retire(session, code)


@router.delete("/issue-categories/{code}/retirement", response_model=CategoryOut)
def restore_category(code: str, session: SessionDep, principal: AdminDep) -> Any:
    """Restore a retired category: reports may take it again (admins only)."""
    return catalog_admin.restore(session, code)


@router.put("/issue-categories/{code}/deadlines/{stage}", response_model=CategoryOut)
def set_deadline(
    code: str,
    stage: str,
    deadline: DeadlineIn,
    session: SessionDep,
    principal: AdminDep,
    priority: PriorityQuery = Priority.NORMAL,
) -> Any:
    """Set one stage's deadline for cases started from now on (admins only)."""
    return catalog_admin.set_deadline(session, code, stage, deadline.deadline, priority)


@router.delete("/issue-categories/{code}/deadlines/{stage}", response_model=CategoryOut)
def remove_deadline(
    code: str,
    stage: str,
    session: SessionDep,
    principal: AdminDep,
    priority: PriorityQuery = Priority.NORMAL,
) -> Any:
    """Drop one stage's deadline: that stage runs without one, urgent on normal (admins only)."""
    return catalog_admin.remove_deadline(session, code, stage, priority)


@router.get("/departments")
def list_departments(session: SessionDep) -> list[dict[str, str]]:
    """Departments cases are dispatched to."""
    return catalog_service.list_departments(session)


@router.get("/department-routes", response_model=list[DepartmentRouteOut])
def list_routes(
    session: SessionDep,
    principal: StaffDep,
    district: Annotated[str | None, Query(description="6-digit district code.")] = None,
) -> Any:
    """Rows of the routing table that override a category's own department."""
    return catalog_service.list_routes(session, district)


@router.put("/department-routes/{category}/{district}", response_model=DepartmentRouteOut)
def set_route(
    category: str,
    district: str,
    route: DepartmentRouteIn,
    session: SessionDep,
    principal: AdminDep,
) -> Any:
    """Send a category's cases in a district to a department (admins only)."""
    return catalog_service.set_route(session, category, district, route.department)


@router.delete("/department-routes/{category}/{district}", response_model=DepartmentRouteOut)
def remove_route(category: str, district: str, session: SessionDep, principal: AdminDep) -> Any:
    """Drop a routing-table row: the category's own department acts again (admins only)."""
    return catalog_service.remove_route(session, category, district)


@router.post("/issues/{issue_id}/photos", status_code=201)
def add_photo(
    issue_id: int,
    photo: Annotated[UploadFile, File(description="A JPEG, PNG, WebP or HEIC, 10 MB at most.")],
    session: SessionDep,
    principal: PrincipalDep,
    secret: SecretHeader = None,
    stage: Annotated[
        PhotoStage,
        Query(description="report, or before/after handling (处置前后照片, staff in scope)."),
    ] = PhotoStage.REPORT,
) -> dict[str, Any]:
    """Attach a photo (JPEG, PNG, WebP or HEIC by content; EXIF removed) to an issue."""
    data = photo.file.read(get_settings().max_photo_bytes + 1)
    return photos_service.add_photo(session, principal, issue_id, data, secret, stage)


@router.get("/stats/issues", responses={200: {"content": {"text/csv": {}}}})
def issue_statistics(
    session: SessionDep,
    principal: SupervisorDep,
    period: Annotated[Literal["week", "month", "quarter"], Query()] = "month",
    by: Annotated[
        Literal["grid", "community", "street", "district", "department", "category"], Query()
    ] = "district",
    format: Annotated[Literal["json", "csv"], Query()] = "json",  # public name
) -> Any:
    """Count issues by status, with on-time rate, median hours to close and overdue cases."""
    rows = stats.issue_statistics(session, principal, period, by)
    if format == "csv":
        return PlainTextResponse(
            stats.to_csv(rows, stats.columns(by)),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="issues-{period}-{by}.csv"'},
        )
    return {"period": period, "by": by, "columns": stats.columns(by), "rows": rows}


@router.get("/issues/{issue_id}/photos")
def list_photos(
    issue_id: int,
    session: SessionDep,
    principal: PrincipalDep,
    secret: SecretHeader = None,
) -> list[dict[str, Any]]:
    """Photos of an issue, oldest first."""
    return photos_service.list_photos(session, principal, issue_id, secret)


@router.get("/issues/{issue_id}/photos/{photo_id}", response_class=FileResponse)
def get_photo(
    issue_id: int,
    photo_id: int,
    session: SessionDep,
    principal: PrincipalDep,
    secret: SecretHeader = None,
) -> FileResponse:
    """One photo's image (JPEG, PNG or WebP; HEIC is kept as JPEG)."""
    path, media_type = photos_service.photo_file(session, principal, issue_id, photo_id, secret)
    return FileResponse(path, media_type=media_type)
