"""Shapes of circles and of the what-if and siting requests (documents the OpenAPI)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from gridsvc.common.coords import CoordinateSystem

Mode = Literal["network", "euclidean"]
Weight = Literal["population", "area"]
Level = Literal["grid", "community", "street", "district", "city"]
Method = Literal["auto", "greedy", "exact", "both"]


class CircleOut(BaseModel):
    """A living circle: facility types expected within a walking threshold."""

    code: str = Field(examples=["culture_5min"])
    name: str = Field(examples=["5分钟文化娱乐圈"])
    name_en: str
    threshold_m: float = Field(description="Metres of walking (or straight distance).")
    range_m: list[float] = Field(description="The standard's range in metres.")
    minutes: float = Field(description="The circle's nominal minutes of walking.")
    facility_types: list[str]
    basis: str


class Position(BaseModel):
    """A point as a phone or a map gives it."""

    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    crs: CoordinateSystem = Field(CoordinateSystem.WGS84, description="wgs84, gcj02 or bd09.")


class AddFacility(Position):
    """A facility to add: its type and where."""

    type_code: str = Field(examples=["library"])


class MoveFacility(Position):
    """An existing facility (by id) moved to a new place."""

    id: int


class CircleChoice(BaseModel):
    """A named circle, or facility types and a threshold."""

    circle: str | None = Field(None, examples=["culture_5min"])
    types: list[str] | None = Field(None, description="Facility types, instead of a circle.")
    threshold_m: float | None = Field(None, gt=0, le=5000)
    mode: Mode = "network"
    district: str | None = Field(
        None, pattern=r"^[0-9]{6}$", description="Only this district (6 digits)."
    )


class WhatIfRequest(CircleChoice):
    """Facilities to add, move or remove; nothing stored changes."""

    weight: Weight = "population"
    add: list[AddFacility] = Field(default_factory=list)
    move: list[MoveFacility] = Field(default_factory=list)
    remove: list[int] = Field(default_factory=list, description="Ids of facilities to remove.")
    format: Literal["json", "geojson"] = Field(
        "json",
        description="json, or geojson: the changed facilities and the affected grids with "
        "their outlines and figures, in WGS-84 whatever crs the places came in.",
    )


class SitingRequest(CircleChoice):
    """Where k new facilities would cover the most residents the circle misses now."""

    k: int = Field(3, ge=1, le=200)
    candidates: Literal["gap_nodes"] | list[Position] = Field(
        "gap_nodes",
        description="'gap_nodes': walking-network nodes inside grids with uncovered residents; "
        "or a list of points.",
    )
    method: Method = Field(
        "auto",
        description="greedy (lazy greedy), exact (MILP with CBC), both (and the greedy's gap "
        "to the optimum), auto (both when the instance is small, else greedy).",
    )
    max_candidates: int = Field(3000, ge=1, le=20000)
    format: Literal["json", "geojson"] = Field(
        "json", description="json, or geojson: a FeatureCollection of the sites."
    )
    crs: CoordinateSystem = Field(
        CoordinateSystem.WGS84,
        description="Coordinate system of the sites' lon/lat in a json answer (gcj02 to draw "
        "them on a GCJ-02 base map); a geojson answer is WGS-84, as GeoJSON must be.",
    )
