"""Rebalancing the lattice test city through the API, checked against the points with shapely."""

from __future__ import annotations

import json
import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from geoalchemy2.shape import to_shape
from shapely.geometry import Point
from sqlalchemy import select, text

from gridsvc.grids.codes import parse_grid_code
from gridsvc.grids.models import Community
from gridsvc.issues.models import Issue, IssueEvent
from tests.factories import DISTRICT_CODE
from tests.grids.conftest import (
    TOLERANCE_M2,
    resident_points,
    shapes_of,
    tessellation_faults,
)
from tests.issues.conftest import bearer

URL = "/api/v1/grids/rebalance"


def community_outlines(session) -> dict:
    rows = session.execute(
        select(Community.code, Community.geom).where(Community.valid_to.is_(None))
    ).all()
    return {code: to_shape(geom) for code, geom in rows if code.startswith(DISTRICT_CODE)}


def propose(client, **params) -> dict:
    response = client.get(URL, params={"district": DISTRICT_CODE, **params})
    assert response.status_code == 200, response.text
    return response.json()


def test_residents_band_holds_for_every_grid_counted_from_the_points(
    client, db_session, resident_city
) -> None:
    body = propose(client, households="800-1300", by="residents")
    points = resident_points(db_session)
    grids = shapes_of(body["grids"])
    low, high = 800, 1300
    totals: dict[str, int] = {}
    for feature, polygon in zip(body["grids"]["features"], grids, strict=True):
        inside = points[points.within(polygon)]["persons"].sum()
        assert feature["properties"]["population"] == inside
        totals.setdefault(feature["properties"]["community_code"], 0)
        totals[feature["properties"]["community_code"]] += inside
    # Every community's total allows the band here (3120, 3720, 11760 residents).
    for code, total in totals.items():
        assert math.ceil(total / high) <= math.floor(total / low), code
    for feature, polygon in zip(body["grids"]["features"], grids, strict=True):
        inside = int(points[points.within(polygon)]["persons"].sum())
        assert low <= inside <= high, feature["id"]
    assert body["summary"]["out_of_band_after"] == 0
    assert body["summary"]["out_of_band_before"] > 0


def test_households_band_from_each_old_grids_share_of_its_residents(
    client, db_session, resident_city
) -> None:
    body = propose(client, households="300-500")
    points = resident_points(db_session)
    old = gpd.GeoDataFrame(
        {"households": [g.households for g in resident_city.grids]},
        geometry=[g.polygon for g in resident_city.grids],
        crs=4326,
    )
    joined = gpd.sjoin(points, old, predicate="within")
    persons_of_grid = joined.groupby("index_right")["persons"].sum()
    joined["share"] = (
        joined["persons"] / joined["index_right"].map(persons_of_grid) * joined["households"]
    )
    for feature, polygon in zip(body["grids"]["features"], shapes_of(body["grids"]), strict=True):
        expected = joined[joined.within(polygon)]["share"].sum()
        households = feature["properties"]["households"]
        assert abs(households - expected) <= 0.5 + 1e-6, feature["id"]
        assert 300 <= households <= 500, feature["id"]
        assert 299.5 <= expected <= 500.5, feature["id"]
    total = sum(f["properties"]["households"] for f in body["grids"]["features"])
    # Rounding each new grid's shares may move the total by half a household per grid.
    assert (
        abs(total - sum(g.households for g in resident_city.grids))
        <= len(shapes_of(body["grids"])) / 2
    )


def test_grids_are_single_polygons_that_tessellate_their_community(
    client, db_session, resident_city
) -> None:
    body = propose(client, households="300-500")
    outlines = community_outlines(db_session)
    by_community: dict[str, list] = {}
    for feature, polygon in zip(body["grids"]["features"], shapes_of(body["grids"]), strict=True):
        assert polygon.geom_type == "Polygon" and polygon.is_valid, feature["id"]
        by_community.setdefault(feature["properties"]["community_code"], []).append(polygon)
    assert set(by_community) == set(outlines)
    for code, grids in by_community.items():
        faults = tessellation_faults(grids, outlines[code])
        assert all(value <= TOLERANCE_M2 for value in faults.values()), (code, faults)


def test_codes_are_valid_and_numbered_in_reading_order(client, resident_city) -> None:
    body = propose(client, households="300-500")
    features = body["grids"]["features"]
    by_community: dict[str, list] = {}
    for feature in features:
        parsed = parse_grid_code(feature["id"])
        assert parsed.community_code == feature["properties"]["community_code"]
        by_community.setdefault(parsed.community_code, []).append(feature)
    # The service's metric frame: equirectangular, true at the scope's middle.
    west, south, east, north = resident_city.district_polygon.bounds
    frame = f"+proj=eqc +lat_ts={(south + north) / 2} +lon_0={(west + east) / 2} +datum=WGS84"
    for code, members in by_community.items():
        numbers = [parse_grid_code(f["id"]).grid_no for f in members]
        assert numbers == list(range(1, len(members) + 1)), code
        polygons = gpd.GeoSeries(shapes_of({"features": members}), crs=4326).to_crs(frame)
        points = polygons.representative_point()
        xs, ys = points.x.to_numpy(), points.y.to_numpy()
        row_height = math.sqrt(shapely.union_all(polygons.to_numpy()).area / len(members))
        # DB11/T 2157: rows from the north, west to east inside a row.
        rows = np.floor((ys.max() - ys) / row_height)
        keys = list(zip(rows, xs, strict=True))
        assert keys == sorted(keys), code


