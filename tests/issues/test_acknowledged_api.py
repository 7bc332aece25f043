"""Acknowledged means committed: no 2xx before the commit, a failed commit is an error answer."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
import shapely
from sqlalchemy import Engine, text

from tests.factories import remove_issues
from tests.issues.conftest import bearer

# A constraint trigger that fires at COMMIT, not at the INSERT: only a commit before the
# response can turn it into an error answer.
FAIL_AT_COMMIT = """
CREATE OR REPLACE FUNCTION test_fail_at_commit() RETURNS trigger AS $$
BEGIN
  IF NEW.description LIKE '%FAIL-AT-COMMIT%' THEN
    RAISE EXCEPTION 'refused at commit';
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;
CREATE CONSTRAINT TRIGGER test_fail_at_commit AFTER INSERT ON issues
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_fail_at_commit();
"""


@pytest.fixture
def failing_commit(engine: Engine) -> Iterator[None]:
    with engine.begin() as connection:
        connection.execute(text(FAIL_AT_COMMIT))
    yield
    with engine.begin() as connection:
        connection.execute(text("DROP TRIGGER test_fail_at_commit ON issues"))
        connection.execute(text("DROP FUNCTION test_fail_at_commit()"))


def demo_point(city) -> tuple[float, float]:
    grid = city.grids.iloc[len(city.grids) // 3]
    point = shapely.Point(grid.geometry.representative_point())
    return point.x, point.y


def report(point: tuple[float, float], description: str) -> dict:
    return {"lon": point[0], "lat": point[1], "category": "environmental_sanitation",
            "description": description}  # fmt: skip


def count_marked(engine: Engine, marker: str) -> int:
    with engine.connect() as connection:
        return connection.scalar(
            text("SELECT count(*) FROM issues WHERE description LIKE :m"), {"m": f"%{marker}%"}
        )


def test_a_commit_that_fails_is_not_acknowledged(
    server: str, engine: Engine, loaded_demo_city, failing_commit
) -> None:
    marker = f"FAIL-AT-COMMIT-{uuid.uuid4().hex}"
    try:
        with httpx.Client(base_url=server, timeout=30) as http:
            plain = http.post("/api/v1/issues", json=report(demo_point(loaded_demo_city), marker))
            keyed = http.post(
                "/api/v1/issues",
                json=report(demo_point(loaded_demo_city), marker + " keyed"),
                headers={"Idempotency-Key": marker},
            )
        for response in (plain, keyed):
            assert response.status_code == 500, response.text
            assert "nothing was stored" in response.json()["detail"]
            assert "tracking_code" not in response.text and "refused at commit" not in response.text
        assert count_marked(engine, marker) == 0
        with engine.connect() as connection:  # the key's record went with the issue
            keys = connection.scalar(
                text("SELECT count(*) FROM idempotency_keys WHERE key = :k"), {"k": marker}
            )
        assert keys == 0
    finally:
        remove_issues(engine, marker)


def test_every_acknowledged_report_is_readable_at_once(
    server: str, engine: Engine, loaded_demo_city
) -> None:
    marker = f"ack-{uuid.uuid4().hex}"
    admin = bearer("admin", "auditor")
    misses = []
    try:
        with (
            httpx.Client(base_url=server, timeout=30) as writer,
            httpx.Client(base_url=server, timeout=30, headers=admin) as reader,
        ):
            for n in range(300):
                created = writer.post(
                    "/api/v1/issues", json=report(demo_point(loaded_demo_city), f"{marker} {n}")
                )
                assert created.status_code == 201, created.text
                issue_id = created.json()["id"]
                if reader.get(f"/api/v1/issues/{issue_id}").status_code != 200:
                    misses.append(issue_id)
        assert misses == []
        assert count_marked(engine, marker) == 300
    finally:
        remove_issues(engine, marker)
