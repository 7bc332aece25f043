"""The issues map in headless Chromium against the running service: sign-in, markers, overdue."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gridsvc.auth.tokens import ANONYMOUS
from gridsvc.issues import service as issues_service
from gridsvc.issues.schemas import IssueSubmission
from tests.factories import remove_issues
from tests.issues.conftest import bearer

POINTS = """() => {
    if (!window.L) { return null; }
    const map = Object.values(window).find((value) => value instanceof L.Map);
    if (!map) { return null; }
    let overdue = 0, clustered = 0;
    map.eachLayer((layer) => {
        if (layer.feature && layer.feature.geometry.type === "Point"
            && layer.options.color === "#b30000") { overdue += 1; }
        if (layer instanceof L.MarkerClusterGroup) { clustered += layer.getLayers().length; }
    });
    return {overdue, clustered};
}"""


@pytest.fixture
def demo_issues(engine: Engine, loaded_demo_city) -> Iterator[list[str]]:
    """Four committed reports in the demo city's first district, the first long overdue."""
    marker = f"map-{uuid.uuid4().hex}"
    grids = loaded_demo_city.grids
    district = loaded_demo_city.districts["code"].iloc[0]
    inside = grids[grids["code"].str.startswith(district)].iloc[::40].head(4)
    codes = []
    try:
        with Session(engine) as session, session.begin():
            for index, geometry in enumerate(inside.geometry):
                point = geometry.representative_point()
                submission = IssueSubmission(
                    lon=point.x, lat=point.y, category="road_damage", description=f"坑 {marker}"
                )
                now = datetime(2020, 3, 2, 9, tzinfo=UTC) if index == 0 else None
                body = issues_service.submit(session, submission, ANONYMOUS, None, now)
                codes.append(body["public_id"])
        yield codes
    finally:
        remove_issues(engine, marker)


def test_issues_map_in_the_browser(server_url, watched_page, demo_issues) -> None:
    page = watched_page.page
    token = bearer("supervisor", "map-test")["Authorization"].removeprefix("Bearer ")
    page.goto(f"{server_url}/maps/issues?token={token}", wait_until="load")
    assert "token" not in page.url and page.url.endswith("/maps/issues")
    page.wait_for_function(f"({POINTS})() && ({POINTS})().clustered >= 4", timeout=60_000)
    state = page.evaluate(POINTS)
    assert state["overdue"] >= 1
    assert page.locator(".marker-cluster, .leaflet-marker-pane *, path").count() > 0
    legend = page.locator(".map-legend").inner_text()
    assert "status" in legend and "overdue" in legend
    watched_page.screenshot("map-issues-city")
    page.reload(wait_until="load")  # the cookie now signs the page in
    page.wait_for_function(f"({POINTS})() && ({POINTS})().clustered >= 4", timeout=60_000)
    watched_page.assert_clean()
