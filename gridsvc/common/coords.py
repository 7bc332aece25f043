"""Chinese coordinate systems: GCJ-02 and BD-09 to and from WGS-84.

Phones report GPS positions in WGS-84, but maps published in China must use
GCJ-02 ("Mars coordinates"), the national obfuscation of WGS-84 by a
non-linear offset of a few hundred metres. Amap (Gaode), Tencent Maps and
Google's China tiles serve GCJ-02. Baidu adds a second, smaller offset on
top of GCJ-02 and calls the result BD-09 (``bd09ll`` in its APIs).

The transforms here are the publicly documented algorithm, as found in
open-source libraries such as eviltransform and coordtransform: the GCJ-02
offset on the Krasovsky 1940 ellipsoid and Baidu's polar shift. Outside a
rectangle around China (:func:`out_of_china`) both offsets are zero.

Neither forward transform has a closed-form inverse. The inverses here start
from the usual one-step approximation and refine it by fixed-point iteration
on the forward transform until the forward image of the estimate lies within
:data:`INVERSE_TOLERANCE_DEGREES` of the input (about 0.1 mm), far inside the
0.1 m the service promises. The offsets change by less than 1 % of a shift
per unit shift, so each step gains about two digits.

Every function takes scalars or arrays of longitudes and latitudes in degrees
(broadcast against each other) and returns a pair of the same shape.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "BD09_X_PI",
    "INVERSE_TOLERANCE_DEGREES",
    "KRASOVSKY_ECCENTRICITY_SQUARED",
    "KRASOVSKY_SEMI_MAJOR_AXIS",
    "MAX_INVERSE_ITERATIONS",
    "CoordinateSystem",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "from_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "out_of_china",
    "parse_coordinate_system",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

#: Semi-major axis (m) of the Krasovsky 1940 ellipsoid used by GCJ-02.
KRASOVSKY_SEMI_MAJOR_AXIS = 6378245.0
#: Squared first eccentricity of the Krasovsky 1940 ellipsoid, as published.
KRASOVSKY_ECCENTRICITY_SQUARED = 0.00669342162296594323
#: Baidu's angular constant, pi * 3000 / 180.
BD09_X_PI = math.pi * 3000.0 / 180.0
#: Baidu's constant translation of BD-09 from GCJ-02, in degrees.
_BD09_LON_SHIFT = 0.0065
_BD09_LAT_SHIFT = 0.006

#: An inverse stops when the forward image is this close to the input (~0.1 mm).
INVERSE_TOLERANCE_DEGREES = 1e-9
#: An inverse stops after this many refinements even if not converged.
MAX_INVERSE_ITERATIONS = 30

Coordinates = tuple[NDArray[np.float64] | float, NDArray[np.float64] | float]
_Transform = Callable[[NDArray[np.float64], NDArray[np.float64]], Coordinates]


class CoordinateSystem(StrEnum):
    """A coordinate system a point may arrive in; usable as a pydantic/FastAPI field type."""

    WGS84 = "wgs84"
    GCJ02 = "gcj02"
    BD09 = "bd09"


_ALIASES: dict[str, CoordinateSystem] = {
    "wgs84": CoordinateSystem.WGS84,
    "wgs-84": CoordinateSystem.WGS84,
    "epsg:4326": CoordinateSystem.WGS84,
    "gcj02": CoordinateSystem.GCJ02,
    "gcj-02": CoordinateSystem.GCJ02,
    "bd09": CoordinateSystem.BD09,
    "bd-09": CoordinateSystem.BD09,
    "bd09ll": CoordinateSystem.BD09,
}


def parse_coordinate_system(crs: str | CoordinateSystem) -> CoordinateSystem:
    """Return the coordinate system ``crs`` names, ignoring case.

    Parameters
    ----------
    crs : str or CoordinateSystem
        ``'wgs84'`` (also ``'EPSG:4326'``), ``'gcj02'`` or ``'bd09'`` (also ``'bd09ll'``).

    Raises
    ------
    ValueError
        If ``crs`` names none of them; the message lists the accepted values.
    """
    try:
        return _ALIASES[str(crs).strip().lower()]
    except KeyError:
        accepted = ", ".join(repr(name) for name in _ALIASES)
        raise ValueError(f"unknown coordinate system {crs!r}; accepted: {accepted}") from None


def _as_arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    lon_array, lat_array = np.broadcast_arrays(
        np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    )
    return lon_array.copy(), lat_array.copy()


def _shaped(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> Coordinates:
    # ``[()]`` turns a 0-d array into a numpy scalar and leaves other arrays alone.
    return lon[()], lat[()]


def out_of_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_] | bool:
    """Tell whether points lie outside the public algorithm's rectangle around China.

    Outside it the GCJ-02 and BD-09 offsets are zero. The rectangle is coarse: it
    also covers neighbouring countries, where the offset is applied all the same.

    Parameters
    ----------
    lon, lat : float or array_like
        Longitudes and latitudes in degrees.

    Returns
    -------
    bool or numpy.ndarray of bool
        True where the point is outside China, in the broadcast shape of the inputs.
    """
    lon_array, lat_array = _as_arrays(lon, lat)
    outside = (lon_array < 72.004) | (lon_array > 137.8347)
    outside |= (lat_array < 0.8293) | (lat_array > 55.8271)
    return outside[()]


def _gcj02_offset_metres(
    x: NDArray[np.float64], y: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    # The published polynomial-and-sine offset, in metres on the ellipsoid,
    # of a point at x degrees east of 105 E and y degrees north of 35 N.
    pi = math.pi
    shared = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    root = np.sqrt(np.abs(x))
    north = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * root + shared
    north += (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    north += (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    east = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * root + shared
    east += (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    east += (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    return east, north


def _gcj02_offset_degrees(
    lon: NDArray[np.float64], lat: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """GCJ-02 minus WGS-84 at the given WGS-84 points; zero outside China."""
    east, north = _gcj02_offset_metres(lon - 105.0, lat - 35.0)
    radians = np.radians(lat)
    magic = 1.0 - KRASOVSKY_ECCENTRICITY_SQUARED * np.sin(radians) ** 2
    sqrt_magic = np.sqrt(magic)
    meridian_radius = KRASOVSKY_SEMI_MAJOR_AXIS * (1.0 - KRASOVSKY_ECCENTRICITY_SQUARED)
    meridian_radius = meridian_radius / (magic * sqrt_magic)
    parallel_radius = KRASOVSKY_SEMI_MAJOR_AXIS / sqrt_magic * np.cos(radians)
    d_lat = north * 180.0 / (meridian_radius * math.pi)
    d_lon = east * 180.0 / (parallel_radius * math.pi)
    outside = out_of_china(lon, lat)
    return np.where(outside, 0.0, d_lon), np.where(outside, 0.0, d_lat)


def _invert(
    forward: _Transform,
    target_lon: NDArray[np.float64],
    target_lat: NDArray[np.float64],
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Refine ``(lon, lat)`` until ``forward(lon, lat)`` is within tolerance of the target.

    Fixed-point iteration: move the estimate by the forward image's miss. The
    forward offsets are near-constant (Jacobian within about 1 % of identity),
    so this contracts fast. Outside China the target is returned unchanged.
    """
    outside = np.asarray(out_of_china(target_lon, target_lat))
    lon = np.where(outside, target_lon, lon)
    lat = np.where(outside, target_lat, lat)
    for _ in range(MAX_INVERSE_ITERATIONS):
        image_lon, image_lat = forward(lon, lat)
        miss_lon = np.where(outside, 0.0, np.asarray(image_lon) - target_lon)
        miss_lat = np.where(outside, 0.0, np.asarray(image_lat) - target_lat)
        # A point stops moving once it has converged, so its result does not depend on
        # the other points in the call. NaN never converges but ``>=`` leaves it alone.
        moving = np.maximum(np.abs(miss_lon), np.abs(miss_lat)) >= INVERSE_TOLERANCE_DEGREES
        if not np.any(moving):
            break
        lon = np.where(moving, lon - miss_lon, lon)
        lat = np.where(moving, lat - miss_lat, lat)
    return lon, lat


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> Coordinates:
    """Convert WGS-84 coordinates to GCJ-02.

    Parameters
    ----------
    lon, lat : float or array_like
        WGS-84 longitudes and latitudes in degrees.

    Returns
    -------
    lon, lat : float or numpy.ndarray
        GCJ-02 longitudes and latitudes, in the broadcast shape of the inputs;
        unchanged outside China.
    """
    lon_array, lat_array = _as_arrays(lon, lat)
    d_lon, d_lat = _gcj02_offset_degrees(lon_array, lat_array)
    return _shaped(lon_array + d_lon, lat_array + d_lat)


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> Coordinates:
    """Convert GCJ-02 coordinates to WGS-84 by iterating on :func:`wgs84_to_gcj02`.

    Parameters
    ----------
    lon, lat : float or array_like
        GCJ-02 longitudes and latitudes in degrees.

    Returns
    -------
    lon, lat : float or numpy.ndarray
        WGS-84 longitudes and latitudes whose GCJ-02 image is within
        :data:`INVERSE_TOLERANCE_DEGREES` of the input; unchanged outside China.
    """
    lon_array, lat_array = _as_arrays(lon, lat)
    # The one-step approximation (subtract the offset at the GCJ-02 point) misses by up to ~5 m.
    d_lon, d_lat = _gcj02_offset_degrees(lon_array, lat_array)
    estimate = (lon_array - d_lon, lat_array - d_lat)
    return _shaped(*_invert(wgs84_to_gcj02, lon_array, lat_array, *estimate))


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> Coordinates:
    """Convert GCJ-02 coordinates to BD-09 (Baidu's ``bd09ll``).

    Parameters
    ----------
    lon, lat : float or array_like
        GCJ-02 longitudes and latitudes in degrees.

    Returns
    -------
    lon, lat : float or numpy.ndarray
        BD-09 longitudes and latitudes; unchanged outside China.
    """
    lon_array, lat_array = _as_arrays(lon, lat)
    radius = np.hypot(lon_array, lat_array) + 0.00002 * np.sin(lat_array * BD09_X_PI)
    angle = np.arctan2(lat_array, lon_array) + 0.000003 * np.cos(lon_array * BD09_X_PI)
    outside = out_of_china(lon_array, lat_array)
    bd_lon = np.where(outside, lon_array, radius * np.cos(angle) + _BD09_LON_SHIFT)
    bd_lat = np.where(outside, lat_array, radius * np.sin(angle) + _BD09_LAT_SHIFT)
    return _shaped(bd_lon, bd_lat)


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> Coordinates:
    """Convert BD-09 coordinates to GCJ-02 by iterating on :func:`gcj02_to_bd09`.

    The published "exact" inverse evaluates the perturbations at the wrong point
    and misses by up to about 0.2 m; it is used here only as the start.

    Parameters
    ----------
    lon, lat : float or array_like
        BD-09 longitudes and latitudes in degrees.

    Returns
    -------
    lon, lat : float or numpy.ndarray
        GCJ-02 longitudes and latitudes whose BD-09 image is within
        :data:`INVERSE_TOLERANCE_DEGREES` of the input; unchanged outside China.
    """
    lon_array, lat_array = _as_arrays(lon, lat)
    x = lon_array - _BD09_LON_SHIFT
    y = lat_array - _BD09_LAT_SHIFT
    radius = np.hypot(x, y) - 0.00002 * np.sin(y * BD09_X_PI)
    angle = np.arctan2(y, x) - 0.000003 * np.cos(x * BD09_X_PI)
    estimate = (radius * np.cos(angle), radius * np.sin(angle))
    return _shaped(*_invert(gcj02_to_bd09, lon_array, lat_array, *estimate))


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> Coordinates:
    """Convert WGS-84 coordinates to BD-09, through GCJ-02.

    Parameters
    ----------
    lon, lat : float or array_like
        WGS-84 longitudes and latitudes in degrees.

    Returns
    -------
    lon, lat : float or numpy.ndarray
        BD-09 longitudes and latitudes; unchanged outside China.
    """
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> Coordinates:
    """Convert BD-09 coordinates to WGS-84, through GCJ-02.

    Parameters
    ----------
    lon, lat : float or array_like
        BD-09 longitudes and latitudes in degrees.

    Returns
    -------
    lon, lat : float or numpy.ndarray
        WGS-84 longitudes and latitudes; unchanged outside China.
    """
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def _identity(lon: ArrayLike, lat: ArrayLike) -> Coordinates:
    return _shaped(*_as_arrays(lon, lat))


