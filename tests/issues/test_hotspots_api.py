"""Hotspots: counts per grid and category, and repeated locations, against brute force."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from pyproj import Transformer
from shapely.geometry import Point, shape
from sqlalchemy import select

from gridsvc.auth.tokens import ANONYMOUS
from gridsvc.issues import service
from gridsvc.issues.catalog.calendar import SHANGHAI
from gridsvc.issues.models import Issue
from gridsvc.issues.schemas import IssueSubmission
from tests.factories import ORIGIN, STEP_LAT, STEP_LON
from tests.issues.conftest import bearer

ADMIN = bearer("admin")
URL = "/api/v1/stats/hotspots"
CATEGORIES = ("road_damage", "environmental_sanitation", "greenery")
NOVEMBER, OCTOBER = (date(2025, 11, 1), date(2025, 11, 30)), (date(2025, 10, 2), date(2025, 10, 31))
METRIC = Transformer.from_crs(4326, 32649, always_xy=True)


def submit(session, lon: float, lat: float, category: str, moment: datetime) -> None:
    body = IssueSubmission(lon=lon, lat=lat, category=category, description="又坏了")
    service.submit(session, body, ANONYMOUS, now=moment)


@pytest.fixture
def cases(db_session, city):
    """Scattered cases over October and November, and a few places reported again and again."""
    generator = random.Random(2025)
    for _ in range(70):
        lon = ORIGIN[0] + generator.uniform(0.05, 5.95) * STEP_LON
        lat = ORIGIN[1] + generator.uniform(0.05, 4.95) * STEP_LAT
        day = datetime(2025, 10, 2, 9, tzinfo=SHANGHAI) + timedelta(
            hours=generator.randint(0, 1400)
        )
        submit(db_session, lon, lat, generator.choice(CATEGORIES), day)
    for place in range(4):
        lon = ORIGIN[0] + (0.5 + place) * STEP_LON
        lat = ORIGIN[1] + (0.5 + place) * STEP_LAT
        for repeat in range(2 + place):
            jitter = (generator.uniform(-1, 1) * 0.0002, generator.uniform(-1, 1) * 0.0002)
            day = datetime(2025, 11 if repeat else 10, 5 + repeat, 10, tzinfo=SHANGHAI)
            submit(db_session, lon + jitter[0], lat + jitter[1], CATEGORIES[place % 3], day)
    db_session.flush()
    return db_session


def reported(session, span: tuple[date, date]) -> list[Issue]:
    issues = session.scalars(select(Issue)).all()
    return [i for i in issues if span[0] <= i.created_at.astimezone(SHANGHAI).date() <= span[1]]


@pytest.mark.parametrize("by", ["grid", "category"])
def test_grids_and_categories_with_most_cases(client, cases, by) -> None:
    response = client.get(f"{URL}?from=2025-11-01&to=2025-11-30&by={by}&limit=5", headers=ADMIN)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["previous_from"], body["previous_to"]) == ("2025-10-02", "2025-10-31")
    key = "grid_code" if by == "grid" else "category_code"
    now = Counter(getattr(i, key) for i in reported(cases, NOVEMBER))
    before = Counter(getattr(i, key) for i in reported(cases, OCTOBER))
    ranked = sorted(now.items(), key=lambda item: (-item[1], item[0]))[:5]
    assert [(r["code"], r["cases"]) for r in body["rows"]] == ranked
    for row in body["rows"]:
        assert row["previous_cases"] == before[row["code"]] and row["name"]
        assert row["change"] == row["cases"] - row["previous_cases"]


def clusters(issues: list[Issue], radius: float) -> list[list[Issue]]:
    """Connected components of the within-radius graph, per category (DBSCAN, 2 points)."""
    found = []
    for category in CATEGORIES:
        points = [i for i in issues if i.category_code == category]
        xy = [METRIC.transform(i.reported_lon, i.reported_lat) for i in points]
        seen: set[int] = set()
        for first in range(len(points)):
            if first in seen:
                continue
            component, todo = {first}, [first]
            while todo:
                a = todo.pop()
                for b in range(len(points)):
                    near = ((xy[a][0] - xy[b][0]) ** 2 + (xy[a][1] - xy[b][1]) ** 2) ** 0.5
                    if b not in component and near <= radius:
                        component.add(b)
                        todo.append(b)
            seen |= component
            if len(component) >= 2:
                found.append([points[index] for index in sorted(component)])
    return found


def test_repeated_locations_match_brute_force(client, cases) -> None:
    radius = 60.0
    query = f"from=2025-11-01&to=2025-11-30&by=location&radius_m={radius}&limit=50"
    rows = client.get(f"{URL}?{query}", headers=ADMIN).json()["rows"]
    expected = clusters(reported(cases, NOVEMBER), radius)
    assert sorted((r["category"], r["cases"]) for r in rows) == sorted(
        (group[0].category_code, len(group)) for group in expected
    )
    assert len(rows) >= 3 and rows[0]["cases"] >= rows[-1]["cases"]
    earlier = reported(cases, OCTOBER)
    for row in rows:
        group = next(
            g for g in expected
            if g[0].category_code == row["category"] and len(g) == row["cases"]
            and abs(sum(i.reported_lon for i in g) / len(g) - row["lon"]) < 0.0011
        )  # fmt: skip
        members = [METRIC.transform(i.reported_lon, i.reported_lat) for i in group]
        near = [
            i for i in earlier
            if i.category_code == row["category"]
            and any(((x - a) ** 2 + (y - b) ** 2) ** 0.5 <= radius for a, b in members
                    for x, y in [METRIC.transform(i.reported_lon, i.reported_lat)])
        ]  # fmt: skip
        assert row["previous_cases"] == len(near)
        # Positions rounded to 0.001°, never a reporter's own.
        assert round(row["lon"] * 1000) == pytest.approx(row["lon"] * 1000, abs=1e-6)
        assert all(row["lon"] != i.reported_lon for i in group)


def test_a_department_sees_its_own_hotspots(client, cases) -> None:
    transport = bearer("department", "d", department="transport")
    query = "from=2025-11-01&to=2025-11-30&by=category"
    rows = client.get(f"{URL}?{query}", headers=transport).json()["rows"]
    assert [row["code"] for row in rows] == ["road_damage"]
    bad = client.get(f"{URL}?radius_m=0", headers=ADMIN)
    assert bad.status_code == 422 and "radius_m" in bad.json()["detail"]


def test_hotspot_grids_as_a_map_layer(client, cases) -> None:
    query = "from=2025-11-01&to=2025-11-30&by=grid&limit=200"
    layer = client.get(f"{URL}?{query}&format=geojson", headers=ADMIN).json()
    rows = client.get(f"{URL}?{query}", headers=ADMIN).json()["rows"]
    assert layer["type"] == "FeatureCollection"
    assert [f["properties"] for f in layer["features"]] == rows
    for feature in layer["features"]:
        polygon = shape(feature["geometry"]).buffer(1e-6)
        inside = [i for i in reported(cases, NOVEMBER) if i.grid_code == feature["id"]]
        assert len(inside) == feature["properties"]["cases"]
        assert all(polygon.contains(Point(i.reported_lon, i.reported_lat)) for i in inside)
    wrong = client.get(f"{URL}?by=category&format=geojson", headers=ADMIN)
    assert wrong.status_code == 422 and "format" in wrong.json()["detail"]


def test_names_come_from_the_newest_generation(db_session, city) -> None:
    from gridsvc.grids import service as grids_service
    from gridsvc.grids.models import Grid
    from tests.factories import make_retired_grids

    retired = make_retired_grids(db_session, city)
    db_session.flush()
    current, removed = list(retired)
    names = grids_service.names_of(db_session, "grid", {current, removed})
    rows = db_session.execute(select(Grid.code, Grid.name, Grid.valid_to)).all()
    newest = {}
    for row in sorted(rows, key=lambda r: (r.valid_to is None, r.valid_to or datetime.min)):
        newest[row.code] = row.name  # current rows (no valid_to) sort last and win
    assert names == {current: newest[current], removed: newest[removed]}
    assert grids_service.names_of(db_session, "district", {"150698"}) == {"150698": "旧旗"}
    assert set(grids_service.grid_shapes(db_session, {current, removed})) == {current}


def test_h3_hexagons_hold_the_cases_inside_them(client, cases) -> None:
    """Each cell's count is the number of stored points inside its hexagon (shapely)."""
    from geoalchemy2.shape import to_shape

    query = "from=2025-11-01&to=2025-11-30&by=h3&resolution=9&limit=200"
    layer = client.get(f"{URL}?{query}&format=geojson", headers=ADMIN)
    assert layer.status_code == 200, layer.text
    features = layer.json()["features"]
    hexagons = [shape(feature["geometry"]) for feature in features]
    assert all(h.is_valid and h.exterior.is_ccw and len(h.exterior.coords) == 7 for h in hexagons)
    now = [to_shape(i.geom) for i in reported(cases, NOVEMBER)]
    before = [to_shape(i.geom) for i in reported(cases, OCTOBER)]
    assert sum(f["properties"]["cases"] for f in features) == len(now)  # every case in a cell
    for feature, hexagon in zip(features, hexagons, strict=True):
        inside = sum(hexagon.covers(point) for point in now)
        earlier = sum(hexagon.covers(point) for point in before)
        assert feature["properties"]["cases"] == inside
        assert feature["properties"]["previous_cases"] == earlier
    counts = [f["properties"]["cases"] for f in features]
    assert counts == sorted(counts, reverse=True) and counts[0] >= 2  # repeated places
    rows = client.get(f"{URL}?{query}&limit=3", headers=ADMIN).json()["rows"]
    assert [r["code"] for r in rows] == [f["id"] for f in features[:3]]
    assert client.get(f"{URL}?by=h3&resolution=12", headers=ADMIN).status_code == 422
    wrong = client.get(f"{URL}?by=category&format=geojson", headers=ADMIN)
    assert wrong.status_code == 422 and "format" in wrong.json()["detail"]
