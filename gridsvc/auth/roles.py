"""Who acts on the service: the roles a token carries; each service checks the scope itself."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Role"]


class Role(StrEnum):
    """Who acts; scope (which grid, department, district) is checked by the service."""

    REPORTER = (
        "reporter"  # 上报人: resident or volunteer, anonymous (the report's secret) or registered
    )
    GRID_WORKER = "grid_worker"  # 网格员: own grids
    DEPARTMENT = "department"  # 职能部门: staff of the department the case is dispatched to
    SUPERVISOR = "supervisor"  # 指挥中心/督导: the city, or one district
    ADMIN = "admin"  # may do everything a supervisor may
    SYSTEM = "system"  # the service itself: automatic routing and escalation bookkeeping