def test_change_table_and_grid_workers(client, resident_city) -> None:
    body = propose(client, households="300-500")
    changes = body["changes"]
    old_codes = {g.code for g in resident_city.grids}
    new = {f["id"]: f["properties"] for f in body["grids"]["features"]}
    assert {row["old_code"] for row in changes} == old_codes
    for code, props in new.items():
        rows = [row["households"] for row in changes if row["new_code"] == code]
        assert abs(sum(rows) - props["households"]) <= len(rows) / 2  # each row rounded
        assert props["grid_workers"] == max(1, math.ceil(props["households"] * 0.01))
    for grid in resident_city.grids:
        rows = [row["households"] for row in changes if row["old_code"] == grid.code]
        assert abs(sum(rows) - grid.households) <= len(rows) / 2
    assert body["compactness"].startswith("Polsby")
    assert 0 < body["summary"]["polsby_popper_after"] <= 1


def test_apply_keeps_history_routes_points_and_moves_open_issues(
    client, db_session, resident_city
) -> None:
    # An open issue in the north-east of community 150699001001, before the redraw.
    lon, lat = 113.5 + 3.6 * 2.0**-7, 35.5 + 2.6 * 2.0**-7
    report = {"lon": lon, "lat": lat, "category": "road_damage", "description": "路面坑洼"}
    created = client.post("/api/v1/issues", json=report)
    assert created.status_code == 201, created.text
    body = propose(client, households="300-500")
    new_grids = dict(
        zip([f["id"] for f in body["grids"]["features"]], shapes_of(body["grids"]), strict=True)
    )
    apply = {"district": DISTRICT_CODE, "households": "300-500", "proposal_id": body["id"]}
    response = client.post(f"{URL}/apply", json=apply, headers=bearer("admin"))
    assert response.status_code == 200, response.text
    assert response.json()["generation"] == 2
    history = db_session.execute(
        text(
            "SELECT generation, valid_to IS NULL AS current, count(*) FROM grids "
            "WHERE code LIKE :prefix GROUP BY 1, 2 ORDER BY 1"
        ),
        {"prefix": f"{DISTRICT_CODE}%"},
    ).all()
    assert [tuple(row) for row in history] == [(1, False, 30), (2, True, len(new_grids))]
    # A point goes to the new grid holding it.
    point = Point(113.5 + 0.3 * 2.0**-7, 35.5 + 4.4 * 2.0**-7)
    located = client.get("/api/v1/grids/locate", params={"lon": point.x, "lat": point.y})
    expected = [code for code, polygon in new_grids.items() if polygon.intersects(point)]
    assert located.json()["properties"]["code"] == min(expected)
    issue = db_session.scalars(
        select(Issue).where(Issue.public_id == created.json()["public_id"])
    ).one()
    holding = min(
        code for code, polygon in new_grids.items() if polygon.intersects(Point(lon, lat))
    )
    assert issue.grid_code == holding
    events = db_session.scalars(
        select(IssueEvent).where(IssueEvent.issue_id == issue.id).order_by(IssueEvent.id)
    ).all()
    # Its old grid (number 012 of the community) is gone: the case moved, and says so.
    assert created.json()["grid"]["code"] == "150699001001012" != holding
    assert events[-1].action == "route" and events[-1].actor_role == "system"
    assert events[-1].details == {"from_grid": "150699001001012", "to_grid": holding}
    assert response.json()["issues_moved"] == 1


def test_apply_refuses_a_proposal_that_is_not_the_one_reviewed(
    client, db_session, resident_city
) -> None:
    apply = {"district": DISTRICT_CODE, "households": "300-500", "proposal_id": "0" * 16}
    response = client.post(f"{URL}/apply", json=apply, headers=bearer("admin"))
    assert response.status_code == 409
    assert "not 0000000000000000" in response.json()["detail"]
    current = db_session.scalar(
        text("SELECT count(*) FROM grids WHERE valid_to IS NULL AND code LIKE '150699%'")
    )
    assert current == 30
    assert client.post(f"{URL}/apply", json=apply).status_code == 401
    assert client.post(f"{URL}/apply", json=apply, headers=bearer("supervisor")).status_code == 403


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({}, "district"),
        ({"district": DISTRICT_CODE, "street": f"{DISTRICT_CODE}001"}, "district"),
        ({"district": "15069"}, "district"),
        ({"district": DISTRICT_CODE, "households": "500-300"}, "households"),
        ({"district": DISTRICT_CODE, "households": "many"}, "households"),
        ({"district": DISTRICT_CODE, "by": "area"}, "by"),
        ({"district": DISTRICT_CODE, "colour": "red"}, "colour"),
    ],
)
def test_bad_requests_are_refused_naming_the_parameter(client, city, params, named) -> None:
    response = client.get(URL, params=params)
    assert response.status_code == 422, response.text
    assert named in response.text


def test_unknown_scope_is_not_found(client, city) -> None:
    assert client.get(URL, params={"community": "150699009009"}).status_code == 404


def test_review_map_shows_both_generations_and_the_band(client, resident_city) -> None:
    body = propose(client, households="300-500")
    page = client.get(
        "/maps/rebalance", params={"district": DISTRICT_CODE, "households": "300-500"}
    )
    assert page.status_code == 200
    html = page.text
    assert body["id"] in html
    # The page carries its texts as JSON inside the script (non-ASCII escaped).
    for text_shown in (
        "300 – 500",
        f"proposed grids ({len(body['grids']['features'])})",
        "today's grids (30)",
        f"out of band: {body['summary']['out_of_band_before']} → "
        f"{body['summary']['out_of_band_after']}",
    ):
        assert in_script(text_shown) in html, text_shown


def in_script(text_shown: str) -> str:
    return json.dumps(text_shown)[1:-1].replace("'", "\\u0027")
