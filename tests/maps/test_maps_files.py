"""Maps written to files: `gridsvc maps render`, and pages opened from disk with no server."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from gridsvc.cli import app
from gridsvc.config import get_settings
from gridsvc.maps import render
from gridsvc.maps import service as map_service
from gridsvc.maps.basemap import RenderOptions, to_html
from gridsvc.maps.cli import copy_assets
from tests.maps.helpers import MAP_STATE, make_coverage, make_issues

runner = CliRunner()
LINK = re.compile(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"')
STATUSES = {"submitted": "已受理", "dispatched": "已派遣", "resolved": "已办结"}


def test_render_writes_maps_an_index_and_their_assets(
    test_database_settings,
    loaded_demo_city,
    tmp_path: Path,
    watched_page,
) -> None:
    code = loaded_demo_city.districts["code"].iloc[-1]
    arguments = ["--district", code, "--circle", "living_10min", "--mode", "euclidean"]
    result = runner.invoke(app, ["maps", "render", *arguments, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    coverage = f"coverage-living_10min-euclidean-{code}.html"
    assert (tmp_path / coverage).is_file()
    page = tmp_path / f"grids-{code}.html"
    html = page.read_text()
    for link in LINK.findall(html):
        assert link.startswith("static/") and (tmp_path / link).is_file(), link
    assert (tmp_path / "static/leaflet/images/marker-icon.png").is_file()
    index = (tmp_path / "index.html").read_text()
    assert f'href="grids-{code}.html"' in index and f'href="{coverage}"' in index
    assert f'href="issues-{code}.html"' in index  # as a city supervisor sees them
    assert "事件 issues" in (tmp_path / f"issues-{code}.html").read_text()
    grids = loaded_demo_city.grids["code"].str.startswith(code).sum()
    watched_page.page.goto(page.as_uri())
    watched_page.page.wait_for_function(f"({MAP_STATE})() && ({MAP_STATE})().polygons > 0")
    assert watched_page.page.evaluate(MAP_STATE)["polygons"] == grids
    watched_page.screenshot(f"file-grids-{code}")
    watched_page.assert_clean()


def test_render_if_stale_skips_maps_drawn_from_the_same_data(
    test_database_settings,
    loaded_demo_city,
    engine,
    monkeypatch,
    tmp_path: Path,
) -> None:
    code = loaded_demo_city.districts["code"].iloc[-1]
    arguments = ["maps", "render", "-d", code, "--circle", "living_10min", "--no-issues"]
    arguments += ["--out", str(tmp_path), "--if-stale"]
    first = runner.invoke(app, arguments)
    assert first.exit_code == 0, first.output
    written = {path: path.stat().st_mtime_ns for path in tmp_path.glob("*.html")}
    assert len(written) >= 3  # grids, coverage, index

    class Later(datetime):  # a minute on: the pages' "data as of" note would differ
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> datetime:
            return datetime.now(tz) + timedelta(minutes=5)

    monkeypatch.setattr(map_service, "datetime", Later)
    again = runner.invoke(app, arguments)
    assert again.exit_code == 0 and "current: nothing to render" in again.output
    assert {path: path.stat().st_mtime_ns for path in tmp_path.glob("*.html")} == written
    # Another option is another set of maps.
    other = runner.invoke(app, [*arguments[:-1], "--mode", "euclidean", "--if-stale"])
    assert other.exit_code == 0 and "nothing to render" not in other.output
    # A write to a table the maps read (the same values, new row versions) draws them anew.
    with engine.begin() as connection:
        connection.execute(text("UPDATE districts SET name = name WHERE code = :c"), {"c": code})
    changed = runner.invoke(app, arguments)
    assert changed.exit_code == 0 and "nothing to render" not in changed.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--district", "12"], "6 digits"),
        (["--district", "150600"], "150600"),
        (["--measure", "beauty"], "unknown measure"),
    ],
)
def test_render_refuses_bad_input(
    test_database_settings,
    tmp_path: Path,
    arguments: list[str],
    message: str,
) -> None:
    result = runner.invoke(app, ["maps", "render", "--out", str(tmp_path), *arguments])
    assert result.exit_code == 1
    assert message in result.output


def test_render_refuses_a_bad_tiles_setting(
    test_database_settings,
    tmp_path: Path,
    monkeypatch,
) -> None:
    monkeypatch.setenv("GRIDSVC_MAP_TILES", "google")
    get_settings.cache_clear()
    result = runner.invoke(app, ["maps", "render", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "XYZ URL" in result.output


def write_page(folder: Path, name: str, fmap, options: RenderOptions) -> Path:
    html = to_html(fmap, options)
    copy_assets(get_settings().assets_dir, folder, html)
    path = folder / name
    path.write_text(html, encoding="utf-8")
    return path


POINTS = """() => {
    const map = Object.values(window).find((value) => value instanceof L.Map);
    let flagged = 0, clustered = 0;
    map.eachLayer((layer) => {
        if (layer.feature && layer.feature.geometry.type === "Point") { flagged += 1; }
        if (layer instanceof L.MarkerClusterGroup) { clustered += layer.getLayers().length; }
    });
    return {flagged, clustered};
}"""


def switch_on(watched, name: str) -> None:
    label = watched.page.locator(".leaflet-control-layers-overlays label", has_text=name)
    label.locator("input").check()


def test_coverage_map_in_the_browser(tmp_path: Path, watched_page) -> None:
    options = RenderOptions(static_url="static")
    fmap = render.coverage_map(*make_coverage(), "覆盖率 coverage", options)
    watched_page.page.goto(write_page(tmp_path, "coverage.html", fmap, options).as_uri())
    watched_page.page.wait_for_function(f"({MAP_STATE})() && ({MAP_STATE})().polygons > 0")
    assert watched_page.page.evaluate(MAP_STATE)["polygons"] == 5  # gaps: off at start
    switch_on(watched_page, "gaps")
    assert watched_page.page.evaluate(MAP_STATE)["polygons"] == 5 + 2  # grids and gaps
    switch_on(watched_page, "service areas")
    assert watched_page.page.evaluate(MAP_STATE)["polygons"] == 5 + 2 + 1
    watched_page.screenshot("file-coverage-handmade")
    watched_page.assert_clean()


def test_issues_map_in_the_browser(tmp_path: Path, watched_page) -> None:
    options = RenderOptions(static_url="static")
    fmap = render.issues_map(make_issues(), STATUSES, "事件 issues", options)
    watched_page.page.goto(write_page(tmp_path, "issues.html", fmap, options).as_uri())
    watched_page.page.wait_for_function(f"window.L && ({POINTS})().clustered > 0")
    assert watched_page.page.evaluate(POINTS) == {"flagged": 2, "clustered": 4}
    assert watched_page.page.locator("canvas.leaflet-heatmap-layer").count() == 0
    switch_on(watched_page, "heat map")
    assert watched_page.page.locator("canvas.leaflet-heatmap-layer").count() == 1
    watched_page.screenshot("file-issues-handmade")
    watched_page.assert_clean()
