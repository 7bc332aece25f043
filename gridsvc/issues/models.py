"""Departments, categories and their routing table, issues, their append-only events, photos."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TIMESTAMP
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from gridsvc.common.geometry import geometry_column_type
from gridsvc.db import Base

CODE_FORMAT = "^[a-z][a-z0-9_]*$"
PRIORITIES = "priority IN ('normal', 'urgent')"


def now_default() -> Any:
    """``now()`` on the server, as the default of a timestamp column."""
    return text("now()")


class Department(Base):
    """A department (职能部门) that handles dispatched cases."""

    __tablename__ = "departments"
    __table_args__ = (CheckConstraint(f"code ~ '{CODE_FORMAT}'", name="departments_code_format"),)

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)


class IssueCategory(Base):
    """A kind of problem residents report, with the department that handles it by default."""

    __tablename__ = "issue_categories"
    __table_args__ = (
        CheckConstraint(f"code ~ '{CODE_FORMAT}'", name="issue_categories_code_format"),
    )

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    department_code: Mapped[str] = mapped_column(String(40), ForeignKey("departments.code"))
    # Whether resolving needs a photo after handling (处置后照片) by the handler.
    after_photo_required: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # Retired: kept for history and old cases, refused for new reports.
    retired_at: Mapped[datetime | None] = mapped_column(TIMESTAMP(timezone=True))


class CategoryDeadline(Base):
    """How long one stage of a category's cases of one priority may take (working hours/days)."""

    __tablename__ = "category_deadlines"
    __table_args__ = (
        PrimaryKeyConstraint("category_code", "priority", "stage", name="category_deadlines_pkey"),
        CheckConstraint("unit IN ('hours', 'days')", name="category_deadlines_unit"),
        CheckConstraint("amount >= 0", name="category_deadlines_amount"),
        CheckConstraint(PRIORITIES, name="category_deadlines_priority"),
    )

    category_code: Mapped[str] = mapped_column(String(40), ForeignKey("issue_categories.code"))
    priority: Mapped[str] = mapped_column(String(6), server_default="normal")
    stage: Mapped[str] = mapped_column(String(20))
    amount: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(5))


class DepartmentRoute(Base):
    """The routing table: in this district, cases of this category go to this department.

    Where a (category, district) pair has no row, the category's own department acts.
    """

    __tablename__ = "department_routes"
    __table_args__ = (
        PrimaryKeyConstraint("category_code", "district_code", name="department_routes_pkey"),
        CheckConstraint("district_code ~ '^[0-9]{6}$'", name="department_routes_district"),
    )

    category_code: Mapped[str] = mapped_column(String(40), ForeignKey("issue_categories.code"))
    district_code: Mapped[str] = mapped_column(String(6))
    department_code: Mapped[str] = mapped_column(String(40), ForeignKey("departments.code"))


