"""The issues map through the app: who may open it, in which scope, and how a browser signs in."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gridsvc.auth.tokens import ANONYMOUS
from gridsvc.common.headers import TOKEN_COOKIE
from gridsvc.issues import service as issues_service
from gridsvc.issues.schemas import IssueSubmission
from tests.factories import DISTRICT_CODE
from tests.issues.conftest import GRID_A, GRID_B, bearer
from tests.maps.helpers import embedded_collections

LONG_AGO = datetime(2020, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def issues(db_session, city) -> dict[str, str]:
    """Public ids by name: two issues in grid A (one long overdue), one in grid B."""
    grids = city.by_code()

    def report(grid: str, now: datetime | None = None) -> str:
        point = grids[grid].polygon.centroid
        submission = IssueSubmission(
            lon=point.x, lat=point.y, category="road_damage", description="路面坑洼"
        )
        return issues_service.submit(db_session, submission, ANONYMOUS, None, now)["public_id"]

    return {"a_new": report(GRID_A), "a_late": report(GRID_A, LONG_AGO), "b_new": report(GRID_B)}


def test_no_token_is_a_clear_401(client, issues) -> None:
    response = client.get("/maps/issues")
    assert response.status_code == 401
    assert "token" in response.json()["detail"] and "?token=" in response.json()["detail"]
    assert client.get("/maps/issues", params={"token": "nonsense"}).status_code == 401


def test_reporters_may_not_open_it(client, issues) -> None:
    response = client.get("/maps/issues", headers=bearer("reporter", "resident-7"))
    assert response.status_code == 403


def test_each_role_sees_its_scope(client, issues) -> None:
    def seen(headers: dict[str, str], **params: str) -> set[str]:
        response = client.get("/maps/issues", headers=headers, params=params)
        assert response.status_code == 200, response.text
        return {code for code in issues.values() if code in response.text}

    everyone = set(issues.values())
    assert seen(bearer("supervisor")) == everyone
    assert seen(bearer("admin")) == everyone
    assert seen(bearer("supervisor", district=DISTRICT_CODE)) == everyone
    assert seen(bearer("supervisor", district="150602")) == set()  # an empty map, not an error
    assert seen(bearer("grid_worker", grids=(GRID_A,))) == {issues["a_new"], issues["a_late"]}
    assert seen(bearer("grid_worker", grids=(GRID_B,))) == {issues["b_new"]}
    assert seen(bearer("department", department="sanitation")) == set()  # not dispatched
    supervisor = bearer("supervisor")
    assert seen(supervisor, since="2024-01-01") == {issues["a_new"], issues["b_new"]}
    assert seen(supervisor, district=DISTRICT_CODE) == everyone
    assert seen(supervisor, status="unrouted") == set()


def test_overdue_issues_stand_out(client, issues) -> None:
    html = client.get("/maps/issues", headers=bearer("supervisor")).text
    boundaries, overdue = embedded_collections(html)  # district outlines under the points
    assert boundaries["features"] and all(
        "name" in item["properties"] for item in boundaries["features"]
    )
    assert [item["properties"]["label"].split(" · ")[0] for item in overdue["features"]] == [
        issues["a_late"]
    ]
    assert "overdue (1)" in html and "http://" not in html and "https://" not in html


def test_bad_parameters(client, issues) -> None:
    headers = bearer("supervisor")
    for params, name in (
        ({"status": "lost"}, "status"),
        ({"since": "last tuesday"}, "since"),
        ({"district": "15"}, "district"),
    ):
        response = client.get("/maps/issues", params=params, headers=headers)
        assert response.status_code == 422 and name in response.json()["detail"], params
    assert (
        client.get("/maps/issues", params={"district": "150600"}, headers=headers).status_code
        == 404
    )


def test_token_in_the_url_becomes_a_cookie(client, issues) -> None:
    token = bearer("grid_worker", grids=(GRID_B,))["Authorization"].removeprefix("Bearer ")
    response = client.get(
        "/maps/issues", params={"token": token, "since": "2024-01-01"}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/maps/issues?since=2024-01-01"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{TOKEN_COOKIE}={token}")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/maps" in cookie
    page = client.get(response.headers["location"])  # the client sends the cookie back
    assert page.status_code == 200 and issues["b_new"] in page.text
    assert issues["a_new"] not in page.text
    client.cookies.clear()
    assert client.get("/maps/issues").status_code == 401


def test_index_lists_the_issues_map(client, city) -> None:
    assert 'href="/maps/issues"' in client.get("/maps").text
