"""Ask the database who it is: the health check's only query."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from gridsvc.common.errors import DatabaseUnavailableError
from gridsvc.health.schemas import HealthStatus

VERSIONS = text(
    "SELECT version() AS database, "
    "postgis_lib_version() || ' GEOS=' || postgis_geos_version() "
    "|| ' PROJ=' || postgis_proj_version() AS postgis"
)


def database_status(session: Session) -> HealthStatus:
    """PostgreSQL's and PostGIS's versions, or DatabaseUnavailableError with the cause."""
    try:
        row = session.execute(VERSIONS).one()
    except SQLAlchemyError as error:
        raise DatabaseUnavailableError(f"database unavailable: {first_line(error)}") from error
    return HealthStatus(status="ok", database=row.database, postgis=row.postgis)


def first_line(error: BaseException) -> str:
    """Return the first line of an error's text: the cause, without SQL and links."""
    lines = str(getattr(error, "orig", None) or error).strip().splitlines()
    return lines[0] if lines else type(error).__name__
