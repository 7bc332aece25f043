"""GCJ-02 / BD-09 transforms: published vectors, round trips measured on the ellipsoid."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Geod

from gridsvc.common.coords import (
    CoordinateSystem,
    bd09_to_gcj02,
    bd09_to_wgs84,
    from_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    out_of_china,
    parse_coordinate_system,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

GEOD = Geod(ellps="WGS84")
ROUND_TRIP_LIMIT_METRES = 0.1
SAMPLE_SIZE = 10_000

# (lon, lat) extents: China's mainland and the Ordos municipality.
MAINLAND = ((73.7, 135.0), (18.2, 53.5))
ORDOS = ((106.7, 111.5), (37.6, 40.9))

# googollee/eviltransform python/test.py, TESTS: (wgs lat, wgs lng, gcj lat, gcj lng).
EVILTRANSFORM_WGS_GCJ = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]

# wandergis/coordtransform test/app.js: each function applied to (116.404, 39.915),
# Baidu's default map centre at Tiananmen.
COORDTRANSFORM_INPUT = (116.404, 39.915)
COORDTRANSFORM_WGS84_TO_GCJ02 = (116.41024449916938, 39.91640428150164)
COORDTRANSFORM_GCJ02_TO_BD09 = (116.41036949371029, 39.92133699351021)
# These two are the published one-step inverses, which are themselves approximate.
COORDTRANSFORM_BD09_TO_GCJ02 = (116.39762729119315, 39.90865673957631)
COORDTRANSFORM_GCJ02_TO_WGS84 = (116.39775550083061, 39.91359571849836)


def distance_metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def random_points(extent, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    (lon_min, lon_max), (lat_min, lat_max) = extent
    return rng.uniform(lon_min, lon_max, SAMPLE_SIZE), rng.uniform(lat_min, lat_max, SAMPLE_SIZE)


@pytest.mark.parametrize(("wgs_lat", "wgs_lon", "gcj_lat", "gcj_lon"), EVILTRANSFORM_WGS_GCJ)
def test_wgs84_to_gcj02_matches_eviltransform(wgs_lat, wgs_lon, gcj_lat, gcj_lon):
    lon, lat = wgs84_to_gcj02(wgs_lon, wgs_lat)
    assert lon == pytest.approx(gcj_lon, abs=1e-9)
    assert lat == pytest.approx(gcj_lat, abs=1e-9)


@pytest.mark.parametrize(("wgs_lat", "wgs_lon", "gcj_lat", "gcj_lon"), EVILTRANSFORM_WGS_GCJ)
def test_gcj02_to_wgs84_recovers_eviltransform_point(wgs_lat, wgs_lon, gcj_lat, gcj_lon):
    lon, lat = gcj02_to_wgs84(gcj_lon, gcj_lat)
    assert distance_metres(lon, lat, wgs_lon, wgs_lat) < 0.001


def test_forward_transforms_match_coordtransform():
    assert wgs84_to_gcj02(*COORDTRANSFORM_INPUT) == pytest.approx(
        COORDTRANSFORM_WGS84_TO_GCJ02, abs=1e-12
    )
    assert gcj02_to_bd09(*COORDTRANSFORM_INPUT) == pytest.approx(
        COORDTRANSFORM_GCJ02_TO_BD09, abs=1e-12
    )


@pytest.mark.parametrize(
    ("inverse", "forward", "published"),
    [
        (gcj02_to_wgs84, wgs84_to_gcj02, COORDTRANSFORM_GCJ02_TO_WGS84),
        (bd09_to_gcj02, gcj02_to_bd09, COORDTRANSFORM_BD09_TO_GCJ02),
    ],
)
def test_inverses_refine_coordtransform(inverse, forward, published):
    lon, lat = inverse(*COORDTRANSFORM_INPUT)
    # Close to the published approximation, and exact where it is not.
    assert distance_metres(lon, lat, *published) < 1.0
    assert distance_metres(*forward(lon, lat), *COORDTRANSFORM_INPUT) < 0.001
    assert distance_metres(*forward(*published), *COORDTRANSFORM_INPUT) > 0.01


@pytest.mark.parametrize(
    ("name", "lon", "lat"),
    [("Beijing, Tiananmen", 116.397428, 39.90923), ("Ordos, Kangbashi", 109.99, 39.82)],
)
def test_gcj02_offset_is_a_few_hundred_metres(name, lon, lat):
    shifted = wgs84_to_gcj02(lon, lat)
    assert 100.0 < distance_metres(lon, lat, *shifted) < 700.0, name
    assert 100.0 < distance_metres(lon, lat, *wgs84_to_bd09(lon, lat)) < 1500.0, name


@pytest.mark.parametrize(
    ("name", "lon", "lat"),
    [
        ("Tokyo", 139.69, 35.69),
        ("London", -0.1276, 51.5072),
        ("Pacific Ocean", -150.0, -20.0),
        ("Null Island", 0.0, 0.0),
    ],
)
def test_offsets_are_zero_outside_china(name, lon, lat):
    assert out_of_china(lon, lat), name
    for transform in (
        wgs84_to_gcj02,
        gcj02_to_wgs84,
        gcj02_to_bd09,
        bd09_to_gcj02,
        wgs84_to_bd09,
        bd09_to_wgs84,
    ):
        assert transform(lon, lat) == (lon, lat), (name, transform.__name__)


def test_out_of_china_rectangle():
    lon = np.array([72.0, 72.01, 137.83, 137.84, 110.0, 110.0, 110.0])
    lat = np.array([40.0, 40.0, 40.0, 40.0, 0.8, 0.83, 55.83])
    expected = [True, False, False, True, True, False, True]
    assert out_of_china(lon, lat).tolist() == expected


ROUND_TRIPS = [
    (wgs84_to_gcj02, gcj02_to_wgs84),
    (gcj02_to_wgs84, wgs84_to_gcj02),
    (gcj02_to_bd09, bd09_to_gcj02),
    (bd09_to_gcj02, gcj02_to_bd09),
    (wgs84_to_bd09, bd09_to_wgs84),
    (bd09_to_wgs84, wgs84_to_bd09),
]


@pytest.mark.parametrize(("extent", "seed"), [(MAINLAND, 1), (ORDOS, 2)], ids=["china", "ordos"])
@pytest.mark.parametrize(
    ("there", "back"), ROUND_TRIPS, ids=[f"{a.__name__}-back" for a, _ in ROUND_TRIPS]
)
def test_round_trip_within_a_decimetre(there, back, extent, seed):
    lon, lat = random_points(extent, seed)
    error = distance_metres(*back(*there(lon, lat)), lon, lat)
    print(f"{there.__name__} and back: max {error.max():.2e} m over {lon.size} points")
    assert error.max() < ROUND_TRIP_LIMIT_METRES


@pytest.mark.parametrize("transform", [t for t, _ in ROUND_TRIPS])
def test_vectorised_and_scalar_calls_agree(transform):
    lon, lat = random_points(ORDOS, 3)
    lon, lat = lon[:12].reshape(3, 4), lat[:12].reshape(3, 4)
    vector_lon, vector_lat = transform(lon, lat)
    assert vector_lon.shape == vector_lat.shape == (3, 4)
    for index in np.ndindex(lon.shape):
        scalar_lon, scalar_lat = transform(float(lon[index]), float(lat[index]))
        assert np.ndim(scalar_lon) == np.ndim(scalar_lat) == 0
        assert scalar_lon == pytest.approx(vector_lon[index], abs=1e-12)
        assert scalar_lat == pytest.approx(vector_lat[index], abs=1e-12)


def test_lists_broadcast_and_mixed_inside_outside():
    lon, lat = gcj02_to_wgs84([109.99, 139.69], 39.82)
    assert lon.shape == lat.shape == (2,)
    assert lon[1] == 139.69 and lat[1] == 39.82
    assert lon[0] != 109.99


def test_nan_propagates_without_stalling_the_others():
    lon, lat = gcj02_to_wgs84(np.array([np.nan, 109.99]), np.array([39.82, 39.82]))
    assert np.isnan(lon[0]) and np.isfinite(lon[1])
    assert distance_metres(*wgs84_to_gcj02(lon[1], lat[1]), 109.99, 39.82) < 0.001


@pytest.mark.parametrize(
    ("crs", "expected"),
    [
        ("wgs84", CoordinateSystem.WGS84),
        ("WGS84", CoordinateSystem.WGS84),
        ("EPSG:4326", CoordinateSystem.WGS84),
        ("GCJ02", CoordinateSystem.GCJ02),
        ("bd09", CoordinateSystem.BD09),
        ("BD09LL", CoordinateSystem.BD09),
        (CoordinateSystem.BD09, CoordinateSystem.BD09),
    ],
)
def test_parse_coordinate_system(crs, expected):
    assert parse_coordinate_system(crs) is expected


def test_entry_points_dispatch():
    lon, lat = 109.99, 39.82
    assert to_wgs84(lon, lat, "wgs84") == (lon, lat)
    assert from_wgs84(lon, lat, "EPSG:4326") == (lon, lat)
    assert from_wgs84(lon, lat, "gcj02") == wgs84_to_gcj02(lon, lat)
    assert from_wgs84(lon, lat, "bd09ll") == wgs84_to_bd09(lon, lat)
    assert to_wgs84(lon, lat, CoordinateSystem.GCJ02) == gcj02_to_wgs84(lon, lat)
    assert to_wgs84(lon, lat, "BD09") == bd09_to_wgs84(lon, lat)


@pytest.mark.parametrize("crs", ["utm", "", "EPSG:3857", "gcj"])
def test_unknown_coordinate_system_raises(crs):
    with pytest.raises(ValueError, match="accepted: 'wgs84'.*'gcj02'.*'bd09'"):
        to_wgs84(1.0, 2.0, crs)
    with pytest.raises(ValueError, match="unknown coordinate system"):
        from_wgs84(1.0, 2.0, crs)


def test_coordinate_system_is_a_str_enum():
    assert CoordinateSystem("gcj02") is CoordinateSystem.GCJ02
    assert CoordinateSystem.BD09 == "bd09"
    assert isinstance(CoordinateSystem.WGS84, str)
