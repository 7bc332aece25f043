"""The command centre's indicators (考核指标), each defined once: name, numerator, denominator.

Every indicator is a ratio of two counts of cases, so a supervisor can recompute it from the
numerator and denominator shown beside it. The counts are over one cohort: the cases reported
in the period (the city's time zone), as their events stand at the moment of counting.

应结案数 (``due``, cases due to close) are the cohort's registered cases that were closed, or
that are still open, not suspended, and past the deadline then running: a case whose deadline
has not come yet is not held against anyone. The closing rates use it as denominator.

Pure definitions and arithmetic; the counting in SQL is ``indicator_service``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["COUNTS", "INDICATORS", "Count", "Indicator", "finish_row", "flat_columns", "rate"]


@dataclass(frozen=True)
class Count:
    """A count of cases (or a sum of hours) of one group in one period."""

    key: str
    name: str  # Chinese, as bulletins print it
    name_en: str
    definition: str


@dataclass(frozen=True)
class Indicator:
    """A rate: ``numerator / denominator``, both keys of :data:`COUNTS`."""

    key: str
    name: str
    name_en: str
    numerator: str
    denominator: str
    digits: int = 4  # rates to 4 decimals; hours to 2

    def value(self, counts: dict[str, float]) -> dict[str, Any]:
        """Return ``{value, numerator, denominator}`` of this indicator from one row's counts."""
        numerator, denominator = counts[self.numerator], counts[self.denominator]
        return {
            "value": rate(numerator, denominator, self.digits),
            "numerator": numerator,
            "denominator": denominator,
        }

    @property
    def formula(self) -> str:
        """The formula in words, as the README and the spreadsheet print it."""
        names = {count.key: count.name for count in (*COUNTS, *WHISTLE_COUNTS)}
        return f"{names[self.numerator]} / {names[self.denominator]}"


COUNTS: tuple[Count, ...] = (
    Count("reports", "受理数", "reports", "cases reported in the period"),
    Count("registered", "立案数", "registered", "reports registered (立案) at least once"),
    Count(
        "dispatched",
        "派遣数",
        "dispatched",
        "registered cases dispatched or whistled to a department, or taken by the grid itself",
    ),
    Count(
        "due",
        "应结案数",
        "due to close",
        "registered cases closed, or open (not suspended) and past the running deadline",
    ),
    Count("closed", "结案数", "closed", "cases closed (结案) and not reopened since"),
    Count(
        "closed_on_time",
        "按期结案数",
        "closed on time",
        "closed cases of which no step came after the deadline then running",
    ),
    Count("reworked", "返工数", "reworked", "cases due to close that were sent back or reopened"),
    Count("extended", "延期数", "extended", "cases due to close granted an extension (延期)"),
    Count(
        "resolved",
        "解决数",
        "resolved first time",
        "closed cases never reopened (solved the first time)",
    ),
    Count(
        "responded_on_time",
        "按时响应数",
        "responded in time",
        "reports whose first registration or rejection came within the registration deadline",
    ),
    Count("rated", "参评数", "rated", "closed cases the reporter rated"),
    Count("satisfied", "满意数", "satisfied", "rated cases whose latest rating is 4 or 5"),
    Count("escalated", "督办数", "escalated", "cases put under supervision (督办) at least once"),
    Count(
        "escalated_closed", "督办办结数", "escalated and closed", "escalated cases that are closed"
    ),
    Count(
        "hours_to_register",
        "立案用时合计(小时)",
        "hours to registration, summed",
        "hours from the report to its first registration, summed over registered cases",
    ),
)

