"""The issue workflow against an expectation written out by hand, triple by triple."""

from __future__ import annotations

import itertools

import pytest

from gridsvc.auth.roles import Role
from gridsvc.issues.workflow import (
    TRANSITIONS,
    Action,
    DeadlineEffect,
    Stage,
    Status,
    TransitionNotAllowed,
    allowed_actions,
    apply,
    is_open,
    stage_of,
    suspendable_statuses,
)

PREVIOUS = "<status before suspension>"

# Every allowed (status, action, role) with its target status; everything else is refused.
ALLOWED = [
    ("reported", "request_extension", "grid_worker", "reported"),
    ("reported", "request_extension", "department", "reported"),
    ("registered", "request_extension", "grid_worker", "registered"),
    ("registered", "request_extension", "department", "registered"),
    ("dispatched", "request_extension", "grid_worker", "dispatched"),
    ("dispatched", "request_extension", "department", "dispatched"),
    ("in_progress", "request_extension", "grid_worker", "in_progress"),
    ("in_progress", "request_extension", "department", "in_progress"),
    ("resolved", "request_extension", "grid_worker", "resolved"),
    ("resolved", "request_extension", "department", "resolved"),
    ("verified", "request_extension", "grid_worker", "verified"),
    ("verified", "request_extension", "department", "verified"),
    ("unrouted", "route", "system", "reported"),
    ("unrouted", "route", "supervisor", "reported"),
    ("unrouted", "route", "admin", "reported"),
    ("unrouted", "reject", "supervisor", "rejected"),
    ("unrouted", "reject", "admin", "rejected"),
    ("unrouted", "merge", "supervisor", "duplicate"),
    ("unrouted", "merge", "admin", "duplicate"),
    ("unrouted", "extend", "supervisor", "unrouted"),
    ("unrouted", "extend", "admin", "unrouted"),
    ("unrouted", "escalate", "system", "unrouted"),
    ("unrouted", "escalate", "supervisor", "unrouted"),
    ("unrouted", "escalate", "admin", "unrouted"),
    ("reported", "route", "supervisor", "reported"),
    ("reported", "route", "admin", "reported"),
    ("reported", "register", "grid_worker", "registered"),
    ("reported", "register", "supervisor", "registered"),
    ("reported", "register", "admin", "registered"),
    ("reported", "reject", "grid_worker", "rejected"),
    ("reported", "reject", "supervisor", "rejected"),
    ("reported", "reject", "admin", "rejected"),
    ("reported", "merge", "grid_worker", "duplicate"),
    ("reported", "merge", "supervisor", "duplicate"),
    ("reported", "merge", "admin", "duplicate"),
    ("reported", "suspend", "supervisor", "suspended"),
    ("reported", "suspend", "admin", "suspended"),
    ("reported", "extend", "supervisor", "reported"),
    ("reported", "extend", "admin", "reported"),
    ("reported", "escalate", "system", "reported"),
    ("reported", "escalate", "supervisor", "reported"),
    ("reported", "escalate", "admin", "reported"),
    ("registered", "dispatch", "grid_worker", "dispatched"),
    ("registered", "dispatch", "supervisor", "dispatched"),
    ("registered", "dispatch", "admin", "dispatched"),
    ("registered", "whistle", "grid_worker", "dispatched"),
    ("registered", "whistle", "supervisor", "dispatched"),
    ("registered", "whistle", "admin", "dispatched"),
    ("registered", "accept", "grid_worker", "in_progress"),
    ("registered", "merge", "grid_worker", "duplicate"),
    ("registered", "merge", "supervisor", "duplicate"),
    ("registered", "merge", "admin", "duplicate"),
    ("registered", "suspend", "supervisor", "suspended"),
    ("registered", "suspend", "admin", "suspended"),
    ("registered", "extend", "supervisor", "registered"),
    ("registered", "extend", "admin", "registered"),
    ("registered", "escalate", "system", "registered"),
    ("registered", "escalate", "supervisor", "registered"),
    ("registered", "escalate", "admin", "registered"),
    ("dispatched", "whistle", "grid_worker", "dispatched"),
    ("dispatched", "whistle", "supervisor", "dispatched"),
    ("dispatched", "whistle", "admin", "dispatched"),
    ("dispatched", "decline", "department", "registered"),
    ("dispatched", "accept", "department", "in_progress"),
    ("dispatched", "merge", "grid_worker", "duplicate"),
    ("dispatched", "merge", "supervisor", "duplicate"),
    ("dispatched", "merge", "admin", "duplicate"),
    ("dispatched", "suspend", "supervisor", "suspended"),
    ("dispatched", "suspend", "admin", "suspended"),
    ("dispatched", "extend", "supervisor", "dispatched"),
    ("dispatched", "extend", "admin", "dispatched"),
    ("dispatched", "escalate", "system", "dispatched"),
    ("dispatched", "escalate", "supervisor", "dispatched"),
    ("dispatched", "escalate", "admin", "dispatched"),
    ("in_progress", "whistle", "grid_worker", "dispatched"),
    ("in_progress", "whistle", "supervisor", "dispatched"),
    ("in_progress", "whistle", "admin", "dispatched"),
    ("in_progress", "resolve", "department", "resolved"),
    ("in_progress", "resolve", "grid_worker", "resolved"),
    ("in_progress", "merge", "grid_worker", "duplicate"),
    ("in_progress", "merge", "supervisor", "duplicate"),
    ("in_progress", "merge", "admin", "duplicate"),
    ("in_progress", "suspend", "supervisor", "suspended"),
    ("in_progress", "suspend", "admin", "suspended"),
    ("in_progress", "extend", "supervisor", "in_progress"),
    ("in_progress", "extend", "admin", "in_progress"),
    ("in_progress", "escalate", "system", "in_progress"),
    ("in_progress", "escalate", "supervisor", "in_progress"),
    ("in_progress", "escalate", "admin", "in_progress"),
    ("resolved", "verify", "grid_worker", "verified"),
    ("resolved", "verify", "supervisor", "verified"),
    ("resolved", "verify", "admin", "verified"),
    ("resolved", "send_back", "grid_worker", "in_progress"),
    ("resolved", "send_back", "supervisor", "in_progress"),
    ("resolved", "send_back", "admin", "in_progress"),
    ("resolved", "merge", "grid_worker", "duplicate"),
    ("resolved", "merge", "supervisor", "duplicate"),
    ("resolved", "merge", "admin", "duplicate"),
    ("resolved", "extend", "supervisor", "resolved"),
    ("resolved", "extend", "admin", "resolved"),
    ("resolved", "escalate", "system", "resolved"),
    ("resolved", "escalate", "supervisor", "resolved"),
    ("resolved", "escalate", "admin", "resolved"),
    ("verified", "close", "supervisor", "closed"),
    ("verified", "close", "admin", "closed"),
    ("verified", "merge", "grid_worker", "duplicate"),
    ("verified", "merge", "supervisor", "duplicate"),
    ("verified", "merge", "admin", "duplicate"),
    ("verified", "extend", "supervisor", "verified"),
    ("verified", "extend", "admin", "verified"),
    ("verified", "escalate", "system", "verified"),
    ("verified", "escalate", "supervisor", "verified"),
    ("verified", "escalate", "admin", "verified"),
    ("closed", "reopen", "reporter", "registered"),
    ("closed", "reopen", "supervisor", "registered"),
    ("closed", "reopen", "admin", "registered"),
    ("closed", "rate", "reporter", "closed"),
    ("rejected", "reopen", "supervisor", "reported"),
    ("rejected", "reopen", "admin", "reported"),
    ("duplicate", "reopen", "supervisor", "reported"),
    ("duplicate", "reopen", "admin", "reported"),
    ("suspended", "resume", "supervisor", PREVIOUS),
    ("suspended", "resume", "admin", PREVIOUS),
    ("suspended", "merge", "grid_worker", "duplicate"),
    ("suspended", "merge", "supervisor", "duplicate"),
    ("suspended", "merge", "admin", "duplicate"),
    # 吹哨报到: summoned departments sign in and report; the lead closes the whistle.
    ("dispatched", "sign_in", "department", "dispatched"),
    ("in_progress", "sign_in", "department", "in_progress"),
    ("in_progress", "report_part", "department", "in_progress"),
    ("in_progress", "close_whistle", "department", "in_progress"),
    # Priority: after intake and dispatch, only the command centre changes it.
    ("unrouted", "prioritize", "supervisor", "unrouted"),
    ("unrouted", "prioritize", "admin", "unrouted"),
    ("reported", "prioritize", "supervisor", "reported"),
    ("reported", "prioritize", "admin", "reported"),
    ("registered", "prioritize", "supervisor", "registered"),
    ("registered", "prioritize", "admin", "registered"),
    ("dispatched", "prioritize", "supervisor", "dispatched"),
    ("dispatched", "prioritize", "admin", "dispatched"),
    ("in_progress", "prioritize", "supervisor", "in_progress"),
    ("in_progress", "prioritize", "admin", "in_progress"),
    ("resolved", "prioritize", "supervisor", "resolved"),
    ("resolved", "prioritize", "admin", "resolved"),
    ("verified", "prioritize", "supervisor", "verified"),
    ("verified", "prioritize", "admin", "verified"),
]
EXPECTED = {(status, action, role): target for status, action, role, target in ALLOWED}
SUSPENDED_FROM = ["reported", "registered", "dispatched", "in_progress"]


