"""Done when: a GCJ-02 report in the demo city lands in the right grid with the right
department and deadline, survives retries, moves through the whole workflow by the right
hands, and shows up in the statistics and in Open311."""

from __future__ import annotations

import shapely

from gridsvc.common.coords import wgs84_to_gcj02
from tests.issues.conftest import bearer


def test_phone_report_from_start_to_statistics(client, loaded_demo_city) -> None:
    grids = loaded_demo_city.grids
    grid = grids.iloc[len(grids) // 2]
    point = shapely.Point(grid.geometry.representative_point())
    lon, lat = wgs84_to_gcj02(point.x, point.y)
    body = {"lon": float(lon), "lat": float(lat), "crs": "gcj02", "accuracy_m": 5,
            "category": "environmental_sanitation", "description": "垃圾桶满溢"}  # fmt: skip
    key = {"Idempotency-Key": "demo-phone-1"}
    created = client.post("/api/v1/issues", json=body, headers=key)
    retried = client.post("/api/v1/issues", json=body, headers=key)
    assert created.status_code == retried.status_code == 201
    issue = created.json()
    assert retried.json()["id"] == issue["id"]
    containing = sorted(grids[grids.intersects(point)]["code"])
    assert issue["grid"]["code"] == containing[0]
    assert issue["district"]["code"] == issue["grid"]["code"][:6]
    assert issue["department"]["code"] == "sanitation" and issue["deadline"]

    district = issue["district"]["code"]
    worker = bearer("grid_worker", "w", grids=(issue["grid"]["code"],))
    staff = bearer("department", "d", department="sanitation")
    supervisor = bearer("supervisor", "s", district=district)
    for token, action in (
        (worker, "register"), (worker, "dispatch"), (staff, "accept"),
        (staff, "resolve"), (worker, "verify"), (supervisor, "close"),
    ):  # fmt: skip
        response = client.post(
            f"/api/v1/issues/{issue['id']}/actions", json={"action": action}, headers=token
        )
        assert response.status_code == 200, (action, response.text)
    assert response.json()["status"] == "closed"

    stats = client.get("/api/v1/stats/issues?period=quarter&by=district", headers=supervisor)
    rows = stats.json()["rows"]
    assert sum(row["closed"] for row in rows if row["district"] == district) >= 1
    admin = bearer("admin", "moderator")
    published = client.put(f"/api/v1/issues/{issue['id']}/publication", json={}, headers=admin)
    assert published.status_code == 200
    public = client.get(f"/open311/v2/requests/{issue['public_id']}.json").json()[0]
    assert public["status"] == "closed"
    # Public positions are rounded to 0.001 degree: within about 100 m, never exact.
    assert abs(public["lat"] - point.y) <= 0.0005 and abs(public["long"] - point.x) <= 0.0005
    assert public["lat"] == round(public["lat"], 3) and public["description"] is None
