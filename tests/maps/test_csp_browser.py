"""The Content-Security-Policy in headless Chromium: the maps and /docs run under it."""

from __future__ import annotations

from tests.issues.conftest import bearer
from tests.maps import test_maps_issues_browser as issues_browser
from tests.maps.helpers import MAP_STATE

demo_issues = issues_browser.demo_issues  # the fixture, shared
POINTS = issues_browser.POINTS

# Recorded before any page script runs, so a blocked inline script is caught too.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
    window.__violations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


def open_under_policy(watched, url: str) -> str:
    """Open ``url``; return the policy it was served with."""
    page = watched.page
    page.add_init_script(RECORD_VIOLATIONS)
    response = page.goto(url, wait_until="load")
    assert response is not None and response.ok, url
    policy = response.headers.get("content-security-policy", "")
    assert "script-src" in policy and "frame-ancestors" in policy, policy
    return policy


def assert_no_violation(watched) -> None:
    assert watched.page.evaluate("window.__violations") == []
    assert not [text for text in watched.console_errors if "Content Security Policy" in text]
    watched.assert_clean()


def test_docs_render_under_the_policy(server_url, watched_page) -> None:
    open_under_policy(watched_page, f"{server_url}/docs")
    title = watched_page.page.locator(".swagger-ui .info .title")
    title.wait_for(timeout=30_000)
    assert "gridsvc" in title.inner_text()
    assert watched_page.page.locator(".opblock").count() > 5
    assert_no_violation(watched_page)


def test_grids_map_renders_under_the_policy(server_url, watched_page, demo_city) -> None:
    code = demo_city.districts["code"].iloc[0]
    open_under_policy(watched_page, f"{server_url}/maps/grids?district={code}")
    watched_page.page.wait_for_function(
        f"({MAP_STATE})() && ({MAP_STATE})().polygons > 0", timeout=60_000
    )
    assert watched_page.page.locator(".map-legend").count() == 1
    assert_no_violation(watched_page)


def test_issues_map_renders_under_the_policy(server_url, watched_page, demo_issues) -> None:
    token = bearer("supervisor", "csp-test")["Authorization"].removeprefix("Bearer ")
    page = watched_page.page
    open_under_policy(watched_page, f"{server_url}/maps/issues?token={token}")
    page.wait_for_function(f"({POINTS})() && ({POINTS})().clustered > 0", timeout=60_000)
    assert_no_violation(watched_page)
