"""Priority (紧急程度): who sets it, and what it does to the running stage deadline.

Decisions, as a command centre works: a report always arrives 一般 (normal) — a resident
cannot mark a report urgent. Intake and dispatch staff (grid workers, the centre) set the
priority when they register, dispatch or whistle a case; the next stage then runs on the
category's urgent deadlines. Afterwards only the centre changes it (``prioritize``): a
case made urgent gets the urgent deadline of its running stage from now, unless the
deadline it had is sooner; a case made normal keeps its running deadline and the next
stages run on the normal ones.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from gridsvc.common.errors import InvalidParameterError
from gridsvc.issues import service
from gridsvc.issues.catalog.deadlines import Priority
from gridsvc.issues.models import Issue
from gridsvc.issues.schemas import ActionRequest
from gridsvc.issues.workflow import Action, Status, stage_of

SETS_PRIORITY = (Action.REGISTER, Action.DISPATCH, Action.WHISTLE, Action.PRIORITIZE)


def set_priority(
    session: Session, issue: Issue, request: ActionRequest, now: datetime
) -> dict[str, Any]:
    """Apply the request's priority to the issue; return what the event keeps (or nothing)."""
    if request.priority is None:
        if request.action is Action.PRIORITIZE:
            raise InvalidParameterError(
                "priority", "prioritize needs a priority: normal or urgent", "body"
            )
        return {}
    if request.action not in SETS_PRIORITY:
        allowed = ", ".join(action.value for action in SETS_PRIORITY)
        raise InvalidParameterError(
            "priority", f"priority is set with {allowed}, not with '{request.action}'", "body"
        )
    before = Priority(issue.priority or Priority.NORMAL)
    issue.priority = request.priority.value
    if request.action is Action.PRIORITIZE and request.priority is Priority.URGENT:
        stage = stage_of(Status(issue.status))
        due = service.stage_deadline(session, issue.category_code, stage, now, Priority.URGENT)
        if due is not None and (issue.deadline_at is None or due < issue.deadline_at):
            issue.deadline_at = due
    return {"priority": request.priority.value, "from_priority": before.value}
