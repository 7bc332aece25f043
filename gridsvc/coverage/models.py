"""The walking network, service areas, stored coverage per grid and circle, refreshes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import TIMESTAMP
from sqlalchemy.orm import Mapped, mapped_column

from gridsvc.common.geometry import geometry_column_type
from gridsvc.db import Base


class NetworkNode(Base):
    """A junction or end of the walking network."""

    __tablename__ = "network_nodes"
    __table_args__ = (Index("network_nodes_geom_gist", "geom", postgresql_using="gist"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    geom: Mapped[object] = mapped_column(geometry_column_type("POINT"))


class NetworkEdge(Base):
    """A walkable segment between two nodes, with its length on the ground."""

    __tablename__ = "network_edges"
    __table_args__ = (
        CheckConstraint("length_m > 0", name="network_edges_length"),
        Index("network_edges_geom_gist", "geom", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source: Mapped[int] = mapped_column(ForeignKey("network_nodes.id"), index=True)
    target: Mapped[int] = mapped_column(ForeignKey("network_nodes.id"), index=True)
    length_m: Mapped[float] = mapped_column(Float)
    geom: Mapped[object] = mapped_column(geometry_column_type("LINESTRING"))


class ServiceArea(Base):
    """The area from which a facility is reached within a threshold, by network or buffer.

    Keyed by facility id without a foreign key: reloading the city truncates facilities,
    and a refresh replaces every service area whenever the facilities or network change.
    """

    __tablename__ = "service_areas"
    __table_args__ = (
        CheckConstraint("mode IN ('network', 'euclidean')", name="service_areas_mode"),
        CheckConstraint("threshold_m > 0", name="service_areas_threshold"),
        UniqueConstraint("facility_id", "mode", "threshold_m", name="service_areas_facility"),
        Index("service_areas_geom_gist", "geom", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    facility_id: Mapped[int] = mapped_column(Integer)
    type_code: Mapped[str] = mapped_column(String(40), index=True)
    mode: Mapped[str] = mapped_column(String(9))
    threshold_m: Mapped[float] = mapped_column(Float)
    geom: Mapped[object] = mapped_column(geometry_column_type("MULTIPOLYGON"))


class GridCoverage(Base):
    """A grid's coverage for a circle in one mode: residents and area covered, and its gap."""

    __tablename__ = "grid_coverage"
    __table_args__ = (
        CheckConstraint("mode IN ('network', 'euclidean')", name="grid_coverage_mode"),
        CheckConstraint(
            "covered_residents >= 0 AND covered_residents <= residents", name="grid_coverage_counts"
        ),
        Index("grid_coverage_geom_gist", "geom", postgresql_using="gist"),
        Index("grid_coverage_circle_district", "circle", "mode", "district_code"),
    )

    grid_code: Mapped[str] = mapped_column(String(15), primary_key=True)
    circle: Mapped[str] = mapped_column(String(64), primary_key=True)
    mode: Mapped[str] = mapped_column(String(9), primary_key=True)
    district_code: Mapped[str] = mapped_column(String(6))
    street_code: Mapped[str] = mapped_column(String(9))
    community_code: Mapped[str] = mapped_column(String(12))
    residents: Mapped[int] = mapped_column(Integer)
    covered_residents: Mapped[int] = mapped_column(Integer)
    area_m2: Mapped[float] = mapped_column(Float)
    covered_area_m2: Mapped[float] = mapped_column(Float)
    # The gap: the part of the grid no service area reaches (NULL when fully covered).
    geom: Mapped[object | None] = mapped_column(geometry_column_type("MULTIPOLYGON"))


class CoverageRefresh(Base):
    """A refresh of service areas and coverage, with the fingerprint of what it was made from."""

    __tablename__ = "coverage_refreshes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # 'city', or the district code when only one district was refreshed.
    scope: Mapped[str] = mapped_column(String(6))
    fingerprint: Mapped[str] = mapped_column(Text)
    circles: Mapped[str] = mapped_column(Text)
    seconds: Mapped[float] = mapped_column(Float)
    # The data versions of the input tables when it ran (NULL: made before they existed).
    input_versions: Mapped[str | None] = mapped_column(Text, nullable=True)
    finished_at: Mapped[datetime] = mapped_column(
        TIMESTAMP(timezone=True), server_default=text("now()")
    )


class CoverageFacility(Base):
    """A facility as the stored coverage last saw it: type and metric place.

    Written by every refresh of the city and by incremental updates; comparing it with
    ``facilities`` tells which facilities were added, moved or removed since.
    """

    __tablename__ = "coverage_facilities"

    facility_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    type_code: Mapped[str] = mapped_column(String(40))
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
