"""Open issues follow redrawn grids: each goes to the new grid holding its point.

Closed cases keep the grid they were handled in (their history); an open case whose
point now lies in another grid is re-placed there, and the move is appended to its
events as a system ``route`` with the old and new grid codes.
"""

from __future__ import annotations

from datetime import UTC, datetime

from geoalchemy2.shape import to_shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from gridsvc.auth.tokens import SYSTEM
from gridsvc.grids import placing as grid_placing
from gridsvc.issues import service
from gridsvc.issues.models import Issue
from gridsvc.issues.workflow import OPEN_STATUSES, Action


def relink_open_issues(session: Session, community_codes: list[str], note: str) -> int:
    """Move the open issues of these communities to the current grid holding their point.

    Returns how many moved. The caller owns the transaction.
    """
    issues = list(
        session.scalars(
            select(Issue)
            .where(Issue.community_code.in_(community_codes), Issue.status.in_(OPEN_STATUSES))
            .order_by(Issue.id)
        )
    )
    if not issues:
        return 0
    points = [to_shape(issue.geom) for issue in issues]
    codes = grid_placing.grid_codes_for_points(
        session, [p.x for p in points], [p.y for p in points]
    )
    now = datetime.now(UTC)
    moved = 0
    for issue, code in zip(issues, codes, strict=True):
        if code is None or code == issue.grid_code:
            continue
        placement = grid_placing.placement_of_grid(session, code)
        if placement is None:
            continue
        old_code = issue.grid_code
        routing = {"routing": issue.routing, "distance_m": issue.routing_distance_m}
        service.place(session, issue, {**placement, **routing})
        details = {"from_grid": old_code, "to_grid": code}
        service.record_event(
            session, issue, Action.ROUTE.value, issue.status, SYSTEM, now, note, details
        )
        moved += 1
    session.flush()
    return moved
