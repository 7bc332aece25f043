"""定期通报: the weekly, monthly or quarterly bulletin as one printable HTML document.

Pure: the period a day falls in, its Chinese title, and the page rendered from the figures
``bulletin_service`` gathers. The page needs nothing from outside (inline styles, no
scripts, no fonts or images fetched), so it prints and archives as it is.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader

from gridsvc.issues.indicators.definitions import INDICATORS

BULLETIN_PERIODS = ("week", "month", "quarter")
# The indicators a bulletin's tables show (all of them are in the CSV beside it).
SHOWN = (
    "registration_rate",
    "dispatch_rate",
    "closing_rate",
    "on_time_closing_rate",
    "rework_rate",
    "extension_rate",
    "satisfaction_rate",
    "escalation_rate",
)


def period_range(period: str, day: date) -> tuple[date, date]:
    """Return the first and last day of the week (Monday first), month or quarter of ``day``."""
    if period == "week":
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=6)
    if period == "month":
        start = day.replace(day=1)
    elif period == "quarter":
        start = day.replace(month=3 * ((day.month - 1) // 3) + 1, day=1)
    else:
        raise ValueError(f"a bulletin is for a week, month or quarter, not '{period}'")
    months = 1 if period == "month" else 3
    following = date(
        start.year + (start.month + months - 1) // 12, (start.month + months - 1) % 12 + 1, 1
    )
    return start, following - timedelta(days=1)


def previous_day(period: str, day: date) -> date:
    """Return a day of the period before the one ``day`` falls in."""
    return period_range(period, day)[0] - timedelta(days=1)


def period_title(period: str, start: date) -> str:
    """Return the period's Chinese name: 2025年第45周, 2025年11月, 2025年第4季度."""
    if period == "week":
        year, week, _ = start.isocalendar()
        return f"{year}年第{week}周"
    if period == "month":
        return f"{start.year}年{start.month}月"
    return f"{start.year}年第{(start.month - 1) // 3 + 1}季度"


def percent(figure: dict[str, Any] | None) -> str:
    """Show a rate as a percentage with its counts: ``87.5% (7/8)``; a dash when nothing counted."""
    if not figure or figure["value"] is None:
        return "—"
    return f"{figure['value'] * 100:.1f}% ({figure['numerator']:g}/{figure['denominator']:g})"


def change(current: dict[str, Any], previous: dict[str, Any]) -> str:
    """Show the change of a rate since the previous period in percentage points."""
    if current["value"] is None or previous["value"] is None:
        return "—"
    points = (current["value"] - previous["value"]) * 100
    return f"{points:+.1f}"


_environment = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parents[1] / "data"),
    autoescape=True,
    trim_blocks=True,
)


def render_html(figures: dict[str, Any]) -> str:
    """Render the bulletin page from ``figures.bulletin_figures``."""
    names = {indicator.key: indicator.name for indicator in INDICATORS}
    shown = [(key, names[key]) for key in SHOWN]
    return _environment.get_template("bulletin.html").render(
        **figures, shown=shown, names=names, percent=percent, change=change
    )
