"""Districts, streets, communities and grids: the city's versioned boundaries; residents."""

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
    text,
)
from sqlalchemy.dialects.postgresql import TIMESTAMP
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from gridsvc.common.geometry import geometry_column_type
from gridsvc.db import Base


class BoundaryVersion:
    """A boundary is valid from ``valid_from`` until ``valid_to`` (open while current).

    A redrawn boundary closes the old row and opens a new one in the next generation,
    so the history of what was valid when is kept.
    """

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    generation: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    valid_from: Mapped[datetime] = mapped_column(
        TIMESTAMP(timezone=True), server_default=text("now()")
    )
    valid_to: Mapped[datetime | None] = mapped_column(TIMESTAMP(timezone=True))

    @declared_attr
    def geom(cls) -> Mapped[object]:  # declared_attr receives the class
        """Outline of the area, a MultiPolygon in EPSG:4326."""
        return mapped_column(geometry_column_type("MULTIPOLYGON"))


def boundary_table_args(table: str, code_digits: int) -> tuple:
    """Code format check, one current row per code, and the GiST index of a boundary table."""
    return (
        CheckConstraint(f"code ~ '^[0-9]{{{code_digits}}}$'", name=f"{table}_code_format"),
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name=f"{table}_valid_span"),
        Index(
            f"{table}_current_code",
            "code",
            unique=True,
            postgresql_where=text("valid_to IS NULL"),
        ),
        Index(f"{table}_geom_gist", "geom", postgresql_using="gist"),
    )


class District(BoundaryVersion, Base):
    """A district or banner (旗区), coded by its 6-digit division code."""

    __tablename__ = "districts"
    __table_args__ = boundary_table_args("districts", 6)

    code: Mapped[str] = mapped_column(String(6))


class Street(BoundaryVersion, Base):
    """A township or sub-district (苏木乡镇/街道) of a district."""

    __tablename__ = "streets"
    __table_args__ = boundary_table_args("streets", 9)

    code: Mapped[str] = mapped_column(String(9))
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), index=True)


class Community(BoundaryVersion, Base):
    """A village or urban community (嘎查村/社区) of a street."""

    __tablename__ = "communities"
    __table_args__ = (
        *boundary_table_args("communities", 12),
        CheckConstraint("kind IN ('urban', 'rural')", name="communities_kind"),
    )

    code: Mapped[str] = mapped_column(String(12))
    street_id: Mapped[int] = mapped_column(ForeignKey("streets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(5))


class Grid(BoundaryVersion, Base):
    """A management grid (网格): the unit that handles a community's residents and cases."""

    __tablename__ = "grids"
    __table_args__ = (
        *boundary_table_args("grids", 15),
        CheckConstraint(
            "population >= 0 AND households >= 0 AND grid_workers >= 0", name="grids_counts"
        ),
    )

    code: Mapped[str] = mapped_column(String(15))
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    population: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    households: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    grid_workers: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class PopulationPoint(Base):
    """Residents at a place (a building or a homestead): where people live."""

    __tablename__ = "population_points"
    __table_args__ = (
        CheckConstraint("persons > 0", name="population_points_persons"),
        Index("population_points_geom_gist", "geom", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    persons: Mapped[int] = mapped_column(Integer)
    geom: Mapped[object] = mapped_column(geometry_column_type("POINT"))


class CityMetricCrs(Base):
    """The metric CRS chosen for the loaded city: the UTM zone of its districts' extent.

    One row, written when a city's districts are loaded; ``GRIDSVC_METRIC_CRS=auto`` uses it.
    """

    __tablename__ = "city_metric_crs"
    __table_args__ = (CheckConstraint("id = 1", name="city_metric_crs_one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    crs: Mapped[str] = mapped_column(String(20))
    west: Mapped[float] = mapped_column(Float)
    south: Mapped[float] = mapped_column(Float)
    east: Mapped[float] = mapped_column(Float)
    north: Mapped[float] = mapped_column(Float)
    chosen_at: Mapped[datetime] = mapped_column(
        TIMESTAMP(timezone=True), server_default=text("now()")
    )
