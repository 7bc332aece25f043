"""Request and response bodies of the issues API (they document the OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from gridsvc.common.coords import CoordinateSystem
from gridsvc.common.extent import outside_city_reason
from gridsvc.issues.catalog.calendar import local
from gridsvc.issues.catalog.deadlines import Priority
from gridsvc.issues.workflow import Action, Status

#: The most photos a submission may announce (the residents' page sends up to four).
MAX_PHOTOS_ANNOUNCED = 10


class IssueSubmission(BaseModel):
    """A report from a phone: where, what, and optionally who."""

    model_config = ConfigDict(extra="forbid")

    lon: float = Field(ge=-180, le=180, description="Longitude in degrees, in `crs`.")
    lat: float = Field(ge=-90, le=90, description="Latitude in degrees, in `crs`.")
    crs: CoordinateSystem = Field(
        CoordinateSystem.WGS84,
        description="wgs84 (GPS), gcj02 (Amap, Tencent) or bd09 (Baidu); stored as WGS-84.",
    )
    accuracy_m: float | None = Field(None, ge=0, description="The phone's stated accuracy.")
    category: str = Field(
        min_length=1, max_length=40, description="Category code (GET /api/v1/issue-categories)."
    )
    description: str = Field(
        "",
        max_length=4000,
        description="What is wrong, in the reporter's words; may be empty when photo_count "
        "says photos follow (a photo and a category is a common report).",
    )
    photo_count: int = Field(
        0,
        ge=0,
        le=MAX_PHOTOS_ANNOUNCED,
        description="How many photos the phone adds next (POST /api/v1/issues/{id}/photos "
        "with the reporter's secret).",
    )
    reporter_contact: str | None = Field(None, max_length=200)
    anonymous: bool = Field(False, description="Keep the contact from every staff view.")

    @model_validator(mode="before")
    @classmethod
    def not_swapped(cls, data: Any) -> Any:
        """Say so when lat/lon are swapped (a latitude over 90 would hide it otherwise)."""
        if isinstance(data, dict):
            lon, lat = data.get("lon"), data.get("lat")
            numbers = all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in (lon, lat)
            )
            if numbers and abs(lat) > 90 and outside_city_reason(lat, lon) is None:
                raise ValueError(
                    f"latitude and longitude look swapped: lon {lon:g}, lat {lat:g} lies in "
                    "the city as lat/lon"
                )
        return data

    @model_validator(mode="after")
    def says_something(self) -> IssueSubmission:
        """Refuse a report with neither words nor photos: a category alone says too little."""
        if not self.description.strip() and self.photo_count == 0:
            raise ValueError("description: required unless photos follow (photo_count >= 1)")
        return self


#: A moment as answers give it: in the city's time zone (``CityTime``: or none).
CityMoment = Annotated[datetime, AfterValidator(local)]
CityTime = Annotated[datetime | None, AfterValidator(local)]


class Named(BaseModel):
    """A code and its name."""

    code: str
    name: str


class Routing(BaseModel):
    """How the point found its grid."""

    method: str = Field(
        description="inside (the point is in the grid; on a shared edge the lowest grid "
        "code takes it), nearest (outside every grid, within the snap distance), "
        "unrouted (farther; waits in the supervisors' queue) or manual (routed by hand)."
    )
    distance_m: float | None = Field(description="Metres from the point to the grid.")


class DuplicateSuggestion(BaseModel):
    """An open issue of the same category nearby: perhaps the same problem.

    Only what anyone may know of another person's report.
    """

    public_id: str
    category: str
    status: Status
    distance_m: int = Field(description="Distance, rounded up to the next 50 m.")


class IssueAccepted(BaseModel):
    """A submission as the service accepted it: the answer, less the reporter's secret.

    Its JSON is what an ``Idempotency-Key`` keeps, so a replay answers as the first did.
    """

    id: int
    public_id: str = Field(description="The report's public id (not a credential).")
    status: Status
    category: Named
    lon: float = Field(description="WGS-84 longitude as stored.")
    lat: float = Field(description="WGS-84 latitude as stored.")
    routing: Routing
    grid: Named | None
    community: Named | None
    street: Named | None
    district: Named | None
    department: Named | None
    deadline: CityTime
    created_at: CityMoment
    duplicates: list[DuplicateSuggestion]


class IssueCreated(IssueAccepted):
    """The answer to a submission (also the answer replayed for a retried Idempotency-Key)."""

    secret: str = Field(
        description="The reporter's secret, shown only in this answer and never stored: "
        "keep it to follow the report (GET /api/v1/track), add photos, rate and reopen. "
        "A retry with the same Idempotency-Key from the same device gets it again."
    )


class IssueEventOut(BaseModel):
    """One row of an issue's history (read from an event as ``listing.SeenEvent`` shows it)."""

    model_config = ConfigDict(from_attributes=True)

    action: str
    from_status: str | None
    to_status: str
    actor_role: str
    actor: str | None = Field(description="Who acted; hidden on the public tracking page.")
    note: str | None
    departments: list[Named] = Field(
        [], description="The departments the step named (dispatched, whistled, declined...)."
    )
    at: CityMoment


