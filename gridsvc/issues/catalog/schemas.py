"""Request and response bodies of the catalogue API: categories, deadlines, routing rows."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class DepartmentRouteIn(BaseModel):
    """Which department handles a category in a district."""

    model_config = ConfigDict(extra="forbid")

    department: str


class DepartmentRouteOut(BaseModel):
    """A row of the routing table; ``default`` when no row overrides the category's own."""

    category: str
    district: str
    department: str
    default: bool


class CategoryOut(BaseModel):
    """A category, its default department and its stage deadlines."""

    code: str
    name: str
    name_en: str
    department: str
    deadlines: dict[str, str] = Field(description="Stage -> '4h' or '3d'.")
    urgent_deadlines: dict[str, str] = Field(
        description="Stage -> deadline of urgent (紧急) cases; a stage left out runs on "
        "``deadlines``."
    )
    after_photo_required: bool = Field(
        description="Resolving needs a photo after handling (POST .../photos?stage=after)."
    )
    retired_at: datetime | None = Field(
        description="Retired: kept for old cases, refused for new reports."
    )


class CategoryIn(BaseModel):
    """A category as an admin writes it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="Chinese name (环境卫生).")
    name_en: str = Field(min_length=1, max_length=200)
    department: str = Field(description="Default department code (GET /api/v1/departments).")
    deadlines: dict[str, str] | None = Field(
        None,
        description="Stage -> '4h' (working hours) or '3d' (working days); replaces every "
        "stage's deadline when given, leaves them alone when left out.",
    )
    urgent_deadlines: dict[str, str] | None = Field(
        None, description="The same for urgent (紧急) cases (more than 0 each)."
    )
    after_photo_required: bool | None = Field(
        None, description="Resolving needs an 'after' photo; left out: unchanged (new: no)."
    )


class DeadlineIn(BaseModel):
    """How long a stage may take."""

    model_config = ConfigDict(extra="forbid")

    deadline: str = Field(description="'4h' (working hours) or '3d' (working days).")