_TO_WGS84: dict[CoordinateSystem, Callable[[ArrayLike, ArrayLike], Coordinates]] = {
    CoordinateSystem.WGS84: _identity,
    CoordinateSystem.GCJ02: gcj02_to_wgs84,
    CoordinateSystem.BD09: bd09_to_wgs84,
}
_FROM_WGS84: dict[CoordinateSystem, Callable[[ArrayLike, ArrayLike], Coordinates]] = {
    CoordinateSystem.WGS84: _identity,
    CoordinateSystem.GCJ02: wgs84_to_gcj02,
    CoordinateSystem.BD09: wgs84_to_bd09,
}


def to_wgs84(lon: ArrayLike, lat: ArrayLike, crs: str | CoordinateSystem) -> Coordinates:
    """Convert coordinates given in ``crs`` to WGS-84, the system points are stored in.

    Parameters
    ----------
    lon, lat : float or array_like
        Longitudes and latitudes in degrees, in ``crs``.
    crs : str or CoordinateSystem
        ``'wgs84'``, ``'gcj02'`` or ``'bd09'``; see :func:`parse_coordinate_system`.

    Returns
    -------
    lon, lat : float or numpy.ndarray
        WGS-84 longitudes and latitudes, in the broadcast shape of the inputs.

    Raises
    ------
    ValueError
        If ``crs`` is not an accepted name.
    """
    return _TO_WGS84[parse_coordinate_system(crs)](lon, lat)


def from_wgs84(lon: ArrayLike, lat: ArrayLike, crs: str | CoordinateSystem) -> Coordinates:
    """Convert WGS-84 coordinates to ``crs``, e.g. to draw them on a GCJ-02 base map.

    Parameters
    ----------
    lon, lat : float or array_like
        WGS-84 longitudes and latitudes in degrees.
    crs : str or CoordinateSystem
        ``'wgs84'``, ``'gcj02'`` or ``'bd09'``; see :func:`parse_coordinate_system`.

    Returns
    -------
    lon, lat : float or numpy.ndarray
        Longitudes and latitudes in ``crs``, in the broadcast shape of the inputs.

    Raises
    ------
    ValueError
        If ``crs`` is not an accepted name.
    """
    return _FROM_WGS84[parse_coordinate_system(crs)](lon, lat)
