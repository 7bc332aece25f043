"""Districts and the generation rule: only current rows are ever served."""

from __future__ import annotations

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import shape
from sqlalchemy.orm import Session

from tests.factories import DISTRICT_CODE, LatticeCity, make_retired_grids

DISTRICTS = "/api/v1/districts"
GRIDS = "/api/v1/grids"


def district_feature(client: TestClient, code: str) -> dict | None:
    response = client.get(DISTRICTS)
    assert response.status_code == 200
    return next((f for f in response.json()["features"] if f["id"] == code), None)


def test_district_totals_and_area(client: TestClient, city: LatticeCity):
    response = client.get(DISTRICTS)
    assert response.headers["content-type"].startswith("application/geo+json")
    assert response.json()["type"] == "FeatureCollection"
    feature = district_feature(client, DISTRICT_CODE)
    properties = feature["properties"]
    assert properties["code"] == DISTRICT_CODE
    assert properties["name"] == "测试旗"
    assert properties["grid_count"] == 30
    assert properties["population"] == sum(grid.population for grid in city.grids)
    area = gpd.GeoSeries([city.district_polygon], crs=4326).to_crs(32649).area.iloc[0] / 1e6
    assert properties["area_km2"] == pytest.approx(area, rel=0.005)
    served = shape(feature["geometry"])
    assert served.equals(city.district_polygon)
    assert served.geoms[0].exterior.is_ccw


def test_districts_are_ordered_by_code(client: TestClient, city: LatticeCity):
    codes = [f["id"] for f in client.get(DISTRICTS).json()["features"]]
    assert codes == sorted(codes)
    assert DISTRICT_CODE in codes


def test_retired_rows_are_not_served(client: TestClient, city: LatticeCity, db_session: Session):
    retired = make_retired_grids(db_session, city)
    reshaped, removed = list(retired)

    # The district keeps its totals: retired grids count for nothing.
    properties = district_feature(client, DISTRICT_CODE)["properties"]
    assert properties["grid_count"] == 30
    assert properties["population"] == sum(grid.population for grid in city.grids)
    assert district_feature(client, "150698") is None

    listing = client.get(GRIDS, params={"district": DISTRICT_CODE}).json()
    assert listing["numberMatched"] == 30
    assert removed not in [f["id"] for f in listing["features"]]

    # The current shape of a redrawn grid, never its older one.
    feature = client.get(f"{GRIDS}/{reshaped}").json()
    assert shape(feature["geometry"]).equals(city.by_code()[reshaped].polygon)
    assert client.get(f"{GRIDS}/{removed}").status_code == 404

    for code, polygon in retired.items():
        point = polygon.representative_point()
        located = client.get(f"{GRIDS}/locate", params={"lon": point.x, "lat": point.y})
        assert located.status_code == 404, code
        west, south, east, north = polygon.bounds
        inside = client.get(
            GRIDS, params={"bbox": f"{west + 1e-6},{south + 1e-6},{east - 1e-6},{north - 1e-6}"}
        )
        assert inside.json()["numberMatched"] == 0
