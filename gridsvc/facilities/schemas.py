"""Shapes of facility types and facilities, as the API serves them (documents the OpenAPI)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gridsvc.common.geojson import CollectionBase, Geometry


class FacilityTypeSummary(BaseModel):
    """A facility type and how many facilities of it there are."""

    model_config = ConfigDict(from_attributes=True)

    code: str = Field(examples=["practice_station"])
    name: str = Field(examples=["新时代文明实践站"])
    name_en: str = Field(examples=["Civilization practice station"])
    level: str = Field(examples=["community"])
    count: int = Field(description="Facilities of this type.")


class FacilityProperties(BaseModel):
    """A facility's type, name, capacity and where its record came from."""

    id: int
    type_code: str
    type_name: str
    name: str
    capacity: int | None
    source: str


class FacilityFeature(BaseModel):
    """A facility as a GeoJSON Point Feature; ``id`` is the facility id."""

    type: Literal["Feature"] = "Feature"
    id: int
    geometry: Geometry
    properties: FacilityProperties


class FacilityCollection(CollectionBase):
    """A page of facilities, ordered by id."""

    features: list[FacilityFeature]