def test_expectation_has_no_duplicates() -> None:
    assert len(EXPECTED) == len(ALLOWED)


def test_every_combination_against_the_expectation() -> None:
    mismatches = []
    for status, action, role in itertools.product(Status, Action, Role):
        key = (status.value, action.value, role.value)
        target = EXPECTED.get(key)
        if target is None:
            try:
                transition = apply(status, action, role)
            except TransitionNotAllowed:
                continue
            mismatches.append(f"{key} allowed (-> {transition.to_status}), expected refused")
        elif target == PREVIOUS:
            for previous in SUSPENDED_FROM:
                got = apply(status, action, role, resume_to=Status(previous)).to_status
                if got != previous:
                    mismatches.append(f"{key} resumed to {got}, expected {previous}")
        else:
            try:
                got = apply(status, action, role).to_status
            except TransitionNotAllowed as error:
                mismatches.append(f"{key} refused ({error}), expected -> {target}")
                continue
            if got != target:
                mismatches.append(f"{key} -> {got}, expected -> {target}")
    assert not mismatches, "\n".join(mismatches)


def test_allowed_actions_agrees_with_the_expectation() -> None:
    for status, role in itertools.product(Status, Role):
        expected = {a for (s, a, r) in EXPECTED if s == status.value and r == role.value}
        assert {a.value for a in allowed_actions(status, role)} == expected, (status, role)


