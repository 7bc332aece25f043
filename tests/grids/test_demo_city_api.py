"""The API over the full demo city, checked against geopandas/shapely computations of the frames."""

from __future__ import annotations

import numpy as np
import shapely
from fastapi.testclient import TestClient

from gridsvc.grids.codes import ORDOS_DISTRICT_CODES


def test_districts_report_their_grids_residents_and_area(client: TestClient, loaded_demo_city):
    city = loaded_demo_city
    body = client.get("/api/v1/districts").json()
    served = {f["properties"]["code"]: f["properties"] for f in body["features"]}
    assert set(ORDOS_DISTRICT_CODES) <= set(served)
    grid_district = city.grids["code"].str[:6]
    residents = city.grids.groupby(grid_district)["population"].sum()
    grid_counts = grid_district.value_counts()
    areas = city.districts.set_index("code").to_crs(32649).area / 1e6
    for code in ORDOS_DISTRICT_CODES:
        assert served[code]["population"] == residents[code]
        assert served[code]["grid_count"] == grid_counts[code]
        # Geodesic area in PostGIS vs planar UTM 49N: UTM's scale error stays under 0.3 % here.
        assert abs(served[code]["area_km2"] / areas[code] - 1) < 0.003


def test_locate_agrees_with_a_brute_force_over_the_demo_grids(client: TestClient, loaded_demo_city):
    city = loaded_demo_city
    rng = np.random.default_rng(3)
    people = city.population.geometry.sample(150, random_state=3)
    minx, miny, maxx, maxy = city.districts.total_bounds
    xy = np.vstack(
        [
            np.column_stack([people.x, people.y]) + rng.normal(0, 0.001, size=(150, 2)),
            rng.uniform([minx, miny], [maxx, maxy], size=(50, 2)),
        ]
    )
    geometries = city.grids.geometry.values
    codes = city.grids["code"].to_numpy()
    for lon, lat in xy:
        point = shapely.Point(lon, lat)
        containing = sorted(codes[shapely.intersects(geometries, point)])
        response = client.get("/api/v1/grids/locate", params={"lon": lon, "lat": lat})
        if containing:
            assert response.status_code == 200
            assert response.json()["properties"]["code"] == containing[0]
        else:
            assert response.status_code == 404


def test_grid_listing_pages_through_a_district(client: TestClient, loaded_demo_city):
    city = loaded_demo_city
    expected = sorted(c for c in city.grids["code"] if c.startswith("150603"))
    seen: list[str] = []
    offset = 0
    while True:
        page = client.get(
            "/api/v1/grids", params={"district": "150603", "limit": 100, "offset": offset}
        ).json()
        assert page["numberMatched"] == len(expected)
        seen += [f["properties"]["code"] for f in page["features"]]
        if page["numberReturned"] < 100:
            break
        offset += 100
    assert seen == expected
