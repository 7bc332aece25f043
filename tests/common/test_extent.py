"""The city's extent: the bbox setting plus the margin, checked without a database."""

from __future__ import annotations

import math

import pytest

from gridsvc.common.errors import InvalidParameterError
from gridsvc.common.extent import check_in_city, city_area, grown, outside_city_reason
from gridsvc.config import Settings

ORDOS = Settings(city_bbox="106.7,37.6,111.5,40.8", import_extent_margin_km=50)


def test_the_margin_is_kilometres_on_every_side():
    west, south, east, north = grown((110.0, 39.0, 111.0, 40.0), 111.32)
    assert (south, north) == pytest.approx((38.0, 41.0))
    assert (east - 111.0) == pytest.approx(1 / math.cos(math.radians(39.5)))
    assert west == pytest.approx(110.0 - (east - 111.0))


@pytest.mark.parametrize(
    ("lon", "lat", "reason"),
    [
        (109.78, 39.61, None),  # Kangbashi
        (111.9, 39.6, None),  # beyond the box, within the margin
        (0.0, 0.0, "far outside the city: lon 0, lat 0"),
        (116.4, 39.9, "far outside the city: lon 116.4, lat 39.9"),
        (120.15, 30.28, "more than 50 km from the city's extent 106.7,37.6,111.5,40.8"),
    ],
)
def test_outside_city_reasons(lon: float, lat: float, reason: str | None):
    found = outside_city_reason(lon, lat, ORDOS)
    assert found is None if reason is None else reason in found


def test_swapped_coordinates_are_named_as_such():
    # A city whose box holds its swapped coordinates too: lon/lat around 30.
    city = Settings(city_bbox="29.0,31.0,30.0,32.0", import_extent_margin_km=10)
    assert "look swapped" in outside_city_reason(31.5, 29.5, city)
    assert outside_city_reason(29.5, 31.5, city) is None


def test_check_in_city_names_the_field(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("gridsvc.common.extent.get_settings", lambda: ORDOS)
    assert city_area()[0] < 106.7
    check_in_city(109.78, 39.61, "add[0].")
    with pytest.raises(InvalidParameterError) as refused:
        check_in_city(116.4, 39.9, "add[2].")
    assert refused.value.loc == ["body", "add", 2, "lon"]
    assert refused.value.message.startswith("body field 'add[2].lon': far outside the city")
    with pytest.raises(InvalidParameterError) as refused:
        check_in_city(0, 0, location="body", lon_field="long")
    assert refused.value.message.startswith("body field 'long'")
