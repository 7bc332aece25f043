"""Data versions that every write bumps: a table's version is read in one small lookup.

A statement-level trigger on each city table (grids and their parents, facilities,
residents, the walking network, coverage, the catalogue) stamps the table's row in
``data_versions`` with the next value of one sequence and the transaction's time, on every
``INSERT``, ``UPDATE``, ``DELETE``, ``TRUNCATE`` or ``COPY``. A reader sees the version its
snapshot holds, so a version and the rows it names always agree. The stamp's time keeps a
version unique even after a database is restored from an older backup (its sequence goes
back, its clock does not).

The busy tables of the cases (issues, their events, idempotency keys, rate limits) carry no
trigger: one counter row per table would make every submission wait for the one before it
to commit. Their state is read from the rows themselves (count and newest ``xmin``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import TIMESTAMP, BigInteger, String, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from gridsvc.db import Base

#: Tables whose writes bump their data version (the migration installs their triggers).
VERSIONED_TABLES = (
    "districts",
    "streets",
    "communities",
    "grids",
    "population_points",
    "facility_types",
    "facilities",
    "network_nodes",
    "network_edges",
    "service_areas",
    "grid_coverage",
    "coverage_refreshes",
    "departments",
    "issue_categories",
    "category_deadlines",
    "department_routes",
)
#: The busy tables of the cases: no trigger, their state is counted (see above).
COUNTED_TABLES = (
    "issues",
    "issue_events",
    "issue_photos",
    "idempotency_keys",
    "rate_limits",
    "issued_bulletins",
    # Coverage's own bookkeeping (the facilities as stored coverage last saw them): no map
    # or tile reads it.
    "coverage_facilities",
    # The city's metric CRS: one row, written with the districts (whose version it follows).
    "city_metric_crs",
)


class DataVersion(Base):
    """The newest write to one table: a sequence value and the writing transaction's time."""

    __tablename__ = "data_versions"

    table_name: Mapped[str] = mapped_column(String(63), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False)
    changed_at: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True), nullable=False)


_VERSIONED = text(
    "SELECT table_name, version || '@' || extract(epoch FROM changed_at)"
    " FROM data_versions WHERE table_name = ANY(:names)"
)


def table_states(session: Session, tables: Iterable[str]) -> dict[str, str]:
    """Return each table's state: its data version, or its rows' count and newest xmin.

    One lookup for versioned tables; the others (the busy case tables) are counted.
    """
    names = sorted(set(tables))
    states: dict[str, str] = dict(session.execute(_VERSIONED, {"names": names}).all())
    counted = [name for name in names if name not in states]
    if counted:
        parts = ", ".join(
            f"(SELECT count(*) || '/' || coalesce(max(xmin::text::bigint), 0) FROM {name})"
            for name in counted
        )
        row = session.execute(text(f"SELECT {parts}")).one()
        states.update(zip(counted, row, strict=True))
    return states
