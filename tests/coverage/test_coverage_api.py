"""The coverage API on a small city with a walking network, checked by brute force."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import delete
from sqlalchemy.orm import Session

from gridsvc.coverage import refresh, service
from gridsvc.coverage.circles import get_circle
from gridsvc.facilities.models import Facility
from tests.conftest import engine_of_its_own
from tests.coverage.conftest import WalkCity, lonlat
from tests.factories import make_facility

DISTRICT = "150699"
CULTURE = get_circle("culture_5min")
# The city-wide refreshes and roll-ups here count every grid: no demo city beside them.
engine = engine_of_its_own("coverage_api")


def covered_by_grid(city: WalkCity, facility_xy: np.ndarray, limit: float) -> dict[str, int]:
    """Covered residents per grid code, by straight distance, brute force."""
    gaps = np.linalg.norm(city.resident_xy[:, None, :] - facility_xy[None, :, :], axis=2)
    covered = gaps.min(axis=1) <= limit if len(facility_xy) else np.zeros(len(gaps), bool)
    points = shapely.points(lonlat(city.resident_xy))
    result = {grid.code: 0 for grid in city.lattice.grids}
    for point, persons, hit in zip(points, city.resident_persons, covered, strict=True):
        codes = city.lattice.containing(point)
        if codes:  # residents outside every grid count nowhere
            result[codes[0]] += int(persons) * bool(hit)
    return result


def culture_xy(city: WalkCity) -> np.ndarray:
    rows = [i for i, code in enumerate(city.facility_types) if code in CULTURE.facility_types]
    return city.facility_xy[rows]


def test_circles_list_thresholds_minutes_and_types(client: TestClient) -> None:
    circles = {c["code"]: c for c in client.get("/api/v1/circles").json()}
    assert {
        "living_5min",
        "living_10min",
        "living_15min",
        "consumption_10min",
        "culture_5min",
    } <= set(circles)
    assert circles["culture_5min"]["threshold_m"] == 300
    assert circles["culture_5min"]["minutes"] == 5
    assert circles["consumption_10min"]["facility_types"] == ["shop_market"]


def test_unknown_circle_and_mode_are_named(client: TestClient) -> None:
    response = client.get("/api/v1/coverage", params={"circle": "nope"})
    assert response.status_code == 422
    assert "unknown circle 'nope'" in response.json()["detail"]
    assert "culture_5min" in response.json()["detail"]
    response = client.get("/api/v1/coverage", params={"circle": "culture_5min", "mode": "walk"})
    assert response.status_code == 422
    assert "mode" in response.json()["detail"]
    response = client.get("/api/v1/coverage", params={"types": "nope", "threshold_m": 300})
    assert response.status_code == 422
    assert "unknown facility type 'nope'" in response.json()["detail"]


def test_euclidean_coverage_per_grid_equals_brute_force(
    client: TestClient, walk_city: WalkCity
) -> None:
    params = {"circle": "culture_5min", "mode": "euclidean", "district": DISTRICT, "limit": 100}
    body = client.get("/api/v1/coverage", params=params).json()
    assert body["source"] == "live" and body["numberMatched"] == 30
    expected = covered_by_grid(walk_city, culture_xy(walk_city), 300)
    got = {row["code"]: row["covered_residents"] for row in body["rows"]}
    assert got == expected
    for row in body["rows"]:
        assert 0 <= row["coverage"] <= 1
        assert row["uncovered_residents"] == row["residents"] - row["covered_residents"]


def test_custom_types_and_threshold(client: TestClient, walk_city: WalkCity) -> None:
    params = {
        "types": "shop_market",
        "threshold_m": 450,
        "mode": "euclidean",
        "district": DISTRICT,
        "limit": 100,
    }
    body = client.get("/api/v1/coverage", params=params).json()
    shops = walk_city.facility_xy[
        [i for i, t in enumerate(walk_city.facility_types) if t == "shop_market"]
    ]
    assert {r["code"]: r["covered_residents"] for r in body["rows"]} == covered_by_grid(
        walk_city, shops, 450
    )


def test_refresh_stores_what_live_computes(
    client: TestClient, db_session: Session, walk_city: WalkCity
) -> None:
    params = {"circle": "culture_5min", "mode": "network", "district": DISTRICT, "limit": 100}
    live = client.get("/api/v1/coverage", params=params).json()
    refresh.refresh(db_session, district=DISTRICT)
    assert refresh.is_fresh(db_session, DISTRICT)
    stored = client.get("/api/v1/coverage", params=params).json()
    assert (live["source"], stored["source"]) == ("live", "stored")
    for a, b in zip(live["rows"], stored["rows"], strict=True):
        assert a["code"] == b["code"] and a["covered_residents"] == b["covered_residents"]
        assert a["covered_area_m2"] == pytest.approx(b["covered_area_m2"], rel=1e-6, abs=1.0)
    gaps = client.get("/api/v1/coverage/gaps", params={**params, "limit": 5}).json()
    uncovered = [f["properties"]["uncovered_residents"] for f in gaps["features"]]
    assert uncovered == sorted(uncovered, reverse=True) and len(uncovered) == 5
    assert gaps["features"][0]["geometry"]["type"] == "MultiPolygon"
    areas = client.get("/api/v1/coverage/service-areas", params={**params, "limit": 50}).json()
    culture = [
        i
        for i, t in zip(walk_city.facility_ids, walk_city.facility_types, strict=True)
        if t in CULTURE.facility_types
    ]
    assert sorted(f["properties"]["facility_id"] for f in areas["features"]) == sorted(culture)
    assert all(f["properties"]["threshold_m"] == 300 for f in areas["features"])
    # A facility added later makes the stored coverage stale: readers compute live again.
    make_facility(db_session, "library", 113.51, 35.51)
    assert not refresh.is_fresh(db_session, DISTRICT)
    assert client.get("/api/v1/coverage", params=params).json()["source"] == "live"


@pytest.mark.parametrize("weight", ["population", "area"])
def test_stored_roll_ups_equal_the_live_ones(
    client: TestClient, db_session: Session, walk_city: WalkCity, weight: str
) -> None:
    """Summed by the database from stored rows; live, summed by pandas from computed grids."""
    levels = ("community", "street", "district", "city")
    scopes = ({"district": DISTRICT}, {})
    base = {"circle": "culture_5min", "mode": "network", "weight": weight, "limit": 100}

    def read(scope: dict[str, str], level: str) -> dict:
        response = client.get("/api/v1/coverage", params={**base, **scope, "level": level})
        assert response.status_code == 200, response.text
        return response.json()

    live = {(i, level): read(scope, level) for i, scope in enumerate(scopes) for level in levels}
    refresh.refresh(db_session)
    for (i, level), before in live.items():
        after = read(scopes[i], level)
        assert (before["source"], after["source"]) == ("live", "stored")
        assert after["numberMatched"] == before["numberMatched"] > 0
        for a, b in zip(before["rows"], after["rows"], strict=True):
            exact = ("code", "grids", "residents", "covered_residents", "uncovered_residents")
            assert {k: a[k] for k in exact} == {k: b[k] for k in exact}
            assert b["coverage"] == pytest.approx(a["coverage"], abs=2e-6)
            for key in ("area_m2", "covered_area_m2"):
                assert b[key] == pytest.approx(a[key], rel=1e-6, abs=1.0)
    city = read({}, "city")["rows"]
    grids = read({}, "grid")["rows"]
    assert city[0]["code"] == "city" and city[0]["grids"] == len(grids)
    assert city[0]["covered_residents"] == sum(r["covered_residents"] for r in grids)


def test_geojson_and_roll_ups(client: TestClient, walk_city: WalkCity) -> None:
    params = {"circle": "culture_5min", "mode": "euclidean", "district": DISTRICT}
    collection = client.get(
        "/api/v1/coverage", params={**params, "format": "geojson", "limit": 3}
    ).json()
    assert collection["type"] == "FeatureCollection" and collection["numberMatched"] == 30
    first = collection["features"][0]
    assert first["geometry"]["type"] == "MultiPolygon"
    assert {"code", "coverage", "residents", "uncovered_residents"} <= set(first["properties"])
    rows = client.get("/api/v1/coverage", params={**params, "limit": 100}).json()["rows"]
    district = client.get("/api/v1/coverage", params={**params, "level": "district"}).json()["rows"]
    assert district[0]["residents"] == sum(r["residents"] for r in rows)
    assert district[0]["covered_residents"] == sum(r["covered_residents"] for r in rows)
    streets = client.get("/api/v1/coverage", params={**params, "level": "street"}).json()["rows"]
    assert [s["code"] for s in streets] == ["150699001", "150699002"]
    refused = client.get(
        "/api/v1/coverage", params={**params, "level": "street", "format": "geojson"}
    )
    assert refused.status_code == 422 and "format" in refused.json()["detail"]


@pytest.mark.parametrize("mode", ["euclidean", "network"])
def test_what_if_equals_a_full_recompute(
    client: TestClient, db_session: Session, walk_city: WalkCity, mode: str
) -> None:
    removed = walk_city.facility_ids[0]  # a library: in the culture circle
    body = {
        "circle": "culture_5min",
        "mode": mode,
        "district": DISTRICT,
        "add": [{"type_code": "library", "lon": 113.52, "lat": 35.515}],
        "move": [{"id": walk_city.facility_ids[1], "lon": 113.53, "lat": 35.53}],
        "remove": [removed],
    }
    answer = client.post("/api/v1/coverage/what-if", json=body)
    assert answer.status_code == 200, answer.text
    answer = answer.json()
    before = service.grid_coverage(db_session, CULTURE, mode, DISTRICT).table
    assert answer["covered_before"] == int(before["covered_residents"].sum())
    make_facility(db_session, "library", 113.52, 35.515)
    moved = db_session.get(Facility, walk_city.facility_ids[1])
    moved.geom = "SRID=4326;POINT(113.53 35.53)"
    db_session.execute(delete(Facility).where(Facility.id == removed))
    db_session.flush()
    after = service.grid_coverage(db_session, CULTURE, mode, DISTRICT).table
    assert answer["covered_after"] == int(after["covered_residents"].sum())
    changed = {row["code"]: row for row in answer["grids"]}
    assert changed, "the change moves some residents"
    for old, new in zip(before.itertuples(), after.itertuples(), strict=True):
        if new.code in changed:
            assert changed[new.code]["covered_before"] == old.covered_residents
            assert changed[new.code]["covered_after"] == new.covered_residents
            assert changed[new.code]["covered_area_after"] == pytest.approx(
                new.covered_area_m2, abs=1.0
            )
        else:
            assert new.covered_residents == old.covered_residents
            assert new.covered_area_m2 == pytest.approx(old.covered_area_m2, abs=1.0)


def test_what_if_names_unknown_facilities(client: TestClient, walk_city: WalkCity) -> None:
    body = {"circle": "culture_5min", "district": DISTRICT, "remove": [987654321]}
    response = client.post("/api/v1/coverage/what-if", json=body)
    assert response.status_code == 422
    assert "987654321" in response.json()["detail"]


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"add": [{"type_code": "library", "lon": 0, "lat": 0}]}, ["add", 0, "lon"],
         "far outside the city"),
        ({"add": [{"type_code": "library", "lon": 113.52, "lat": 35.51},
                  {"type_code": "library", "lon": 116.4, "lat": 39.9}]}, ["add", 1, "lon"],
         "far outside the city: lon 116.4, lat 39.9"),
        ({"add": [{"type_code": "library", "lon": 35.515, "lat": 113.52}]}, ["add", 0, "lat"],
         "less than or equal to 90"),
        ({"move": [{"id": 0, "lon": 0, "lat": 0}]}, ["move", 0, "lon"], "far outside the city"),
        ({"add": [{"type_code": "shop_market", "lon": 113.52, "lat": 35.51}]},
         ["add", 0, "type_code"], "'shop_market' is not a type of circle culture_5min"),
        ({"add": [{"type_code": "library", "lon": 113.52, "lat": 35.51},
                  {"type_code": "no_such_type", "lon": 113.52, "lat": 35.51}]},
         ["add", 1, "type_code"], "unknown facility type 'no_such_type'"),
        ({"remove": [987654321]}, ["remove", 0], "no facility with id 987654321"),
        ({"district": "15069"}, ["district"], "pattern"),
    ],
)  # fmt: skip
def test_what_if_names_the_body_field_at_fault(
    client: TestClient, walk_city: WalkCity, change: dict, field: list, reason: str
) -> None:
    for move in change.get("move", []):
        move["id"] = walk_city.facility_ids[1]
    body = {"circle": "culture_5min", "district": DISTRICT, **change}
    response = client.post("/api/v1/coverage/what-if", json=body)
    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["errors"][0]["loc"] == ["body", *field]
    name = field[0] + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in field[1:])
    assert f"body field '{name}'" in answer["detail"] and reason in answer["detail"]


def test_custom_types_in_a_body_are_named_as_sent(client: TestClient, walk_city: WalkCity) -> None:
    body = {"types": ["library", "nosuch"], "threshold_m": 300, "district": DISTRICT}
    response = client.post("/api/v1/coverage/what-if", json=body)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("body field 'types': unknown facility type")
    query = {"types": "library,nosuch", "threshold_m": 300, "district": DISTRICT}
    response = client.get("/api/v1/coverage", params=query)
    assert response.json()["detail"].startswith("query parameter 'types': unknown")


def test_a_facility_added_far_from_every_grid_changes_nothing(
    client: TestClient, walk_city: WalkCity
) -> None:
    """Inside the city but far from the district's grids (Ordos, for the lattice district)."""
    add = [{"type_code": "library", "lon": 109.78, "lat": 39.61}]
    body = {"circle": "culture_5min", "district": DISTRICT, "mode": "euclidean", "add": add}
    response = client.post("/api/v1/coverage/what-if", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["residents_gained"] == 0 and response.json()["grids"] == []


def test_siting_refuses_candidates_outside_the_city(
    client: TestClient, walk_city: WalkCity
) -> None:
    points = [{"lon": 113.51, "lat": 35.51}, {"lon": 0, "lat": 0}]
    body = {"circle": "culture_5min", "district": DISTRICT, "candidates": points}
    response = client.post("/api/v1/coverage/siting", json=body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "candidates", 1, "lon"]
    assert "far outside the city" in response.json()["detail"]


def test_siting_picks_sites_that_a_what_if_confirms(
    client: TestClient, walk_city: WalkCity
) -> None:
    body = {
        "circle": "culture_5min",
        "mode": "euclidean",
        "district": DISTRICT,
        "k": 2,
        "method": "both",
    }
    answer = client.post("/api/v1/coverage/siting", json=body)
    assert answer.status_code == 200, answer.text
    answer = answer.json()
    assert len(answer["sites"]) == 2 and answer["optimal"]
    assert answer["greedy_objective"] <= answer["optimum"]
    assert answer["residents_gained"] == sum(s["residents_gained"] for s in answer["sites"])
    added = [{"type_code": "library", "lon": s["lon"], "lat": s["lat"]} for s in answer["sites"]]
    check = {"circle": "culture_5min", "mode": "euclidean", "district": DISTRICT, "add": added}
    confirmed = client.post("/api/v1/coverage/what-if", json=check).json()
    assert confirmed["residents_gained"] == answer["residents_gained"]


def test_siting_from_given_points_in_network_mode(client: TestClient, walk_city: WalkCity) -> None:
    points = [
        {"lon": 113.5 + i * 0.006, "lat": 35.5 + j * 0.006} for i in range(5) for j in range(5)
    ]
    body = {
        "circle": "culture_5min",
        "district": DISTRICT,
        "k": 3,
        "candidates": points,
        "method": "both",
    }
    answer = client.post("/api/v1/coverage/siting", json=body).json()
    assert answer["candidates"] == 25 and len(answer["sites"]) == 3
    assert answer["greedy_objective"] <= answer["optimum"] == answer["residents_gained"]
    assert all(site["node_id"] is None for site in answer["sites"])


def test_a_district_without_grids_has_no_rows_and_a_bad_code_is_named(client: TestClient) -> None:
    params = {"circle": "culture_5min", "mode": "euclidean", "district": "150600"}
    body = client.get("/api/v1/coverage", params=params).json()
    assert body["numberMatched"] == 0 and body["rows"] == []
    gaps = client.get("/api/v1/coverage/gaps", params=params).json()
    assert gaps["features"] == []
    response = client.get("/api/v1/coverage", params={**params, "district": "15"})
    assert response.status_code == 422 and "district" in response.json()["detail"]


def test_refreshes_run_one_at_a_time(engine) -> None:
    """A second refresh waits for the first's transaction to end."""
    from psycopg.errors import LockNotAvailable
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    with engine.connect() as holder:
        holding = holder.begin()
        holder.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": refresh.REFRESH_LOCK})
        with Session(engine) as session:
            session.execute(text("SET LOCAL lock_timeout = '200ms'"))
            with pytest.raises(OperationalError, match="lock timeout") as refused:
                refresh.refresh(session, district=DISTRICT, circle_codes=["living_10min"])
            assert isinstance(refused.value.orig, LockNotAvailable)
            session.rollback()
        holding.rollback()


def test_gap_shapes_are_the_gaps_the_api_lists(db_session: Session, walk_city: WalkCity) -> None:
    """The maps' shapes and the API's features: the same grids, order and geometry."""
    import shapely.geometry

    circle = get_circle("culture_5min")
    for source in ("live", "stored"):
        if source == "stored":
            refresh.refresh(db_session, district=DISTRICT)
        result = service.grid_coverage(db_session, circle, "network", DISTRICT)
        assert result.source == source
        _, features = service.gap_features(db_session, result, 100)
        codes, uncovered, shapes = service.gap_shapes(db_session, result, 100)
        assert codes == [f["properties"]["grid_code"] for f in features] and codes
        assert uncovered == [f["properties"]["uncovered_residents"] for f in features]
        for shape, item in zip(shapes, features, strict=True):
            listed = shapely.geometry.shape(item["geometry"])  # GeoJSON: 9 decimal digits
            assert shapely.symmetric_difference(shape, listed).area <= 1e-5 * listed.area
