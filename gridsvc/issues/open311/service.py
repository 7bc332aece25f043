"""Open311 GeoReport v2 over the issues: services are categories, requests are issues.

A request's ``service_request_id`` is the issue's public id; open/closed comes from the
workflow (``workflow.is_open``). Only reports staff published are listed or shown, as the
public sees them (``publication``): published text, rounded location, published photos.
The POST's answer also carries the reporter's ``secret`` (an extension of the spec's
fields), which the app hands to its user once.

Extensions the city needs: ``locale`` (``zh_CN``, the default, gives Chinese
``service_name`` with the English in ``description``; ``en`` the reverse), ``crs`` on POST
(``wgs84`` as the spec says, or ``gcj02``/``bd09``, what Chinese phone SDKs report), and
``media_url`` on POST kept with the report as a link for staff: the server fetches nothing.
``address`` is the place's district · street · community names, and ``service_notice``
says in words where the case stands, without grid or department codes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gridsvc.auth.tokens import Principal
from gridsvc.common.coords import parse_coordinate_system
from gridsvc.common.errors import GridsvcError, InvalidParameterError
from gridsvc.grids import service as grids_service
from gridsvc.issues import idempotency, service
from gridsvc.issues.models import (
    Department,
    Issue,
    IssueCategory,
    IssueEvent,
)
from gridsvc.issues.reporters import publication
from gridsvc.issues.reporters import secrets as reporter
from gridsvc.issues.schemas import IssueSubmission
from gridsvc.issues.workflow import OPEN_STATUSES, Status, is_open

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
DEFAULT_WINDOW = timedelta(days=90)  # the spec's default span of a listing
MAX_REQUESTS = 1000  # the spec's suggested largest listing
MAX_MEDIA_URL = 2000
MAX_ACCOUNT_ID = 100
#: What the public is told of each status (Chinese, then English).
NOTICES = {
    Status.UNROUTED: "已受理，等待指挥中心分拨。Received; the command centre will route it.",
    Status.REPORTED: "已受理，等待立案。Received; waiting to be registered.",
    Status.REGISTERED: "已立案，等待派遣。Registered; waiting to be dispatched.",
    Status.REJECTED: "不予立案。Not taken as a case.",
    Status.DISPATCHED: "已派遣至承办部门。Dispatched to the department in charge.",
    Status.IN_PROGRESS: "正在处置。Being handled.",
    Status.RESOLVED: "处置完成，等待核查。Handled; waiting for the on-site check.",
    Status.VERIFIED: "核查通过，等待结案。Checked on site; about to be closed.",
    Status.CLOSED: "已结案。Closed.",
    Status.DUPLICATE: "与另一上报合并办理。Merged with a report of the same problem.",
    Status.SUSPENDED: "暂缓办理。On hold.",
}


class Open311Error(GridsvcError):
    """An error answered in the spec's format: ``[{"code": ..., "description": ...}]``."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.status_code = status_code


def discovery(base_url: str) -> dict[str, Any]:
    """Return the discovery document pointing at this endpoint."""
    return {
        "changeset": "2026-11-24T00:00:00Z",
        "contact": "Run by the city's grid-management command centre (网格化管理指挥中心).",
        "key_service": "POST needs an api_key: ask the city's grid-management command centre "
        "for one; staff may pass their gridsvc bearer token as api_key.",
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": base_url,
                "changeset": "2026-11-24T00:00:00Z",
                "type": "production",
                "formats": ["application/json", "text/xml"],
            }
        ],
    }


def english(locale: str | None) -> bool:
    """Whether ``locale`` asks for English names (``en``, ``en_US``...); Chinese otherwise."""
    return bool(locale) and locale.strip().lower().replace("-", "_").split("_")[0] == "en"


def service_name(category: IssueCategory | None, code: str, locale: str | None) -> str:
    """Return the category's name in the asked language."""
    if category is None:
        return code
    return category.name_en if english(locale) else category.name


def list_services(session: Session, locale: str | None = None) -> list[dict[str, Any]]:
    """Every category as an Open311 service, named in ``locale`` (the other language after)."""
    return [
        {
            "service_code": category.code,
            "service_name": service_name(category, category.code, locale),
            "description": category.name if english(locale) else category.name_en,
            "metadata": False,
            "type": "realtime",
            "keywords": category.name,
            "group": category.department_code,
        }
        for category in session.scalars(
            select(IssueCategory)
            .where(IssueCategory.retired_at.is_(None))  # retired: kept only for old requests
            .order_by(IssueCategory.code)
        )
    ]


