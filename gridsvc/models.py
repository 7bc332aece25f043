"""Every mapped table, imported in one place for Alembic's autogenerate comparison."""

from gridsvc.coverage.models import NetworkEdge, NetworkNode
from gridsvc.db import Base
from gridsvc.facilities.models import Facility, FacilityType
from gridsvc.grids.models import Community, District, Grid, PopulationPoint, Street

__all__ = [
    "Base",
    "Community",
    "District",
    "Facility",
    "FacilityType",
    "Grid",
    "NetworkEdge",
    "NetworkNode",
    "PopulationPoint",
    "Street",
]
