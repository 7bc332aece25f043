"""RFC 7946 GeoJSON pieces: bounding boxes, features, paged feature collections.

Geometries arrive here already serialized by PostGIS (``ST_AsGeoJSON``), so a listing
never round-trips coordinates through shapely.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gridsvc.common.errors import InvalidParameterError

GEOJSON_MEDIA_TYPE = "application/geo+json"


@dataclass(frozen=True)
class BBox:
    """A lon/lat bounding box in EPSG:4326 (west, south, east, north)."""

    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float


def parse_bbox(text: str, parameter: str = "bbox") -> BBox:
    """Parse ``minlon,minlat,maxlon,maxlat`` (degrees, EPSG:4326) into a :class:`BBox`.

    Parameters
    ----------
    text
        The parameter's value as given.
    parameter
        The parameter's name, used in the error message.

    Raises
    ------
    InvalidParameterError
        When the value is not four finite numbers, lies outside [-180, 180] x [-90, 90],
        or a minimum exceeds its maximum (boxes across the antimeridian are not supported).
    """
    box = BBox(*four_numbers(text, parameter))
    check_box_limits(box, parameter)
    return box


def four_numbers(text: str, parameter: str) -> list[float]:
    """Read the four finite numbers of ``text``; raise InvalidParameterError otherwise."""
    parts = [part.strip() for part in text.split(",")]
    if len(parts) != 4:
        raise InvalidParameterError(
            parameter,
            f"expected 4 comma-separated numbers minlon,minlat,maxlon,maxlat, "
            f"got {len(parts)} value(s) in '{text}'",
        )
    try:
        values = [float(part) for part in parts]
    except ValueError:
        raise InvalidParameterError(
            parameter, f"'{text}' is not 4 numbers minlon,minlat,maxlon,maxlat"
        ) from None
    if not all(math.isfinite(value) for value in values):
        raise InvalidParameterError(parameter, f"'{text}' holds a value that is not finite")
    return values


def check_box_limits(box: BBox, parameter: str) -> None:
    """Raise InvalidParameterError if ``box`` leaves the globe or a minimum passes its maximum."""
    for name, value, limit in (
        ("minlon", box.min_lon, 180),
        ("maxlon", box.max_lon, 180),
        ("minlat", box.min_lat, 90),
        ("maxlat", box.max_lat, 90),
    ):
        if abs(value) > limit:
            raise InvalidParameterError(
                parameter, f"{name} {value:g} is outside [-{limit}, {limit}]"
            )
    if box.min_lon > box.max_lon:
        raise InvalidParameterError(
            parameter, f"minlon {box.min_lon:g} is greater than maxlon {box.max_lon:g}"
        )
    if box.min_lat > box.max_lat:
        raise InvalidParameterError(
            parameter, f"minlat {box.min_lat:g} is greater than maxlat {box.max_lat:g}"
        )


def feature(
    geometry_geojson: str, properties: dict[str, Any], feature_id: str | int | None = None
) -> dict[str, Any]:
    """Build a GeoJSON Feature from PostGIS's serialized geometry and a properties mapping."""
    result: dict[str, Any] = {"type": "Feature"}
    if feature_id is not None:
        result["id"] = feature_id
    result["geometry"] = json.loads(geometry_geojson)
    result["properties"] = properties
    return result


@dataclass
class FeaturePage:
    """One page of a filtered listing: how many features match in all, and this page's."""

    number_matched: int
    features: list[dict[str, Any]] = field(default_factory=list)


def feature_collection(
    features: list[dict[str, Any]],
    number_matched: int | None = None,
    links: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Build a FeatureCollection with OGC API - Features' ``numberMatched``/``numberReturned``."""
    collection: dict[str, Any] = {"type": "FeatureCollection"}
    if number_matched is not None:
        collection["numberMatched"] = number_matched
        collection["numberReturned"] = len(features)
    if links is not None:
        collection["links"] = links
    collection["features"] = features
    return collection


class Geometry(BaseModel):
    """A GeoJSON geometry: lon/lat positions in EPSG:4326."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["MultiPolygon"])
    coordinates: list[Any]


class Link(BaseModel):
    """A link as OGC API - Features writes them (``next``, ``prev``, ``self``)."""

    href: str
    rel: str
    type: str = GEOJSON_MEDIA_TYPE
    title: str | None = None


class CollectionBase(BaseModel):
    """The members every paged FeatureCollection has besides its features."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    numberMatched: int = Field(description="Features matching the filters, on all pages.")
    numberReturned: int = Field(description="Features on this page.")
    links: list[Link] = Field(default_factory=list)
