"""Every mapped table, imported in one place for Alembic's autogenerate comparison."""

from gridsvc.common.data_versions import DataVersion
from gridsvc.common.ratelimit import RateLimitHit
from gridsvc.coverage.models import (
    CoverageRefresh,
    GridCoverage,
    NetworkEdge,
    NetworkNode,
    ServiceArea,
)
from gridsvc.db import Base
from gridsvc.facilities.models import Facility, FacilityType
from gridsvc.grids.models import (
    CityMetricCrs,
    Community,
    District,
    Grid,
    PopulationPoint,
    Street,
)
from gridsvc.issues import models as issues_models  # noqa: F401 - registers the issue tables

__all__ = [
    "Base",
    "CityMetricCrs",
    "Community",
    "CoverageRefresh",
    "DataVersion",
    "District",
    "Facility",
    "FacilityType",
    "Grid",
    "GridCoverage",
    "NetworkEdge",
    "NetworkNode",
    "PopulationPoint",
    "RateLimitHit",
    "ServiceArea",
    "Street",
]
