"""The metric CRS stored with the city: its districts' own UTM zone, unless a setting names one.

A small city around Shanghai (UTM 51N) sits four zones east of the tests' Ordos box (49N).
A resident 990 m (on the ground) from a facility lies inside a 1,000 m circle when measured
in the city's own zone, and outside it in Ordos's zone, whose scale is 1.1 % too large there.
"""

from __future__ import annotations

from collections.abc import Iterator

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from geoalchemy2.shape import from_shape
from pyproj import Geod, Transformer
from shapely.geometry import Point, box, shape
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridsvc.config import get_settings
from gridsvc.coverage import planning, store
from gridsvc.coverage import service as coverage_service
from gridsvc.grids import service as grids_service
from gridsvc.grids.models import PopulationPoint
from tests.conftest import app_on
from tests.factories import (
    make_community,
    make_district,
    make_facility,
    make_facility_type,
    make_grid,
    make_street,
)

DISTRICT = "310101"
GRID = "310101001001001"
CITY_BOX = box(121.40, 31.20, 121.44, 31.23)
FACILITY = (121.41, 31.215)
RESIDENT_DISTANCE_M = 990.0
PERSONS = 25
RETIRE_DISTRICTS = (
    "UPDATE districts SET valid_to = greatest(now(), valid_from + interval '1 second')"
    " WHERE valid_to IS NULL"
)


def own_zone() -> int:
    """The city's UTM zone as geopandas (and osmnx) estimate it: an independent answer."""
    return gpd.GeoSeries([CITY_BOX], crs=4326).estimate_utm_crs().to_epsg()


def resident_place() -> tuple[float, float]:
    lon, lat, _ = Geod(ellps="WGS84").fwd(*FACILITY, 90.0, RESIDENT_DISTANCE_M)
    return lon, lat


@pytest.fixture
def shanghai(db_session: Session) -> Session:
    """Only the Shanghai city is current: other districts retired in this transaction."""
    db_session.execute(text(RETIRE_DISTRICTS))
    district = make_district(db_session, CITY_BOX, code=DISTRICT, name="上海测试区")
    street = make_street(db_session, district, f"{DISTRICT}001", CITY_BOX)
    community = make_community(db_session, street, f"{DISTRICT}001001", CITY_BOX)
    make_grid(db_session, community, GRID, CITY_BOX, population=PERSONS)
    make_facility_type(db_session, "crs_test_station", "测试站", "test station")
    make_facility(db_session, "crs_test_station", *FACILITY)
    db_session.add(
        PopulationPoint(persons=PERSONS, geom=from_shape(Point(*resident_place()), 4326))
    )
    db_session.flush()
    return db_session


