"""Shape of the health report."""

from __future__ import annotations

from pydantic import BaseModel, Field


class HealthStatus(BaseModel):
    """The service is up and its database answers."""

    status: str = Field(examples=["ok"])
    database: str = Field(examples=["PostgreSQL 15.10 on x86_64-pc-linux-gnu"])
    postgis: str = Field(examples=["3.3.2 GEOS=3.11.1 PROJ=9.1.1"])
