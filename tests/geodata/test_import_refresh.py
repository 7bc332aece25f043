"""Imports refresh stored coverage: the stale districts only, after the import's commit.

A two-district city: the fixture district 150602 and a copy of it 0.1° (8.5 km) east as
150603, farther apart than a district's reach, each with a lattice walking network.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer
from shapely.geometry import Point
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridsvc.config import get_settings
from gridsvc.coverage import analysis, refresh, service
from gridsvc.coverage.circles import load_circles
from tests.city_cli import Cli
from tests.geodata.cityfiles import DISTRICT, ORIGIN, STEP, FixtureCity, make_fixture_city

EAST = "150603"
SHIFT = 0.1
TO_METRIC = Transformer.from_crs(4326, 32649, always_xy=True)


def shifted(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The same rows 0.1° east, with codes of district 150603."""
    copy = frame.copy()
    for column in ("code", "district_code", "street_code", "community_code"):
        if column in copy:
            copy[column] = copy[column].astype(str).str.replace(DISTRICT, EAST, n=1)
    if "name" in copy and "code" in copy:
        copy["name"] = copy["name"] + "东"
    return copy.set_geometry(copy.geometry.translate(xoff=SHIFT))


def add_network(engine: Engine) -> None:
    """A lattice of walkable edges (half a grid apart) over both districts, committed."""
    half = STEP / 2
    nodes, edges = [], []
    for block_number, xoff in enumerate((0.0, SHIFT)):
        ids = {}
        for i in range(-2, 11):
            for j in range(-2, 11):
                ids[i, j] = 1_000_000 * (block_number + 1) + (i + 2) * 100 + j + 2
                nodes.append((ids[i, j], ORIGIN[0] + xoff + i * half, ORIGIN[1] + j * half))
        where = {node: (lon, lat) for node, lon, lat in nodes}
        for (i, j), node in ids.items():
            for other in (ids.get((i + 1, j)), ids.get((i, j + 1))):
                if other is not None:
                    (x0, y0), (x1, y1) = where[node], where[other]
                    a, b = TO_METRIC.transform([x0, x1], [y0, y1])
                    length = float(np.hypot(a[1] - a[0], b[1] - b[0]))
                    edges.append((node, other, length, x0, y0, x1, y1))
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO network_nodes (id, geom) VALUES (:id, ST_Point(:x, :y, 4326))"),
            [{"id": node, "x": lon, "y": lat} for node, lon, lat in nodes],
        )
        connection.execute(
            text(
                "INSERT INTO network_edges (source, target, length_m, geom) VALUES (:s, :t, :l, "
                "ST_MakeLine(ST_Point(:x0, :y0, 4326), ST_Point(:x1, :y1, 4326)))"
            ),
            [
                {"s": s, "t": t, "l": length, "x0": x0, "y0": y0, "x1": x1, "y1": y1}
                for s, t, length, x0, y0, x1, y1 in edges
            ],
        )


@pytest.fixture
def two_districts(tmp_path: Path) -> FixtureCity:
    city = make_fixture_city(tmp_path)
    for name, frame in city.frames.items():
        both = pd.concat([frame, shifted(frame)], ignore_index=True)
        city.frames[name] = gpd.GeoDataFrame(both, geometry="geometry", crs=frame.crs)
        city.files[name] = city.write(name, city.frames[name])
    return city


@pytest.fixture
def loaded(cli: Cli, two_districts: FixtureCity) -> Iterator[FixtureCity]:
    """Boundaries, residents and the network loaded without refreshing; no facilities yet."""
    for layer in ("districts", "streets", "communities", "grids", "population"):
        cli.ok("import", layer, two_districts.files[layer], "--no-refresh")
    add_network(cli.engine)
    yield two_districts


def facility_file(city: FixtureCity, name: str, lon: float, lat: float) -> Path:
    frame = gpd.GeoDataFrame(
        {"type_code": ["library"], "name": [name], "capacity": [50]},
        geometry=[Point(lon, lat)],
        crs="EPSG:4326",
    )
    return city.write(name, frame)


def east_library(city: FixtureCity, name: str) -> Path:
    return facility_file(city, name, ORIGIN[0] + SHIFT + 3.5 * STEP, ORIGIN[1] + 1.5 * STEP)


def assert_stored_equals_live(session: Session, district: str | None) -> None:
    """Every circle in both modes: served stored, and equal to a computation from scratch."""
    inputs = refresh.load_inputs(session, district)
    buffer_m = get_settings().service_area_buffer_m
    for circle in load_circles().values():
        for mode in analysis.MODES:
            stored = service.grid_coverage(session, circle, mode, district)
            assert stored.source == "stored", (circle.code, mode)
            rows = inputs.facilities_of(circle.facility_types)
            live = analysis.compute_coverage(inputs, rows, mode, circle.threshold_m, buffer_m)
            table = stored.table.set_index("code").sort_index()
            live = live.set_index("code").sort_index()
            assert list(table.index) == list(live.index)
            assert (table["residents"] == live["residents"]).all()
            assert (table["covered_residents"] == live["covered_residents"]).all()
            assert np.allclose(table["covered_area_m2"], live["covered_area_m2"], atol=1.0)


def test_importing_facilities_refreshes_stored_coverage(cli: Cli, loaded: FixtureCity) -> None:
    result = cli.ok("import", "facilities", loaded.files["facilities"])
    assert "Stored coverage refreshed for 2 district(s) (150602, 150603)" in result.output
    with Session(cli.engine) as session:
        assert refresh.is_fresh(session)
        assert refresh.is_fresh(session, DISTRICT) and refresh.is_fresh(session, EAST)
        assert_stored_equals_live(session, None)
        covered = service.grid_coverage(session, load_circles()["culture_5min"], "network", None)
        assert covered.table["covered_residents"].sum() > 0  # the libraries reach someone
    assert cli.count("service_areas") > 0


