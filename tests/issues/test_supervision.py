"""Escalation's progress bar, and who sees the unrouted queue (city supervisors only)."""

from __future__ import annotations

from gridsvc.auth.tokens import ANONYMOUS
from gridsvc.issues import actions, cli, service
from tests.issues.test_deadlines_service import at, submission
from tests.issues.test_workflow_api import (
    ADMIN,
    DISTRICT_SUPERVISOR,
    SUPERVISOR,
    act,
    submit,
)


def test_escalation_reports_progress(db_session, city) -> None:
    start = at("2025-11-03", "09:00")
    ids = [service.submit(db_session, submission(), ANONYMOUS, now=start)["id"] for _ in range(3)]
    seen: list[int] = []

    def progress(issues):
        for issue in issues:
            seen.append(issue.id)
            yield issue

    escalated = actions.escalate_overdue(db_session, at("2025-11-10", "09:00"), progress)
    assert seen == ids and [issue.id for issue in escalated] == ids


def test_progress_bar_only_when_there_is_much_to_do() -> None:
    assert cli.progress_bar(list(range(3))).disable
    many = cli.progress_bar(list(range(cli.PROGRESS_FROM)))
    assert not many.disable and list(many) == list(range(cli.PROGRESS_FROM))


def test_unrouted_queue_is_the_city_supervisors(client, city) -> None:
    issue = submit(client, point=(107.0, 36.0))
    assert issue["status"] == "unrouted"
    url = f"/api/v1/issues/{issue['id']}"
    for token in (SUPERVISOR, ADMIN):
        assert client.get(url, headers=token).status_code == 200
        queue = client.get("/api/v1/issues?status=unrouted", headers=token).json()
        assert issue["id"] in [i["id"] for i in queue["issues"]]
    # A district supervisor's scope is the district's cases; an unrouted one has no district.
    assert client.get(url, headers=DISTRICT_SUPERVISOR).status_code == 404
    queue = client.get("/api/v1/issues?status=unrouted", headers=DISTRICT_SUPERVISOR).json()
    assert issue["id"] not in [i["id"] for i in queue["issues"]]
    act(client, issue["id"], DISTRICT_SUPERVISOR, "route", expect=404, grid_code="150699001001001")
    act(client, issue["id"], SUPERVISOR, "route", grid_code="150699001001001")
    assert client.get(url, headers=DISTRICT_SUPERVISOR).status_code == 200  # now it has one
