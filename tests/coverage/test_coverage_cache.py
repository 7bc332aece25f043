"""The city kept in memory: warmed at start-up, reused as it is, facilities read again alone."""

from __future__ import annotations

import re
import time

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from gridsvc.config import get_settings
from gridsvc.coverage import analysis, cache, refresh
from gridsvc.coverage.circles import get_circle
from tests.coverage.conftest import WalkCity
from tests.factories import make_facility
from tests.servers import committing_server

CULTURE = get_circle("culture_5min")
CITY_TABLES = ("grids", "population_points", "network_edges", "network_nodes", "communities")


class Statements:
    """The SQL statements an engine runs while the block runs."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.seen = engine, []

    def _record(self, _connection, _cursor, statement, *_args) -> None:
        self.seen.append(statement)

    def __enter__(self) -> Statements:
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *_exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)

    def reading(self, table: str) -> list[str]:
        """Statements that name ``table`` (as a table, not as a word in another name)."""
        return [s for s in self.seen if re.search(rf"\b{table}\b", s)]


def what_if(client: TestClient, mode: str, add: list[dict]) -> dict:
    body = {"circle": "culture_5min", "mode": mode, "add": add}
    response = client.post("/api/v1/coverage/what-if", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def full_recompute(session: Session, mode: str) -> np.ndarray:
    """Covered residents per grid from a fresh read of the city, circle as stored now."""
    inputs = refresh.load_inputs(session)
    rows = inputs.facilities_of(CULTURE.facility_types)
    buffer_m = get_settings().service_area_buffer_m
    table = analysis.compute_coverage(inputs, rows, mode, CULTURE.threshold_m, buffer_m, False)
    return table["covered_residents"].to_numpy()


def test_a_warm_city_answers_a_what_if_without_reading_it(
    client: TestClient, db_session: Session, walk_city: WalkCity
) -> None:
    cache.clear()
    warmed = cache.warm(db_session)
    engine = db_session.get_bind().engine
    add = [{"type_code": "library", "lon": 113.52, "lat": 35.515}]
    with Statements(engine) as statements:
        answer = what_if(client, "network", add)
    assert statements.seen, "the data versions are read"
    for table in CITY_TABLES + ("facilities",):
        assert statements.reading(table) == [], table
    assert cache.city_inputs(db_session) is warmed
    assert answer["covered_before"] == int(full_recompute(db_session, "network").sum())


@pytest.mark.parametrize("mode", ["network", "euclidean"])
def test_after_a_facility_is_added_only_facilities_are_read_again(
    client: TestClient, db_session: Session, walk_city: WalkCity, mode: str
) -> None:
    cache.clear()
    warmed = cache.warm(db_session)
    first = what_if(client, mode, [{"type_code": "library", "lon": 113.53, "lat": 35.52}])
    added = make_facility(db_session, "library", 113.515, 35.51)
    engine = db_session.get_bind().engine
    with Statements(engine) as statements:
        answer = what_if(client, mode, [{"type_code": "library", "lon": 113.53, "lat": 35.52}])
    assert statements.reading("facilities"), "the facilities are read again"
    for table in CITY_TABLES:
        assert statements.reading(table) == [], table
    reloaded = cache.city_inputs(db_session)
    assert reloaded is not warmed and added.id in reloaded.facility_ids.tolist()
    assert reloaded.grids is warmed.grids and reloaded.network is warmed.network
    assert reloaded.resident_xy is warmed.resident_xy
    # The answer is the one of the city read anew, with the added facility.
    expected = full_recompute(db_session, mode)
    assert answer["covered_before"] == int(expected.sum()) >= first["covered_before"]
    codes = list(reloaded.grids["code"])
    for row in answer["grids"]:
        assert row["covered_before"] == expected[codes.index(row["code"])]


def test_the_server_answers_health_while_the_city_warms(
    database_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRIDSVC_DATABASE_URL", database_url)
    monkeypatch.setenv("GRIDSVC_WARM_CITY", "true")
    get_settings.cache_clear()
    cache.clear()
    serving = committing_server(engine)
    try:
        with cache.LOADING:  # the warm-up waits at its read of the city until released
            base = next(serving)
            health = httpx.get(f"{base}/health", timeout=10)
            assert health.status_code == 200, health.text
            assert cache.WARM_STATE["state"] == "warming"
        deadline = time.monotonic() + 60
        while cache.WARM_STATE["state"] == "warming" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert cache.WARM_STATE["state"] == "warm"
        assert httpx.get(f"{base}/health", timeout=10).status_code == 200
    finally:
        serving.close()
        get_settings.cache_clear()
        cache.clear()
