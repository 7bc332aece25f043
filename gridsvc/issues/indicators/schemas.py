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


class LeagueWeight(BaseModel):
    """Points an indicator is worth in the composite score, and which way is better."""

    indicator: str
    points: float
    better: str


class LeagueRow(IndicatorRow):
    """One group of the league table: its score, rank and place on the red or black list."""

    score: float | None = Field(description="Composite score out of total_points.")
    points: dict[str, float] = Field(description="Points earned per weighted indicator.")
    ranked: bool = Field(description="False when too few reports (or nothing scored).")
    rank: int | None = Field(description="1 is best; equal scores share a rank.")
    list: str | None = Field(description="'red' (红榜), 'black' (黑榜) or null.")


class LeagueTable(BaseModel):
    """红黑榜 of the cases reported from ``from`` to ``to``."""

    from_: str = Field(alias="from")
    to: str
    by: str
    time_zone: str
    counted_at: str
    weights: list[LeagueWeight]
    total_points: float
    min_reports: int
    rows: list[LeagueRow]