def service_definition(session: Session, code: str) -> dict[str, Any]:
    """Return the definition of a service; ours have no extra attributes."""
    if session.get(IssueCategory, code) is None:
        raise Open311Error(f"no service '{code}'", 404)
    return {"service_code": code, "attributes": []}


def number(form: dict[str, str], name: str) -> float:
    """Read a required number from the form, or raise the spec's 400."""
    value = form.get(name)
    if value is None or value.strip() == "":
        raise Open311Error(f"'{name}' is required (this server does not geocode addresses)")
    try:
        return float(value)
    except ValueError:
        raise Open311Error(f"'{name}' must be a number, not '{value}'") from None


def coordinate_system(form: dict[str, str]) -> Any:
    """Read the ``crs`` extension (default WGS-84, as the spec says), or raise the spec's 400."""
    try:
        return parse_coordinate_system(form.get("crs") or "wgs84")
    except ValueError:
        raise Open311Error(f"'crs' is wgs84, gcj02 or bd09, not '{form['crs']}'") from None


def report_extras(form: dict[str, str]) -> dict[str, str]:
    """Return the ``media_url`` (a link, never fetched) and ``account_id`` the form gave."""
    extras = {}
    media_url = (form.get("media_url") or "").strip()
    if media_url:
        if len(media_url) > MAX_MEDIA_URL or not media_url.startswith(("http://", "https://")):
            raise Open311Error(f"'media_url' must be an http(s) link of at most {MAX_MEDIA_URL}")
        extras["media_url"] = media_url
    account_id = (form.get("account_id") or "").strip()
    if account_id:
        if len(account_id) > MAX_ACCOUNT_ID:
            raise Open311Error(f"'account_id' may have at most {MAX_ACCOUNT_ID} characters")
        extras["account_id"] = account_id
    return extras


def created_notice(body: dict[str, Any]) -> str:
    """Say where the new request went, in words the public may read: no codes."""
    if not body["grid"]:
        return NOTICES[Status.UNROUTED]
    place = body["community"]["name"] if body["community"] else body["grid"]["name"]
    department = f"，由{body['department']['name']}办理" if body["department"] else ""
    return f"已受理：{place}网格{department}。Received: routed to the grid of {place}."


def create_request(
    session: Session, form: dict[str, str], principal: Principal, secret: str
) -> list[dict[str, Any]]:
    """Accept a form-encoded service request; answer with its id and where it went."""
    code = form.get("service_code") or ""
    if not code:
        raise Open311Error("'service_code' is required")
    category = session.get(IssueCategory, code)
    if category is None:
        raise Open311Error(f"service_code '{code}' was not found", 404)
    if category.retired_at is not None:
        raise Open311Error(f"service_code '{code}' is retired: it takes no new requests")
    contact = " ".join(
        form[f] for f in ("first_name", "last_name", "email", "phone") if form.get(f)
    )
    extras = report_extras(form)
    try:
        submission = IssueSubmission(
            lon=number(form, "long"),
            lat=number(form, "lat"),
            crs=coordinate_system(form),
            category=code,
            description=form.get("description") or code,
            reporter_contact=contact or None,
        )
        body = service.submit(
            session, submission, principal, reporter.hash_secret(secret), details=extras
        )
    except (ValueError, InvalidParameterError) as error:
        raise Open311Error(str(error)) from None
    return [
        {
            "service_request_id": body["public_id"],
            "service_notice": created_notice(body),
            "account_id": extras.get("account_id"),
        }
    ]


def create_request_once(
    session: Session, form: dict[str, str], principal: Principal, key: str | None, scope: str
) -> tuple[list[dict[str, Any]], bool]:
    """Create the request once per ``Idempotency-Key``; return (answer, replayed).

    Keys live apart from the JSON API's (another namespace per caller ``scope``), and the
    api_key is no part of the body compared. The secret is added after the key's record is
    kept, so it is never stored.
    """
    fields = {name: value for name, value in form.items() if name != "api_key"}
    scope = f"open311:{scope}"
    secret = reporter.new_secret(scope, key)
    if key is None:
        answer = create_request(session, fields, principal, secret)
        replayed = False
    else:
        _, answer, replayed = idempotency.once(
            session,
            scope,
            key,
            fields,
            lambda: create_request(session, fields, principal, secret),
            status_code=200,
        )
    return [{**answer[0], "secret": secret}], replayed


