"""The life of an issue (事件/案件): statuses, actions and the one table that joins them to roles.

Pure rules, no I/O: the service looks up a transition here, checks the actor's scope
(own grid, own department, own district) itself, and appends the event to the event table.

The main line follows China's digital city-management flow (数字化城市管理七步闭环)::

    unrouted --route--> reported --register--> registered --dispatch/whistle--> dispatched
    dispatched --accept--> in_progress --resolve--> resolved --verify--> verified --close--> closed

Around it: ``reject`` at intake, ``decline`` (a department returns a wrongly dispatched case),
``send_back`` (verification failed), ``reopen``, ``merge`` into a surviving case, ``suspend`` and
``resume``, and actions that leave the status alone: ``request_extension`` (a handler asks
for more time), ``extend`` (a supervisor grants it), ``escalate`` (督办, the overdue case is
put under supervision) and ``rate`` (the reporter's 1-5 rating after closing).

``TRANSITIONS`` is the single source of truth; every function below only reads it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from gridsvc.auth.roles import Role

__all__ = [
    "TRANSITIONS",
    "Action",
    "DeadlineEffect",
    "Rule",
    "Stage",
    "Status",
    "Transition",
    "TransitionNotAllowed",
    "allowed_actions",
    "apply",
    "OPEN_STATUSES",
    "is_open",
    "stage_of",
    "suspendable_statuses",
]


class Status(StrEnum):
    """Where an issue stands."""

    UNROUTED = "unrouted"  # 待分拨: no grid contains the point; waits in a supervisor queue
    REPORTED = "reported"  # 上报/待受理: routed to a grid, not yet vetted
    REGISTERED = "registered"  # 立案: accepted as a case, waits for dispatch
    REJECTED = "rejected"  # 不予立案: not a case (spam, out of scope, not verifiable)
    DISPATCHED = "dispatched"  # 派遣: sent to one or more departments, awaiting sign-for
    IN_PROGRESS = "in_progress"  # 处置: a department (or the grid itself) is handling it
    RESOLVED = "resolved"  # 处置反馈: the handler reports it done; awaits verification
    VERIFIED = "verified"  # 核查通过: checked on site; awaits closing
    CLOSED = "closed"  # 结案/销号
    DUPLICATE = "duplicate"  # 重复/已合并: merged into a surviving case
    SUSPENDED = "suspended"  # 挂起: on hold by a supervisor; the deadline clock is paused


class Action(StrEnum):
    """What an actor does to an issue; each one becomes a row of the event table."""

    ROUTE = "route"  # 分拨: put an issue into a grid (or into another grid)
    REGISTER = "register"  # 立案
    REJECT = "reject"  # 不予立案
    DISPATCH = "dispatch"  # 派遣: send to a department
    DECLINE = "decline"  # 退回: a department says the case is not its responsibility
    WHISTLE = "whistle"  # 吹哨: the grid escalates to one or more departments
    ACCEPT = "accept"  # 签收/开始处置: a department signs for it, or the grid handles it itself
    RESOLVE = "resolve"  # 处置反馈: report the case as handled
    VERIFY = "verify"  # 核查: on-site check that it really is handled
    SEND_BACK = "send_back"  # 核查不通过: back to handling
    CLOSE = "close"  # 结案/销号
    REOPEN = "reopen"  # 重新办理: reporter's request after closing, or a supervisor's decision
    MERGE = "merge"  # 合并: mark as duplicate of a surviving case
    SUSPEND = "suspend"  # 挂起
    RESUME = "resume"  # 恢复: back to the status held before suspension
    REQUEST_EXTENSION = "request_extension"  # 申请延期: the handler asks a supervisor for time
    EXTEND = "extend"  # 延期: deadline extension approved by a supervisor
    ESCALATE = "escalate"  # 督办: overdue case put under supervision
    RATE = "rate"  # 评价: the reporter's 1-5 rating after closing
    SIGN_IN = "sign_in"  # 报到: a department summoned by a whistle signs in
    REPORT_PART = "report_part"  # 反馈: a summoned department reports its part of the work done
    CLOSE_WHISTLE = "close_whistle"  # 结束吹哨: the lead department ends the whistle, with a reason
    PRIORITIZE = "prioritize"  # 调整紧急程度: the centre marks an open case urgent (紧急) or normal


class Stage(StrEnum):
    """A stretch of the workflow that has its own deadline (限期), per category."""

    REGISTRATION = "registration"  # route and vet the report
    DISPATCH = "dispatch"  # send the registered case to whoever must act
    ACCEPTANCE = "acceptance"  # the departments sign for the dispatched case
    HANDLING = "handling"  # handle it
    VERIFICATION = "verification"  # check the reported handling on site
    CLOSING = "closing"  # close the verified case


class DeadlineEffect(StrEnum):
    """What a transition does to the clock of the current stage."""

    KEEP = "keep"  # the running deadline stays as it is
    RESTART = "restart"  # a new stage (or a new handler) starts with a fresh deadline
    EXTEND = "extend"  # the deadline moves later by the approved extension
    PAUSE = "pause"  # the clock stops; the remaining time is kept
    RESUME = "resume"  # the clock runs again with the remaining time
    STOP = "stop"  # no deadline any more (the case left the workflow)


@dataclass(frozen=True)
class Rule:
    """One row of the transition table.

    Parameters
    ----------
    to_status
        The status after the action; ``None`` only for ``resume``: the status held before
        the suspension, which the caller reads from the event table.
    roles
        The roles allowed to take the action from this status.
    deadline
        What the action does to the stage deadline.
    """

    to_status: Status | None
    roles: frozenset[Role]
    deadline: DeadlineEffect


@dataclass(frozen=True)
class Transition:
    """An allowed transition, ready to be written to the event table."""

    from_status: Status
    action: Action
    role: Role
    to_status: Status
    deadline: DeadlineEffect

    @property
    def restarts_deadline(self) -> bool:
        """Whether the stage deadline must be computed afresh from the time of the event."""
        return self.deadline is DeadlineEffect.RESTART

    @property
    def stage(self) -> Stage | None:
        """The deadline stage the issue is in after the transition."""
        return stage_of(self.to_status)


class TransitionNotAllowed(ValueError):
    """The action is not allowed for this role on an issue in this status."""

    def __init__(self, status: Status, action: Action, role: Role) -> None:
        self.status = status
        self.action = action
        self.role = role
        super().__init__(_refusal(status, action, role))


# Short names and role groups for the table below.
S, A, R, D = Status, Action, Role, DeadlineEffect
_SUPERVISION = frozenset({R.SUPERVISOR, R.ADMIN})
_GRID = frozenset({R.GRID_WORKER}) | _SUPERVISION  # the grid's work, which the centre may also do
_AUTOMATIC = frozenset({R.SYSTEM}) | _SUPERVISION
_HANDLERS = frozenset({R.GRID_WORKER, R.DEPARTMENT})
# Statuses in which a stage deadline runs (see stage_of).
_TIMED = (S.UNROUTED, S.REPORTED, S.REGISTERED, S.DISPATCHED, S.IN_PROGRESS, S.RESOLVED, S.VERIFIED)
_SUSPENDABLE = (S.REPORTED, S.REGISTERED, S.DISPATCHED, S.IN_PROGRESS)
_MERGEABLE_BY_GRID = (*_TIMED[1:], S.SUSPENDED)  # every open issue that has a grid

_UNCHANGED = object()  # the action leaves the status as it is
_PREVIOUS = None  # resume: back to the status held before suspension
_Row = tuple[Action, Iterable[Status], "Status | object | None", frozenset[Role], DeadlineEffect]

# (action, from statuses, to status, roles, deadline effect). Decisions:
# - Intake: the system routes automatically; a supervisor routes by hand what it could not,
#   and may re-route a reported issue to another grid. An unrouted issue has no grid, so
#   only supervisors act on it.
# - The grid may handle a registered case itself ("accept" from registered) or whistle
#   (吹哨) to departments; whistling adds departments and leaves or puts the case in
#   dispatched, with a fresh acceptance deadline for the summoned departments.
# - Verification and closing are two steps: grid workers verify on site, but only the
#   command centre (supervisor) closes (结案/销号), so no case is closed by its handler.
# - A closed case reopened (by the reporter's request or a supervisor) goes back to
#   registered: it was vetted once and only needs a new dispatch. Reopening a rejected or
#   merged case means the first decision was wrong, so it is vetted again (reported).
# - Merging is allowed on every open issue; closed, rejected or duplicate ones stay as
#   they are.
# - Extensions are asked for by the handlers (grid worker, department) and granted only by
#   a supervisor (extend); asking, extending, escalating and rating never change the status.
_ROWS: tuple[_Row, ...] = (
    (A.ROUTE, [S.UNROUTED], S.REPORTED, _AUTOMATIC, D.RESTART),
    (A.ROUTE, [S.REPORTED], S.REPORTED, _SUPERVISION, D.RESTART),
    (A.REGISTER, [S.REPORTED], S.REGISTERED, _GRID, D.RESTART),
    (A.REJECT, [S.UNROUTED], S.REJECTED, _SUPERVISION, D.STOP),
    (A.REJECT, [S.REPORTED], S.REJECTED, _GRID, D.STOP),
    (A.DISPATCH, [S.REGISTERED], S.DISPATCHED, _GRID, D.RESTART),
    (A.WHISTLE, [S.REGISTERED, S.DISPATCHED, S.IN_PROGRESS], S.DISPATCHED, _GRID, D.RESTART),
    (A.DECLINE, [S.DISPATCHED], S.REGISTERED, frozenset({R.DEPARTMENT}), D.RESTART),
    (A.ACCEPT, [S.REGISTERED], S.IN_PROGRESS, frozenset({R.GRID_WORKER}), D.RESTART),
    (A.ACCEPT, [S.DISPATCHED], S.IN_PROGRESS, frozenset({R.DEPARTMENT}), D.RESTART),
    (A.RESOLVE, [S.IN_PROGRESS], S.RESOLVED, frozenset({R.DEPARTMENT, R.GRID_WORKER}), D.RESTART),
    (A.VERIFY, [S.RESOLVED], S.VERIFIED, _GRID, D.RESTART),
    (A.SEND_BACK, [S.RESOLVED], S.IN_PROGRESS, _GRID, D.RESTART),
    (A.CLOSE, [S.VERIFIED], S.CLOSED, _SUPERVISION, D.STOP),
    (A.REOPEN, [S.CLOSED], S.REGISTERED, frozenset({R.REPORTER}) | _SUPERVISION, D.RESTART),
    (A.REOPEN, [S.REJECTED, S.DUPLICATE], S.REPORTED, _SUPERVISION, D.RESTART),
    (A.MERGE, [S.UNROUTED], S.DUPLICATE, _SUPERVISION, D.STOP),
    (A.MERGE, _MERGEABLE_BY_GRID, S.DUPLICATE, _GRID, D.STOP),
    (A.SUSPEND, _SUSPENDABLE, S.SUSPENDED, _SUPERVISION, D.PAUSE),
    (A.RESUME, [S.SUSPENDED], _PREVIOUS, _SUPERVISION, D.RESUME),
    (A.REQUEST_EXTENSION, _TIMED[1:], _UNCHANGED, _HANDLERS, D.KEEP),
    (A.EXTEND, _TIMED, _UNCHANGED, _SUPERVISION, D.EXTEND),
    (A.ESCALATE, _TIMED, _UNCHANGED, _AUTOMATIC, D.KEEP),
    (A.RATE, [S.CLOSED], _UNCHANGED, frozenset({R.REPORTER}), D.KEEP),
    # 吹哨报到: summoned departments sign in and report their parts; the case is resolved
    # once every one has reported, or after the lead department closed the whistle.
    (A.SIGN_IN, [S.DISPATCHED, S.IN_PROGRESS], _UNCHANGED, frozenset({R.DEPARTMENT}), D.KEEP),
    (A.REPORT_PART, [S.IN_PROGRESS], _UNCHANGED, frozenset({R.DEPARTMENT}), D.KEEP),
    (A.CLOSE_WHISTLE, [S.IN_PROGRESS], _UNCHANGED, frozenset({R.DEPARTMENT}), D.KEEP),
    # Priority is set at intake and dispatch (register, dispatch, whistle); afterwards only
    # the command centre changes it. A case marked urgent gets the shorter deadline at once.
    (A.PRIORITIZE, _TIMED, _UNCHANGED, _SUPERVISION, D.KEEP),
)


def _expand(rows: Iterable[_Row]) -> dict[tuple[Status, Action], Rule]:
    """One Rule per (from status, action); refuses a pair defined twice."""
    table: dict[tuple[Status, Action], Rule] = {}
    for action, sources, target, roles, deadline in rows:
        for source in sources:
            if (source, action) in table:
                raise ValueError(f"transition ({source}, {action}) defined twice")
            to_status = source if target is _UNCHANGED else target
            table[(source, action)] = Rule(to_status, roles, deadline)
    return table


TRANSITIONS: Mapping[tuple[Status, Action], Rule] = MappingProxyType(_expand(_ROWS))
"""(from status, action) -> Rule(to status, roles allowed, deadline effect)."""

_STAGES: dict[Status, Stage] = {
    S.UNROUTED: Stage.REGISTRATION,
    S.REPORTED: Stage.REGISTRATION,
    S.REGISTERED: Stage.DISPATCH,
    S.DISPATCHED: Stage.ACCEPTANCE,
    S.IN_PROGRESS: Stage.HANDLING,
    S.RESOLVED: Stage.VERIFICATION,
    S.VERIFIED: Stage.CLOSING,
}
_FINISHED = frozenset({S.CLOSED, S.REJECTED, S.DUPLICATE})


def apply(
    status: Status, action: Action, role: Role, *, resume_to: Status | None = None
) -> Transition:
    """Check one action against the table and say where it leads.

    Parameters
    ----------
    status
        The issue's current status.
    action
        What the actor wants to do.
    role
        The actor's role (scope is the caller's to check).
    resume_to
        For ``resume`` only: the status the issue held when it was suspended, as recorded
        by the ``suspend`` event. Required for ``resume``, refused for anything else.

    Returns
    -------
    Transition
        The new status and what happens to the stage deadline.

    Raises
    ------
    TransitionNotAllowed
        If the role may not take the action from this status.
    ValueError
        If ``resume_to`` is missing for ``resume``, given for another action, or is not a
        status an issue can be suspended from.
    """
    status, action, role = Status(status), Action(action), Role(role)
    rule = TRANSITIONS.get((status, action))
    if rule is None or role not in rule.roles:
        raise TransitionNotAllowed(status, action, role)
    if action is A.RESUME:
        to_status = _resume_target(resume_to)
    elif resume_to is not None:
        raise ValueError(f"resume_to is only meaningful for 'resume', not for '{action}'")
    else:
        assert rule.to_status is not None  # only resume has an open target
        to_status = rule.to_status
    return Transition(status, action, role, to_status, rule.deadline)


def _resume_target(resume_to: Status | None) -> Status:
    if resume_to is None:
        raise ValueError("'resume' needs resume_to: the status held before the suspension")
    resume_to = Status(resume_to)
    if (resume_to, A.SUSPEND) not in TRANSITIONS:
        raise ValueError(
            f"cannot resume to '{resume_to}': issues are only suspended from "
            + ", ".join(f"'{s}'" for s in suspendable_statuses())
        )
    return resume_to


def allowed_actions(status: Status, role: Role) -> list[Action]:
    """Return the actions ``role`` may take on an issue in ``status``, in ``Action`` order."""
    status, role = Status(status), Role(role)
    return [
        action
        for action in Action
        if (rule := TRANSITIONS.get((status, action))) is not None and role in rule.roles
    ]


def suspendable_statuses() -> list[Status]:
    """Return the statuses an issue can be suspended from (and so ``resume`` may return to)."""
    return [status for status in Status if (status, A.SUSPEND) in TRANSITIONS]


def is_open(status: Status) -> bool:
    """Whether the issue is still being worked on (Open311 ``open``), else ``closed``.

    Resolved and verified issues are still open: the handling may be sent back, and only
    closing (结案) ends a case. Rejected and duplicate issues count as closed.
    """
    return Status(status) not in _FINISHED


#: The statuses ``is_open`` counts as open, as stored values (for SQL filters).
OPEN_STATUSES = [status.value for status in Status if is_open(status)]


def stage_of(status: Status) -> Stage | None:
    """Return the deadline stage an issue in ``status`` is in; ``None`` when no clock runs.

    No clock runs for finished issues and for suspended ones (paused).
    """
    return _STAGES.get(Status(status))


def _refusal(status: Status, action: Action, role: Role) -> str:
    """Word the refusal and what is allowed instead."""
    message = f"cannot '{action}' an issue that is '{status}' as {role}"
    own = allowed_actions(status, role)
    if own:
        message += f"; {role} may: " + ", ".join(own)
    else:
        message += f"; {role} may do nothing with a '{status}' issue"
    rule = TRANSITIONS.get((status, action))
    if rule is not None:
        message += f"; '{action}' is for: " + ", ".join(r for r in Role if r in rule.roles)
    else:
        sources = [s for s in Status if (s, action) in TRANSITIONS]
        message += f"; '{action}' applies only to issues that are: " + ", ".join(sources)
    return message
