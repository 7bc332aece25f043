"""A current GDAL (the one bundled in pyogrio's wheel, 3.9 and later) reads the service.

Debian 12's GDAL 3.6 (tests/ogc/test_gdal.py) has no CRS open option and pages ten
features at a time; QGIS 3.34+ ships a GDAL that sizes pages from the OpenAPI document and
asks for a CRS by reference. GDAL runs in a child process: it holds the interpreter lock
while it reads, and the server runs in this one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pyogrio
import pytest
import shapely
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridsvc.coverage import refresh

pytestmark = pytest.mark.skipif(
    pyogrio.__gdal_version__ < (3, 9, 0) or "OAPIF" not in pyogrio.list_drivers(),
    reason="needs pyogrio's GDAL with the OAPIF driver",
)

#: Reads every layer asked for completely and prints what GDAL made of each.
READER = """
import json, sys, warnings
import pyogrio
url, crs, layers = sys.argv[1], sys.argv[2], sys.argv[3:]
found = {}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    for layer in layers:
        options = {"CRS": crs} if crs != "-" else {}
        frame = pyogrio.read_dataframe(url, layer=layer, **options)
        found[layer] = {
            "count": len(frame),
            "dtypes": {c: str(t) for c, t in frame.dtypes.items() if c != "geometry"},
            "crs": frame.crs.to_string() if frame.crs else None,
            "wkb": {str(k): g.wkb_hex for k, g in zip(frame["code"], frame.geometry)}
            if layer == "districts" else {},
        }
print(json.dumps({"layers": found, "warnings": [str(w.message) for w in caught]}))
"""


def read_with_gdal(ogc_server: str, layers: list[str], crs: str = "-") -> dict:
    done = subprocess.run(
        [sys.executable, "-c", READER, f"OAPIF:{ogc_server}", crs, *layers],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


@pytest.fixture
def stored_coverage(engine: Engine, loaded_demo_city) -> Iterator[str]:
    """The 10-minute circle's coverage of the smallest district, committed, then removed."""
    counts = loaded_demo_city.grids["community_code"].str[:6].value_counts()
    district = str(counts.idxmin())
    tables = ("grid_coverage", "service_areas")
    with engine.connect() as connection:  # another test may have stored some: keep it
        empty = all(connection.scalar(text(f"SELECT count(*) FROM {t}")) == 0 for t in tables)
    with Session(engine) as session, session.begin():
        refresh.refresh(session, district=district, circle_codes=["living_10min"])
    try:
        yield district
    finally:
        if empty:
            with engine.begin() as connection:
                for table in tables:
                    connection.execute(text(f"DELETE FROM {table}"))


def matched(ogc_server: str, collection: str) -> int:
    page = httpx.get(f"{ogc_server}/collections/{collection}/items", params={"limit": 1})
    return page.json()["numberMatched"]


def test_every_kind_of_collection_loads_whole_with_its_types(
    ogc_server: str, stored_coverage: str
) -> None:
    collections = [c["id"] for c in httpx.get(f"{ogc_server}/collections").json()["collections"]]
    # One of each kind (the per-circle collections differ only in their rows): the circle
    # with stored coverage.
    kinds = {c.split("-")[0]: c for c in collections if "-" not in c or "living_10min" in c}
    answer = read_with_gdal(ogc_server, sorted(kinds.values()))
    assert answer["warnings"] == []  # no lossy conversion, nothing cut
    for collection, read in answer["layers"].items():
        assert read["count"] == matched(ogc_server, collection), collection
    checked = 0
    for collection, read in answer["layers"].items():
        if not read["count"]:
            continue
        queryables = httpx.get(f"{ogc_server}/collections/{collection}/queryables").json()
        for name, declared in queryables["properties"].items():
            kind = read["dtypes"][name]
            if declared.get("type") == "number":
                assert kind == "float64", (collection, name, kind)  # never cut to an integer
                checked += 1
            elif declared.get("type") == "integer":
                assert kind in ("int32", "int64"), (collection, name, kind)
    assert checked >= 4  # coverage, area, covered area, gap area, threshold


def test_cgcs2000_by_reference(ogc_server: str, engine: Engine) -> None:
    answer = read_with_gdal(ogc_server, ["districts"], crs="EPSG:4490")
    districts = answer["layers"]["districts"]
    assert districts["crs"] == "EPSG:4490"
    with engine.connect() as connection:
        stored = dict(connection.execute(text(
            "SELECT code, ST_AsBinary(geom) FROM districts WHERE valid_to IS NULL"
        )).all())  # fmt: skip
    assert len(districts["wkb"]) == len(stored)
    # CGCS2000 and WGS-84 agree to centimetres: the same numbers, in GIS (lon, lat) order.
    for code, wkb in districts["wkb"].items():
        assert shapely.equals_exact(
            shapely.from_wkb(bytes.fromhex(wkb)), shapely.from_wkb(bytes(stored[code])), 1e-8
        ), code