def test_admin_may_do_everything_a_supervisor_may() -> None:
    for rule in TRANSITIONS.values():
        if Role.SUPERVISOR in rule.roles:
            assert Role.ADMIN in rule.roles


def test_refusal_names_status_action_role_and_what_is_allowed() -> None:
    with pytest.raises(TransitionNotAllowed) as caught:
        apply(Status.VERIFIED, Action.CLOSE, Role.GRID_WORKER)
    message = str(caught.value)
    for word in ("close", "verified", "grid_worker", "merge", "supervisor", "admin"):
        assert word in message
    assert isinstance(caught.value, ValueError)
    assert (caught.value.status, caught.value.action, caught.value.role) == (
        Status.VERIFIED,
        Action.CLOSE,
        Role.GRID_WORKER,
    )


def test_refusal_of_an_action_that_does_not_apply_says_where_it_does() -> None:
    with pytest.raises(TransitionNotAllowed, match="only to issues that are: verified"):
        apply(Status.REPORTED, Action.CLOSE, Role.SUPERVISOR)
    with pytest.raises(TransitionNotAllowed, match="reporter may do nothing"):
        apply(Status.DISPATCHED, Action.ACCEPT, Role.REPORTER)


def walk(status: Status, steps: list[tuple[Action, Role]]) -> list[Status]:
    seen = [status]
    for action, role in steps:
        status = apply(status, action, role).to_status
        seen.append(status)
    return seen


def test_happy_path_from_report_to_closing() -> None:
    steps = [
        (Action.REGISTER, Role.GRID_WORKER),
        (Action.DISPATCH, Role.GRID_WORKER),
        (Action.ACCEPT, Role.DEPARTMENT),
        (Action.RESOLVE, Role.DEPARTMENT),
        (Action.VERIFY, Role.GRID_WORKER),
        (Action.CLOSE, Role.SUPERVISOR),
    ]
    assert [s.value for s in walk(Status.REPORTED, steps)] == [
        "reported", "registered", "dispatched", "in_progress", "resolved", "verified", "closed",
    ]  # fmt: skip


def test_unrouted_issue_routed_by_supervisor_then_handled_by_the_grid_itself() -> None:
    steps = [
        (Action.ROUTE, Role.SUPERVISOR),
        (Action.REGISTER, Role.GRID_WORKER),
        (Action.ACCEPT, Role.GRID_WORKER),
        (Action.RESOLVE, Role.GRID_WORKER),
        (Action.SEND_BACK, Role.SUPERVISOR),
        (Action.RESOLVE, Role.GRID_WORKER),
        (Action.VERIFY, Role.SUPERVISOR),
        (Action.CLOSE, Role.ADMIN),
    ]
    assert walk(Status.UNROUTED, steps)[-1] is Status.CLOSED


def test_whistle_from_handling_puts_the_case_back_to_dispatched_with_a_fresh_deadline() -> None:
    transition = apply(Status.IN_PROGRESS, Action.WHISTLE, Role.GRID_WORKER)
    assert transition.to_status is Status.DISPATCHED
    assert transition.restarts_deadline
    assert transition.stage is Stage.ACCEPTANCE
    with pytest.raises(TransitionNotAllowed):
        apply(Status.IN_PROGRESS, Action.WHISTLE, Role.DEPARTMENT)