def parse_time(value: str | None, name: str) -> datetime | None:
    """Read an ISO 8601 time filter (w3 format); naive times are taken as UTC."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(f"'{name}' must be an ISO 8601 time, not '{value}'") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def list_requests(
    session: Session, query: dict[str, str], base_url: str = ""
) -> list[dict[str, Any]]:
    """Return published service requests filtered as the spec says (ids, codes, dates, status)."""
    statement = select(Issue).where(Issue.published_at.is_not(None))
    ids = query.get("service_request_id")
    if ids:
        statement = statement.where(Issue.public_id.in_(ids.split(",")))
    else:
        end = parse_time(query.get("end_date"), "end_date") or datetime.now(UTC)
        start = parse_time(query.get("start_date"), "start_date") or end - DEFAULT_WINDOW
        statement = statement.where(Issue.created_at >= start, Issue.created_at <= end)
    if query.get("service_code"):
        statement = statement.where(Issue.category_code.in_(query["service_code"].split(",")))
    status = query.get("status")
    if status:
        wanted = set(status.split(","))
        if not wanted <= {"open", "closed"}:
            raise Open311Error(f"'status' is open, closed or both, not '{status}'")
        if wanted == {"open"}:
            statement = statement.where(Issue.status.in_(OPEN_STATUSES))
        elif wanted == {"closed"}:
            statement = statement.where(Issue.status.not_in(OPEN_STATUSES))
    issues = session.scalars(statement.order_by(Issue.created_at.desc()).limit(MAX_REQUESTS))
    locale = query.get("locale")
    return [request_body(session, issue, base_url, locale) for issue in issues]


def get_request(
    session: Session, code: str, base_url: str = "", locale: str | None = None
) -> list[dict[str, Any]]:
    """One published service request, as a list of one (the spec's shape)."""
    issue = session.scalars(
        select(Issue).where(Issue.public_id == code, Issue.published_at.is_not(None))
    ).first()
    if issue is None:
        raise Open311Error(f"no service request '{code}'", 404)
    return [request_body(session, issue, base_url, locale)]


def address(session: Session, issue: Issue) -> str | None:
    """Return the place as people name it: district · street · community, no grid code."""
    names = grids_service.area_names(
        session, issue.district_code, issue.street_code, issue.community_code
    )
    return " · ".join(names) or None


def request_body(
    session: Session, issue: Issue, base_url: str = "", locale: str | None = None
) -> dict[str, Any]:
    """Return one published issue as the public sees it: no contact, own text or exact place."""
    category = session.get(IssueCategory, issue.category_code)
    department = session.get(Department, issue.department_code) if issue.department_code else None
    updated = session.scalar(
        select(func.max(IssueEvent.created_at)).where(IssueEvent.issue_id == issue.id)
    )
    lon, lat = service.position(session, issue)
    return {
        "service_request_id": issue.public_id,
        "status": "open" if is_open(Status(issue.status)) else "closed",
        "status_notes": issue.status,
        "service_name": service_name(category, issue.category_code, locale),
        "service_code": issue.category_code,
        "description": issue.published_text,
        "agency_responsible": department.name if department else None,
        "service_notice": NOTICES.get(Status(issue.status)),
        "requested_datetime": iso(issue.created_at),
        "updated_datetime": iso(updated or issue.created_at),
        "expected_datetime": iso(issue.deadline_at),
        "address": address(session, issue),
        "address_id": None,
        "zipcode": None,
        "lat": publication.coarse(lat),
        "long": publication.coarse(lon),
        "media_url": media_url(session, issue, base_url),
    }


def media_url(session: Session, issue: Issue, base_url: str) -> str | None:
    """Return the address of the first photo published with the report, if any."""
    photos = publication.published_photo_ids(session, issue)
    if not photos:
        return None
    return base_url.rstrip("/") + f"/api/v1/reports/{issue.public_id}/photos/{photos[0]}"


def iso(moment: datetime | None) -> str | None:
    """W3C datetime text, or None."""
    return moment.isoformat(timespec="seconds") if moment else None
