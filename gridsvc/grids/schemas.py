"""GeoJSON shapes of districts and grids, as the API serves them (documents the OpenAPI)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gridsvc.common.geojson import CollectionBase, Geometry


class DistrictProperties(BaseModel):
    """A district's code, name and totals over its current grids."""

    code: str = Field(examples=["150602"], description="6-digit division code.")
    name: str
    area_km2: float = Field(description="Area on the ground (geography), km².")
    population: int = Field(description="Sum of the population of its current grids.")
    grid_count: int = Field(description="Number of its current grids.")


class DistrictFeature(BaseModel):
    """A current district as a GeoJSON Feature."""

    type: Literal["Feature"] = "Feature"
    id: str
    geometry: Geometry
    properties: DistrictProperties


class DistrictCollection(BaseModel):
    """Every current district."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[DistrictFeature]


class GridProperties(BaseModel):
    """A grid's code, place in the hierarchy, residents and workers."""

    code: str = Field(examples=["150602001001001"], description="15-digit grid code.")
    name: str
    district_code: str
    street_code: str
    community_code: str
    community_name: str
    population: int
    households: int
    grid_workers: int
    area_km2: float = Field(description="Area on the ground (geography), km².")
    generation: int
    valid_from: str = Field(description="Start of validity, ISO 8601.")


class GridFeature(BaseModel):
    """A current grid as a GeoJSON Feature; ``id`` is the grid code."""

    type: Literal["Feature"] = "Feature"
    id: str
    geometry: Geometry
    properties: GridProperties


class GridCollection(CollectionBase):
    """A page of current grids, ordered by code."""

    features: list[GridFeature]


class RebalanceApply(BaseModel):
    """A reviewed proposal to apply: its scope, band and measure, and the id reviewed."""

    model_config = ConfigDict(extra="forbid")

    district: str | None = Field(None, description="6-digit district code (one scope only).")
    street: str | None = Field(None, description="9-digit street code.")
    community: str | None = Field(None, description="12-digit community code.")
    households: str | None = Field(
        None, examples=["300-500"], description="Band LOW-HIGH of load per grid."
    )
    by: Literal["households", "residents", "grid_workers"] = "households"
    proposal_id: str = Field(
        pattern=r"^[0-9a-f]{16}$", description="The id of the proposal reviewed."
    )
