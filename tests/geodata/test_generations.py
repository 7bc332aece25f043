"""Boundary generations on --replace, and the export downloads of the API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gridsvc.db import get_session
from gridsvc.grids import service as grids_service
from gridsvc.main import create_app
from tests.city_cli import Cli
from tests.geodata.cityfiles import FixtureCity, block


def redrawn_grids(city: FixtureCity):  # GeoDataFrame
    """Community 150602001001's four grids merged into two; the rest unchanged."""
    grids = city.frames["grids"]
    keep = grids[~grids["code"].str.startswith("150602001001")]
    merged = grids[grids["code"].isin(["150602001001001", "150602001001002"])].copy()
    merged["geometry"] = [block(0, 1, 2, 1), block(0, 0, 2, 1)]
    merged["population"] = [999, 888]
    return type(grids)(pd.concat([merged, keep]), crs=grids.crs)


def test_replace_closes_the_generation_and_opens_the_next(
    cli: Cli, city_files: FixtureCity
) -> None:
    cli.load_boundaries(city_files)
    first_ids = cli.rows("SELECT id FROM grids ORDER BY id")
    path = city_files.write("grids-2025", redrawn_grids(city_files))
    refused = cli("import", "grids", path)
    assert refused.exit_code == 1 and "--replace" in refused.output
    result = cli.ok("import", "grids", path, "--replace")
    assert "Loaded 14 grids (generation 2)" in result.output
    current = cli.rows(
        "SELECT code, generation, population FROM grids WHERE valid_to IS NULL ORDER BY code"
    )
    assert len(current) == 14 and {g for _, g, _ in current} == {2}
    assert current[0] == ("150602001001001", 2, 999)
    # Every row of generation 1 is closed at the moment generation 2 opens, and kept.
    closed = cli.rows(
        "SELECT count(*), min(valid_to), max(valid_to) FROM grids WHERE generation = 1"
    )
    opened = cli.scalar("SELECT min(valid_from) FROM grids WHERE generation = 2")
    assert closed[0][0] == len(first_ids) == 16
    assert closed[0][1] == closed[0][2] == opened
    # Grids the new file leaves out are closed, not current.
    gone = ("150602001001003", "150602001001004")
    assert (
        cli.scalar(
            "SELECT count(*) FROM grids WHERE code = ANY(:codes) AND valid_to IS NULL",
            codes=list(gone),
        )
        == 0
    )
    # History: what was valid at a moment of generation 1.
    then = cli.scalar(
        "SELECT count(*) FROM grids WHERE valid_from <= :t AND (valid_to IS NULL OR valid_to > :t)",
        t=closed[0][1] - (closed[0][1] - cli.scalar("SELECT min(valid_from) FROM grids")) / 2,
    )
    assert then == 16
    # The read API serves the current generation.
    with Session(cli.engine) as session:
        page = grids_service.list_grids(session, community="150602001001", limit=100)
    assert [f["id"] for f in page.features] == ["150602001001001", "150602001001002"]
    assert page.features[0]["properties"]["generation"] == 2


def test_replacing_a_parent_relinks_children_and_refuses_orphans(
    cli: Cli, city_files: FixtureCity
) -> None:
    cli.load_boundaries(city_files)
    streets = city_files.frames["streets"].copy()
    streets.loc[0, "name"] = "交通街道（新）"
    cli.ok("import", "streets", city_files.write("streets-2", streets), "--replace")
    linked = cli.rows(
        "SELECT DISTINCT s.name, s.generation FROM communities c JOIN streets s "
        "ON s.id = c.street_id WHERE c.valid_to IS NULL ORDER BY 1"
    )
    assert linked == [("交通街道（新）", 2), ("公园街道", 2)]
    orphaning = cli(
        "import", "streets", city_files.write("streets-3", streets.iloc[:1]), "--replace"
    )
    assert orphaning.exit_code == 1
    assert "belong to street 150602002, which the file leaves out" in orphaning.output
    assert cli.scalar("SELECT max(generation) FROM streets") == 2


@pytest.fixture
def client(cli: Cli) -> Iterator[TestClient]:
    app = create_app()

    def session() -> Iterator[Session]:
        with Session(cli.engine) as db_session:
            yield db_session

    app.dependency_overrides[get_session] = session
    with TestClient(app) as test_client:
        yield test_client


def test_export_downloads(
    cli: Cli, city_files: FixtureCity, client: TestClient, tmp_path: Path
) -> None:
    cli.load_boundaries(city_files)
    cli.ok("import", "facilities", city_files.files["facilities"])
    response = client.get("/api/v1/export/grids.geojson")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    collection = json.loads(response.text)
    assert len(collection["features"]) == 16
    first = collection["features"][0]
    assert first["properties"]["code"] == "150602001001001"
    assert first["properties"]["community_code"] == "150602001001"
    expected = city_files.frames["grids"].set_index("code").geometry["150602001001001"]
    shape = shapely.geometry.shape(first["geometry"])
    assert shapely.equals_exact(shapely.normalize(shape), shapely.normalize(expected), 1e-9)
    package = client.get("/api/v1/export/facilities.gpkg")
    assert package.status_code == 200
    (tmp_path / "facilities.gpkg").write_bytes(package.content)  # saved as a user saves it
    frame = pyogrio.read_dataframe(tmp_path / "facilities.gpkg")
    assert sorted(frame["name"]) == sorted(city_files.frames["facilities"]["name"])
    missing = client.get("/api/v1/export/roads.geojson")
    assert missing.status_code == 404 and "districts" in missing.json()["detail"]
