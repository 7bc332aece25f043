"""The shape of the indicators' answer: every rate beside its numerator and denominator."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Figure(BaseModel):
    """One indicator of one row; ``value`` is None when the denominator is 0."""

    value: float | None
    numerator: int | float
    denominator: int | float


class IndicatorRow(BaseModel):
    """The counts and indicators of one group in one period."""

    period_start: str = Field(description="The period's first day counted (local date).")
    code: str = Field(description="The group's code; '(none)' for cases without one.")
    name: str | None
    counts: dict[str, int | float]
    indicators: dict[str, Figure]


class IndicatorDefinition(BaseModel):
    """What an indicator is: its names and the counts it divides."""

    key: str
    name: str
    name_en: str
    numerator: str
    denominator: str
    formula: str


class CountDefinition(BaseModel):
    """What a count counts."""

    key: str
    name: str
    name_en: str
    definition: str


class IndicatorTable(BaseModel):
    """The indicators of the cases reported from ``from`` to ``to``, per period and group."""

    from_: str = Field(alias="from")
    to: str
    by: str
    period: str
    time_zone: str
    counted_at: str = Field(description="The moment the events were counted.")
    indicators: list[IndicatorDefinition]
    counts: list[CountDefinition]
    rows: list[IndicatorRow]