INDICATORS: tuple[Indicator, ...] = (
    Indicator("registration_rate", "立案率", "registration rate", "registered", "reports"),
    Indicator("dispatch_rate", "派遣率", "dispatch rate", "dispatched", "registered"),
    Indicator("closing_rate", "结案率", "closing rate", "closed", "due"),
    Indicator(
        "on_time_closing_rate", "按期结案率", "on-time closing rate", "closed_on_time", "due"
    ),
    Indicator("rework_rate", "返工率", "rework rate", "reworked", "due"),
    Indicator("extension_rate", "延期率", "extension rate", "extended", "due"),
    Indicator("response_rate", "响应率", "response rate", "responded_on_time", "reports"),
    Indicator("resolution_rate", "解决率", "resolution rate", "resolved", "due"),
    Indicator("satisfaction_rate", "满意率", "satisfaction rate", "satisfied", "rated"),
    Indicator("escalation_rate", "督办率", "escalation rate", "escalated", "reports"),
    Indicator(
        "escalation_closing_rate",
        "督办办结率",
        "escalated cases closed",
        "escalated_closed",
        "escalated",
    ),
    Indicator(
        "mean_hours_to_register",
        "平均立案用时(小时)",
        "mean hours to registration",
        "hours_to_register",
        "registered",
        digits=2,
    ),
)


# 吹哨报到's "double assessment": counted per (case, summoned department), by department.
WHISTLE_COUNTS: tuple[Count, ...] = (
    Count("summoned", "被吹哨次数", "summoned", "cases whose whistle summoned the department"),
    Count("signed_in", "报到数", "signed in", "of those, the department signed in (报到)"),
    Count("reported", "反馈数", "reported", "of those, the department reported its part"),
    Count(
        "hours_to_sign_in",
        "报到用时合计(小时)",
        "hours to sign in, summed",
        "hours from the first whistle naming the department to its first sign-in, summed",
    ),
)
WHISTLE_INDICATORS: tuple[Indicator, ...] = (
    Indicator("sign_in_rate", "报到率", "sign-in rate", "signed_in", "summoned"),
    Indicator("part_report_rate", "反馈率", "part reported rate", "reported", "summoned"),
    Indicator(
        "mean_hours_to_sign_in",
        "平均报到用时(小时)",
        "mean hours to sign in",
        "hours_to_sign_in",
        "signed_in",
        digits=2,
    ),
)


def whistle_row(code: str, name: str | None, counts: dict[str, float]) -> dict[str, Any]:
    """One department's 吹哨报到 row: its counts and each indicator beside them."""
    counts = {count.key: counts[count.key] for count in WHISTLE_COUNTS}
    counts["hours_to_sign_in"] = round(counts["hours_to_sign_in"], 2)
    return {
        "code": code,
        "name": name,
        "counts": counts,
        "indicators": {i.key: i.value(counts) for i in WHISTLE_INDICATORS},
    }


def rate(numerator: float, denominator: float, digits: int = 4) -> float | None:
    """Return ``numerator / denominator`` rounded, or None when nothing was counted."""
    return round(numerator / denominator, digits) if denominator else None


def finish_row(
    period_start: str, code: str, name: str | None, counts: dict[str, float]
) -> dict[str, Any]:
    """One answer row: the group, its counts and every indicator beside its counts."""
    counts = {count.key: counts[count.key] for count in COUNTS}
    counts["hours_to_register"] = round(counts["hours_to_register"], 2)
    return {
        "period_start": period_start,
        "code": code,
        "name": name,
        "counts": counts,
        "indicators": {indicator.key: indicator.value(counts) for indicator in INDICATORS},
    }


def flat_columns() -> list[str]:
    """Column keys of a flat table (CSV, spreadsheet): group, then each rate with its counts."""
    columns = ["period_start", "code", "name"]
    for indicator in INDICATORS:
        columns += [
            indicator.key,
            f"{indicator.key}_numerator",
            f"{indicator.key}_denominator",
        ]
    return columns


def flat_labels() -> list[str]:
    """Chinese headings of :func:`flat_columns`, in the same order."""
    labels = ["期间起", "代码", "名称"]
    for indicator in INDICATORS:
        labels += [indicator.name, f"{indicator.name}分子", f"{indicator.name}分母"]
    return labels


def flat_row(row: dict[str, Any]) -> dict[str, Any]:
    """Flatten one answer row into :func:`flat_columns`."""
    flat = {"period_start": row["period_start"], "code": row["code"], "name": row["name"]}
    for key, figure in row["indicators"].items():
        flat[key] = figure["value"]
        flat[f"{key}_numerator"] = figure["numerator"]
        flat[f"{key}_denominator"] = figure["denominator"]
    return flat
