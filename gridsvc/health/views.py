"""The health route: is the service up, and does its database answer."""

from __future__ import annotations

from fastapi import APIRouter

from gridsvc.db import SessionDep
from gridsvc.health import service
from gridsvc.health.schemas import HealthStatus

router = APIRouter(tags=["health"])


@router.get("/health", responses={503: {"description": "The database does not answer."}})
def health(session: SessionDep) -> HealthStatus:
    """Service status with the versions of PostgreSQL and PostGIS; 503 if the database is down."""
    return service.database_status(session)