def test_reopen_after_closing_and_rating() -> None:
    assert apply(Status.CLOSED, Action.RATE, Role.REPORTER).to_status is Status.CLOSED
    reopened = apply(Status.CLOSED, Action.REOPEN, Role.REPORTER)
    assert reopened.to_status is Status.REGISTERED
    assert reopened.restarts_deadline and reopened.stage is Stage.DISPATCH
    with pytest.raises(TransitionNotAllowed):
        apply(Status.CLOSED, Action.REOPEN, Role.GRID_WORKER)
    with pytest.raises(TransitionNotAllowed):
        apply(Status.REJECTED, Action.REOPEN, Role.REPORTER)


def test_merge_marks_a_duplicate_that_only_a_supervisor_can_undo() -> None:
    merged = apply(Status.DISPATCHED, Action.MERGE, Role.GRID_WORKER)
    assert merged.to_status is Status.DUPLICATE
    assert merged.deadline is DeadlineEffect.STOP
    assert not is_open(Status.DUPLICATE)
    assert allowed_actions(Status.DUPLICATE, Role.GRID_WORKER) == []
    assert apply(Status.DUPLICATE, Action.REOPEN, Role.SUPERVISOR).to_status is Status.REPORTED
    for finished in (Status.CLOSED, Status.REJECTED, Status.DUPLICATE):
        with pytest.raises(TransitionNotAllowed):
            apply(finished, Action.MERGE, Role.SUPERVISOR)


def test_suspend_pauses_and_resume_returns_to_the_previous_status() -> None:
    suspended = apply(Status.IN_PROGRESS, Action.SUSPEND, Role.SUPERVISOR)
    assert suspended.to_status is Status.SUSPENDED
    assert suspended.deadline is DeadlineEffect.PAUSE
    assert stage_of(Status.SUSPENDED) is None
    resumed = apply(Status.SUSPENDED, Action.RESUME, Role.ADMIN, resume_to=Status.IN_PROGRESS)
    assert resumed.to_status is Status.IN_PROGRESS
    assert resumed.deadline is DeadlineEffect.RESUME
    assert [s.value for s in suspendable_statuses()] == SUSPENDED_FROM


def test_resume_needs_a_status_it_could_have_been_suspended_from() -> None:
    with pytest.raises(ValueError, match="resume_to"):
        apply(Status.SUSPENDED, Action.RESUME, Role.SUPERVISOR)
    with pytest.raises(ValueError, match="cannot resume to 'closed'"):
        apply(Status.SUSPENDED, Action.RESUME, Role.SUPERVISOR, resume_to=Status.CLOSED)
    with pytest.raises(ValueError, match="only meaningful"):
        apply(Status.REPORTED, Action.REGISTER, Role.GRID_WORKER, resume_to=Status.REPORTED)


def test_extend_and_escalate_keep_the_status() -> None:
    extended = apply(Status.IN_PROGRESS, Action.EXTEND, Role.SUPERVISOR)
    assert extended.to_status is Status.IN_PROGRESS
    assert extended.deadline is DeadlineEffect.EXTEND and not extended.restarts_deadline
    with pytest.raises(TransitionNotAllowed):
        apply(Status.IN_PROGRESS, Action.EXTEND, Role.DEPARTMENT)
    escalated = apply(Status.DISPATCHED, Action.ESCALATE, Role.SYSTEM)
    assert escalated.to_status is Status.DISPATCHED
    assert escalated.deadline is DeadlineEffect.KEEP


def test_a_new_stage_always_starts_a_fresh_deadline() -> None:
    for (status, action), rule in TRANSITIONS.items():
        if rule.to_status is None:
            continue
        before, after = stage_of(status), stage_of(rule.to_status)
        if after is not None and after != before and before is not None:
            assert rule.deadline is DeadlineEffect.RESTART, (status, action)
        if after is None and rule.to_status is not Status.SUSPENDED and before is not None:
            assert rule.deadline is DeadlineEffect.STOP, (status, action)


def test_open_and_stages() -> None:
    closed = {Status.CLOSED, Status.REJECTED, Status.DUPLICATE}
    assert {s for s in Status if not is_open(s)} == closed
    assert stage_of(Status.REPORTED) is Stage.REGISTRATION
    assert stage_of(Status.UNROUTED) is Stage.REGISTRATION
    assert stage_of(Status.REGISTERED) is Stage.DISPATCH
    assert stage_of(Status.IN_PROGRESS) is Stage.HANDLING
    assert stage_of(Status.RESOLVED) is Stage.VERIFICATION
    assert all(stage_of(s) is None for s in closed)


def test_plain_strings_are_accepted_and_unknown_ones_refused() -> None:
    assert apply("reported", "register", "grid_worker").to_status is Status.REGISTERED
    with pytest.raises(ValueError):
        apply("reported", "teleport", "grid_worker")


def test_the_table_cannot_be_changed_at_run_time() -> None:
    with pytest.raises(TypeError):
        TRANSITIONS[(Status.CLOSED, Action.CLOSE)] = TRANSITIONS[(Status.VERIFIED, Action.CLOSE)]