@pytest.fixture
def named_crs(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """GRIDSVC_METRIC_CRS naming Ordos's zone, for one test."""
    monkeypatch.setenv("GRIDSVC_METRIC_CRS", "EPSG:32649")
    get_settings.cache_clear()
    yield "EPSG:32649"
    monkeypatch.undo()
    get_settings.cache_clear()


def covered_residents(session: Session) -> int:
    circle = coverage_service.resolve_circle(session, None, ["crs_test_station"], 1000.0)
    result = coverage_service.grid_coverage(session, circle, "euclidean", DISTRICT)
    return int(result.table.set_index("code").loc[GRID, "covered_residents"])


def test_the_premise_the_zone_decides_the_answer() -> None:
    def planar(srid: int) -> float:
        to_metric = Transformer.from_crs(4326, srid, always_xy=True)
        (x0, x1), (y0, y1) = to_metric.transform(*zip(FACILITY, resident_place(), strict=True))
        return float(((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5)

    assert own_zone() == 32651
    assert planar(32651) < 1000.0 < planar(32649)


def test_loading_the_districts_stores_their_own_zone(shanghai: Session) -> None:
    assert grids_service.metric_crs(shanghai) == get_settings().metric_crs == "EPSG:32649"
    assert grids_service.remember_metric_crs(shanghai) == f"EPSG:{own_zone()}"
    stored = shanghai.execute(text("SELECT crs, west, south, east, north FROM city_metric_crs"))
    assert stored.one() == (f"EPSG:{own_zone()}", *CITY_BOX.bounds)
    assert grids_service.metric_crs(shanghai) == f"EPSG:{own_zone()}"
    assert grids_service.metric_crs_warning(shanghai) is None


def test_coverage_is_measured_in_the_stored_zone(shanghai: Session) -> None:
    grids_service.remember_metric_crs(shanghai)
    inputs = store.load_inputs(shanghai, DISTRICT)
    to_own = Transformer.from_crs(4326, own_zone(), always_xy=True)
    expected = to_own.transform(*CITY_BOX.exterior.xy)
    got = inputs.grids["geometry"].iloc[0]
    assert got.bounds == pytest.approx(
        (min(expected[0]), min(expected[1]), max(expected[0]), max(expected[1])), abs=1e-6
    )
    assert covered_residents(shanghai) == PERSONS


def test_a_named_setting_overrides_the_stored_zone_and_says_so(
    shanghai: Session, named_crs: str
) -> None:
    grids_service.remember_metric_crs(shanghai)
    assert grids_service.metric_crs(shanghai) == named_crs
    warning = grids_service.metric_crs_warning(shanghai)
    assert warning is not None and named_crs in warning and f"EPSG:{own_zone()}" in warning
    assert covered_residents(shanghai) == 0


def test_no_districts_no_stored_zone(shanghai: Session) -> None:
    grids_service.remember_metric_crs(shanghai)
    shanghai.execute(text(RETIRE_DISTRICTS))
    assert grids_service.remember_metric_crs(shanghai) is None
    assert shanghai.scalar(text("SELECT count(*) FROM city_metric_crs")) == 0
    assert grids_service.metric_crs(shanghai) == get_settings().metric_crs


@pytest.fixture
def city_box_with_shanghai(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """The city's box grown to hold Shanghai: its centre then lies in UTM 50N, not 51N."""
    monkeypatch.setenv("GRIDSVC_CITY_BBOX", "106.7,30.0,122.0,40.8")
    get_settings.cache_clear()
    yield int(get_settings().metric_crs.split(":")[-1])
    monkeypatch.undo()
    get_settings.cache_clear()


def test_what_if_and_siting_place_points_in_the_stored_zone(
    shanghai: Session, city_box_with_shanghai: int
) -> None:
    """A facility put back where it stood covers the resident again; a site is where asked."""
    assert city_box_with_shanghai != own_zone()
    grids_service.remember_metric_crs(shanghai)
    circle = coverage_service.resolve_circle(shanghai, None, ["crs_test_station"], 1000.0)
    facility = shanghai.scalar(
        text("SELECT id FROM facilities WHERE type_code = 'crs_test_station'")
    )
    place = planning.Place(*FACILITY)
    change = planning.Change([("crs_test_station", place)], [], [facility])
    answer = planning.what_if(shanghai, circle, "euclidean", "population", DISTRICT, change)
    assert (answer["covered_before"], answer["covered_after"]) == (PERSONS, PERSONS)
    moved = planning.Change([], [(facility, planning.Place(*resident_place()))], [])
    answer = planning.what_if(shanghai, circle, "euclidean", "population", DISTRICT, moved)
    assert answer["covered_after"] == PERSONS
    shanghai.execute(text("DELETE FROM facilities WHERE id = :id"), {"id": facility})
    ask = planning.SitingAsk(1, [planning.Place(*resident_place())])
    sites = planning.site(shanghai, circle, "euclidean", DISTRICT, ask)
    assert sites["residents_gained"] == PERSONS
    site = sites["sites"][0]
    assert (site["lon"], site["lat"]) == pytest.approx(resident_place(), abs=1e-7)


def test_the_ogc_api_offers_the_stored_zone(shanghai: Session) -> None:
    """Features in the city's own metric CRS: the one it lists, as pyproj projects them."""
    grids_service.remember_metric_crs(shanghai)
    uri = f"http://www.opengis.net/def/crs/EPSG/0/{own_zone()}"
    with TestClient(app_on(shanghai)) as client:
        listed = client.get("/ogc/collections/districts").json()["crs"]
        assert uri in listed and "http://www.opengis.net/def/crs/EPSG/0/32649" not in listed
        answer = client.get(f"/ogc/collections/districts/items/{DISTRICT}", params={"crs": uri})
    assert answer.status_code == 200 and answer.headers["content-crs"] == f"<{uri}>"
    got = shape(answer.json()["geometry"]).bounds
    x, y = Transformer.from_crs(4326, own_zone(), always_xy=True).transform(*CITY_BOX.exterior.xy)
    assert got == pytest.approx((min(x), min(y), max(x), max(y)), abs=1e-3)
