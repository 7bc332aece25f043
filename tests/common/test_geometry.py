"""The degree bound of a distance in metres holds every point that near, by the geodesic."""

from __future__ import annotations

import pytest
from pyproj import Geod

from gridsvc.common.geometry import within_metres

WGS84_ELLIPSOID = Geod(ellps="WGS84")


@pytest.mark.parametrize("lat", [0.0, 22.5, 35.5, 39.6, 53.5])
@pytest.mark.parametrize("metres", [30.0, 500.0, 5_000.0])
def test_the_bound_reaches_past_the_distance_east_and_north(lat: float, metres: float) -> None:
    degrees = within_metres(metres, lat)
    _, _, east = WGS84_ELLIPSOID.inv(110.0, lat, 110.0 + degrees, lat)
    _, _, north = WGS84_ELLIPSOID.inv(110.0, lat, 110.0, lat + degrees)
    assert min(east, north) >= metres
    # ... and not by much: the prefilter stays a prefilter.
    assert east <= metres * 1.1