class IssueOut(BaseModel):
    """An issue as staff see it (read from a row as ``listing.SeenIssue`` shows it)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    public_id: str
    status: Status
    priority: Priority = Field(description="normal (一般) or urgent (紧急).")
    category: str
    category_name: str | None
    description: str
    reporter_contact: str | None = Field(
        validation_alias="contact_shown",  # never a row's own: the viewer decides
        description="Only in one issue's answer (never in the list), unless anonymous.",
    )
    lon: float
    lat: float
    routing: Routing
    grid_code: str | None
    grid_name: str | None
    community_code: str | None
    community_name: str | None
    street_code: str | None
    street_name: str | None
    district_code: str | None
    district_name: str | None
    department_code: str | None
    department_name: str | None
    departments: list[str]
    departments_named: list[Named] = Field(description="``departments`` with their names.")
    overdue: bool = Field(description="Open and past its stage deadline.")
    deadline: CityTime
    escalated_at: CityTime
    survivor_id: int | None
    rating: int | None
    created_at: CityMoment
    closed_at: CityTime
    published_at: CityTime = Field(description="When staff published it; None: private.")
    published_text: str | None = Field(description="The text the public sees.")
    media_url: str | None = Field(
        None, description="A link an Open311 app sent with the report (never fetched)."
    )
    allowed_actions: list[Action] = Field(description="What the caller may do next.")
    events: list[IssueEventOut]


class ActionRequest(BaseModel):
    """One workflow action on an issue."""

    model_config = ConfigDict(extra="forbid")

    action: Action
    note: str | None = Field(None, max_length=4000)
    departments: list[str] | None = Field(
        None, description="dispatch/whistle: department codes to summon."
    )
    grid_code: str | None = Field(None, description="route: the grid to put the issue in.")
    survivor_id: int | None = Field(None, description="merge: the issue that survives.")
    extension: str | None = Field(
        None,
        description="request_extension/extend: more time, like '8h' (working hours) or '2d' "
        "(working days); extend without it grants what the handler asked for.",
    )
    rating: int | None = Field(None, ge=1, le=5, description="rate: 1 (poor) to 5 (very good).")
    priority: Priority | None = Field(
        None,
        description="register/dispatch/whistle (intake and dispatch staff) and prioritize "
        "(supervisors): normal (一般) or urgent (紧急); urgent runs on the urgent deadlines.",
    )


class ReporterAction(BaseModel):
    """What a reporter may do with the secret: rate a closed case once, or ask to reopen it."""

    model_config = ConfigDict(extra="forbid")

    rating: int | None = Field(None, ge=1, le=5)
    reopen: bool = False
    note: str | None = Field(None, max_length=4000)


class TrackEvent(BaseModel):
    """A step of the reporter's history: no staff names, no notes."""

    action: str
    to_status: str
    at: datetime
    departments: list[Named] = Field(
        description="The departments the step concerned: routed to, dispatched, whistled, "
        "or the one that declined."
    )


class TrackOut(BaseModel):
    """The reporter's own report, by its secret: all of it, and where the case stands."""

    id: int
    public_id: str
    status: Status
    category: Named
    description: str
    reporter_contact: str | None
    lon: float = Field(description="WGS-84 longitude as stored.")
    lat: float = Field(description="WGS-84 latitude as stored.")
    grid_code: str | None
    district_code: str | None
    department: Named | None
    deadline: datetime | None
    rating: int | None
    created_at: datetime
    closed_at: datetime | None
    published: bool = Field(description="Whether staff made it public.")
    photos: list[int] = Field(description="Ids of its photos (GET .../photos/{id}).")
    handling_photos: list[int] = Field(
        description="Ids of the handlers' photos after handling (处置后照片), shown to the "
        "reporter; photos before handling stay with staff."
    )
    merged_into: str | None = Field(description="Public id of the surviving case.")
    history: list[TrackEvent]


class PublicationIn(BaseModel):
    """What staff publish of a report: a text of their own choosing and chosen photos."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(
        None,
        max_length=4000,
        description="The text the public sees; the reporter's own text stays private "
        "unless it is given here.",
    )
    photos: list[int] = Field(default_factory=list, description="Ids of photos to publish.")


class OverdueIssue(BaseModel):
    """An open issue past its stage deadline, and by how much."""

    id: int
    public_id: str
    status: Status
    priority: Priority
    category: str
    category_name: str | None
    grid_code: str | None
    grid_name: str | None
    district_code: str | None
    district_name: str | None
    departments: list[str]
    departments_named: list[Named]
    deadline: datetime
    overdue_working_hours: float
    overdue_hours: float
    escalated_at: datetime | None