class Issue(Base):
    """A reported problem at a point (事件/案件), routed to a grid and dispatched onwards.

    Grid, community, street and district are kept by code: codes outlive boundary
    generations, and the case stays where it was routed when a grid is redrawn.
    """

    __tablename__ = "issues"
    __table_args__ = (
        CheckConstraint(
            "routing IN ('inside', 'nearest', 'unrouted', 'manual')", name="issues_routing"
        ),
        CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="issues_rating"),
        CheckConstraint(PRIORITIES, name="issues_priority"),
        Index("issues_geom_gist", "geom", postgresql_using="gist"),
        # Indicators, hotspots and lists of a period pick their cases by report time.
        Index("ix_issues_created_at", "created_at"),
        Index(
            "ix_issues_open_deadline",
            "deadline_at",
            postgresql_where=text("deadline_at IS NOT NULL"),
        ),
        Index(
            "ix_issues_published",
            "published_at",
            postgresql_where=text("published_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # What staff, lists and Open311 (service_request_id) show; not a credential.
    public_id: Mapped[str] = mapped_column(String(16), unique=True)
    # SHA-256 of the reporter's secret, the credential returned once in the 201.
    secret_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    category_code: Mapped[str] = mapped_column(
        String(40), ForeignKey("issue_categories.code"), index=True
    )
    description: Mapped[str] = mapped_column(Text)
    reporter_contact: Mapped[str | None] = mapped_column(Text)
    anonymous: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    reporter_subject: Mapped[str | None] = mapped_column(Text)
    crs: Mapped[str] = mapped_column(String(8))
    reported_lon: Mapped[float] = mapped_column(Float)
    reported_lat: Mapped[float] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    geom: Mapped[object] = mapped_column(geometry_column_type("POINT"))
    routing: Mapped[str] = mapped_column(String(8))
    routing_distance_m: Mapped[float | None] = mapped_column(Float)
    grid_code: Mapped[str | None] = mapped_column(String(15), index=True)
    community_code: Mapped[str | None] = mapped_column(String(12))
    street_code: Mapped[str | None] = mapped_column(String(9))
    district_code: Mapped[str | None] = mapped_column(String(6), index=True)
    department_code: Mapped[str | None] = mapped_column(String(40), ForeignKey("departments.code"))
    departments: Mapped[list[str]] = mapped_column(
        ARRAY(String(40)), server_default=text("'{}'::varchar[]")
    )
    status: Mapped[str] = mapped_column(String(12), index=True)
    priority: Mapped[str] = mapped_column(String(6), server_default="normal")
    deadline_at: Mapped[datetime | None] = mapped_column(TIMESTAMP(timezone=True))
    paused_hours: Mapped[float | None] = mapped_column(Float)
    escalated_at: Mapped[datetime | None] = mapped_column(TIMESTAMP(timezone=True))
    survivor_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("issues.id"))
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    created_at: Mapped[datetime] = mapped_column(
        TIMESTAMP(timezone=True), server_default=now_default()
    )
    closed_at: Mapped[datetime | None] = mapped_column(TIMESTAMP(timezone=True))
    # Public once staff publish it (moderation): then category, status, dates, the text
    # staff published and a rounded location are shown to anyone.
    published_at: Mapped[datetime | None] = mapped_column(TIMESTAMP(timezone=True))
    published_text: Mapped[str | None] = mapped_column(Text)
    # Read with a page of issues (``listing.matching``), never one row at a time: the stored
    # point, and the history oldest first.
    lon: Mapped[float | None] = query_expression()
    lat: Mapped[float | None] = query_expression()
    events: Mapped[list[IssueEvent]] = relationship(
        order_by=lambda: (IssueEvent.created_at, IssueEvent.id),
        viewonly=True,
        lazy="raise_on_sql",
    )


class IssueEvent(Base):
    """One step in an issue's life: who did what, when, with what note. Never updated."""

    __tablename__ = "issue_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    issue_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("issues.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    actor_role: Mapped[str] = mapped_column(String(12))
    actor: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    deadline_at: Mapped[datetime | None] = mapped_column(TIMESTAMP(timezone=True))
    created_at: Mapped[datetime] = mapped_column(
        TIMESTAMP(timezone=True), server_default=now_default()
    )


class IdempotencyKey(Base):
    """A submission's ``Idempotency-Key``: the body's hash and the first response given."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (PrimaryKeyConstraint("principal", "key", name="idempotency_keys_pkey"),)

    principal: Mapped[str] = mapped_column(Text)
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(
        TIMESTAMP(timezone=True), server_default=now_default()
    )


class IssuePhoto(Base):
    """A photo of an issue, stored on disk (EXIF stripped) under the photos folder."""

    __tablename__ = "issue_photos"
    __table_args__ = (
        CheckConstraint("stage IN ('report', 'before', 'after')", name="issue_photos_stage"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    issue_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("issues.id"), index=True)
    path: Mapped[str] = mapped_column(Text)
    media_type: Mapped[str] = mapped_column(String(20))
    size_bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    published: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # report: the reporter's (or staff's when reporting); before/after: 处置前后照片 by staff.
    stage: Mapped[str] = mapped_column(String(6), server_default="report")
    uploaded_by: Mapped[str | None] = mapped_column(Text)
    uploaded_role: Mapped[str | None] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(
        TIMESTAMP(timezone=True), server_default=now_default()
    )


class IssuedBulletin(Base):
    """A bulletin (定期通报) as issued: its HTML and CSV kept as they went out, never rewritten.

    One per period, first day and scope (``district_code`` empty for the city), so a
    scheduler run in every worker issues each bulletin once.
    """

    __tablename__ = "issued_bulletins"
    __table_args__ = (
        Index("issued_bulletins_once", "period", "start_date", "district_code", unique=True),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    period: Mapped[str] = mapped_column(String(10))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    district_code: Mapped[str] = mapped_column(String(6), server_default=text("''"))
    title: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    csv: Mapped[bytes] = mapped_column(LargeBinary)
    issued_at: Mapped[datetime] = mapped_column(
        TIMESTAMP(timezone=True), server_default=now_default()
    )
