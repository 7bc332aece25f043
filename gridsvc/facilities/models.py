"""Facility types and facilities (typed points with a capacity and a source)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import TIMESTAMP
from sqlalchemy.orm import Mapped, mapped_column

from gridsvc.common.geometry import geometry_column_type
from gridsvc.db import Base


class FacilityType(Base):
    """A kind of facility: practice station, park/square, library, shop/market..."""

    __tablename__ = "facility_types"
    __table_args__ = (
        CheckConstraint("code ~ '^[a-z][a-z0-9_]*$'", name="facility_types_code_format"),
    )

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(16))


class Facility(Base):
    """A facility at a point; its service areas are computed from here."""

    __tablename__ = "facilities"
    __table_args__ = (
        CheckConstraint("capacity IS NULL OR capacity >= 0", name="facilities_capacity"),
        Index("facilities_geom_gist", "geom", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type_code: Mapped[str] = mapped_column(ForeignKey("facility_types.code"), index=True)
    name: Mapped[str] = mapped_column(Text)
    capacity: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text, server_default=text("'manual'"))
    created_at: Mapped[datetime] = mapped_column(
        TIMESTAMP(timezone=True), server_default=text("now()")
    )
    geom: Mapped[object] = mapped_column(geometry_column_type("POINT"))