def test_no_refresh_leaves_coverage_stale_and_readers_compute_live(
    cli: Cli, loaded: FixtureCity
) -> None:
    cli.ok("import", "facilities", loaded.files["facilities"])
    result = cli.ok("import", "facilities", east_library(loaded, "east"), "--no-refresh")
    assert "Stored coverage" not in result.output
    circle = load_circles()["culture_5min"]
    with Session(cli.engine) as session:
        assert not refresh.is_fresh(session) and not refresh.is_fresh(session, EAST)
        assert refresh.is_fresh(session, DISTRICT)  # the library is out of its reach
        assert service.grid_coverage(session, circle, "network", None).source == "live"
        assert service.grid_coverage(session, circle, "network", EAST).source == "live"
        assert service.grid_coverage(session, circle, "network", DISTRICT).source == "stored"


def test_a_district_refresh_keeps_other_districts_stale(cli: Cli, loaded: FixtureCity) -> None:
    cli.ok("import", "facilities", loaded.files["facilities"], "--no-refresh")
    cli.ok("coverage", "refresh", "--district", DISTRICT)
    with Session(cli.engine) as session:
        assert refresh.is_fresh(session, DISTRICT)
        assert not refresh.is_fresh(session, EAST)
        assert not refresh.is_fresh(session)  # a partial refresh is not the city's
    # A facility changes in the east: the west stays stored, the east is served live.
    cli.ok("import", "facilities", east_library(loaded, "east"), "--no-refresh")
    circle = load_circles()["living_15min"]
    with Session(cli.engine) as session:
        assert service.grid_coverage(session, circle, "network", DISTRICT).source == "stored"
        assert service.grid_coverage(session, circle, "network", EAST).source == "live"
        assert_stored_equals_live(session, DISTRICT)
    # The next import refreshes the east alone; then the whole city is current.
    result = cli.ok("import", "facilities", east_library(loaded, "east2"))
    assert "Stored coverage refreshed for 1 district(s) (150603)" in result.output
    with Session(cli.engine) as session:
        assert refresh.is_fresh(session) and refresh.is_fresh(session, EAST)
        assert_stored_equals_live(session, None)
    again = cli.ok("import", "population", loaded.files["population"], "--replace")
    assert "Stored coverage is current." in again.output


def test_a_failed_refresh_keeps_the_import(
    cli: Cli, loaded: FixtureCity, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("out of memory")

    monkeypatch.setattr(service, "refresh_after_change", broken)
    result = cli("import", "facilities", loaded.files["facilities"])
    assert result.exit_code == 1
    assert "The import is committed, but refreshing stored coverage failed" in result.output
    assert "out of memory" in result.output
    assert cli.count("facilities") == len(loaded.frames["facilities"])
    with Session(cli.engine) as session:
        circle = load_circles()["culture_5min"]
        assert service.grid_coverage(session, circle, "network", None).source == "live"


def header_only(city: FixtureCity) -> Path:
    path = city.folder / "no-facilities.csv"
    path.write_text("type_code,name,lon,lat\n", encoding="utf-8")
    return path


def test_an_empty_file_replaces_a_named_source_with_nothing(cli: Cli, loaded: FixtureCity) -> None:
    cli.ok("import", "facilities", loaded.files["facilities"], "--set", "source=survey")
    cli.ok("import", "facilities", east_library(loaded, "east"), "--set", "source=volunteers")
    unnamed = cli("import", "facilities", header_only(loaded), "--replace")
    assert unnamed.exit_code == 1
    assert "holds no features" in unnamed.output and "--set source=SOURCE" in unnamed.output
    assert cli.count("facilities") == 5
    result = cli.ok(
        "import", "facilities", header_only(loaded), "--replace", "--set", "source=survey"
    )
    assert "Loaded 0 facilities, replacing 4 earlier ones." in result.output
    assert "Stored coverage refreshed for 2 district(s)" in result.output
    assert cli.rows("SELECT source, name FROM facilities") == [("volunteers", "east")]
    with Session(cli.engine) as session:
        assert refresh.is_fresh(session)
        assert_stored_equals_live(session, None)


def test_withdrawing_a_source_deletes_it_and_refreshes_coverage(
    cli: Cli, loaded: FixtureCity
) -> None:
    cli.ok("import", "facilities", loaded.files["facilities"])
    cli.ok("import", "facilities", east_library(loaded, "east"), "--set", "source=volunteers")
    listed = cli.ok("facilities", "sources")
    assert [line.split() for line in listed.output.splitlines()] == [
        ["import", "4"],
        ["volunteers", "1"],
    ]
    result = cli.ok("facilities", "withdraw", "volunteers")
    assert "Withdrew 1 facilities of source 'volunteers'." in result.output
    assert "Stored coverage refreshed for 1 district(s) (150603)" in result.output
    assert cli.count("facilities") == 4
    assert cli.scalar("SELECT count(*) FROM facilities WHERE source = 'volunteers'") == 0
    # The withdrawn library's service areas went with it, though only the east refreshed.
    served = (
        "SELECT count(*) FROM service_areas WHERE facility_id NOT IN (SELECT id FROM facilities)"
    )
    assert cli.scalar(served) == 0
    with Session(cli.engine) as session:
        assert refresh.is_fresh(session)
        assert_stored_equals_live(session, None)
    unknown = cli("facilities", "withdraw", "volunteers")
    assert unknown.exit_code == 1
    assert "No facility has source 'volunteers'; the sources: import (4)." in unknown.output
    assert cli.count("facilities") == 4
