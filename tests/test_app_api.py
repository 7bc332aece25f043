"""The app itself: health, OpenAPI, and creating it without a database."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

import gridsvc
from gridsvc import db
from gridsvc.cluster.home import ClusterError
from gridsvc.db import get_session
from gridsvc.main import create_app


def test_health_reports_the_database(client: TestClient):
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"].startswith("PostgreSQL 15")
    assert body["postgis"].startswith("3.")


def test_health_is_503_when_the_database_is_unreachable():
    app = create_app()
    unreachable = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")

    def dead_session() -> Iterator[Session]:
        with Session(unreachable) as session:
            yield session

    app.dependency_overrides[get_session] = dead_session
    client = TestClient(app)
    report = {"lon": 109.99, "lat": 39.82, "category": "road_damage", "description": "停电时"}
    for response in (
        client.get("/health"),
        client.get("/api/v1/grids"),
        client.post("/api/v1/issues", json=report),
    ):
        assert response.status_code == 503, response.text
        assert response.json()["detail"].startswith("database unavailable: ")
        assert int(response.headers["Retry-After"]) > 0
        # Host, port, user and driver go to the log, never into the answer.
        body = response.text.lower()
        for revealing in ("127.0.0.1", "psycopg", "connection", "nobody", "port"):
            assert revealing not in body
    unreachable.dispose()


def test_health_is_503_when_the_embedded_cluster_is_not_running():
    app = create_app()

    def no_cluster() -> Iterator[Session]:
        raise ClusterError("The embedded cluster is not set up yet")
        yield  # pragma: no cover

    app.dependency_overrides[get_session] = no_cluster
    response = TestClient(app).get("/health")
    assert response.status_code == 503
    assert response.json()["detail"].startswith("database unavailable: ")


def test_creating_the_app_connects_to_nothing():
    before = db.engine_for.cache_info().currsize
    app = create_app()
    assert db.engine_for.cache_info().currsize == before
    assert app.title == "gridsvc"
    assert app.version == gridsvc.__version__


def test_openapi_documents_the_routes(client: TestClient):
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/health",
        "/api/v1/districts",
        "/api/v1/grids",
        "/api/v1/grids/locate",
        "/api/v1/grids/{code}",
        "/api/v1/facilities",
        "/api/v1/facility-types",
    ):
        assert path in paths
    locate = paths["/api/v1/grids/locate"]["get"]
    assert "lowest code" in locate["description"]
    assert "application/geo+json" in locate["responses"]["200"]["content"]


def test_module_level_app_for_uvicorn():
    from gridsvc.main import app

    assert app.title == "gridsvc"
