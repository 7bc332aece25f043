"""红黑榜: groups ranked by a composite score whose weights are data (``data/league.json``).

Each weighted indicator earns ``points × value`` (``points × (1 − value)`` where lower is
better). An indicator without a value (denominator 0) is left out and the others are scaled
up to the full points, so a department is not rewarded or punished for what it never had.
A group with fewer than ``min_reports`` reports is listed but not ranked: two lucky cases
do not make a department first. Equal scores (to 2 decimals) share a rank (1, 2, 2, 4).

Pure: reads the weights file and the indicator rows, returns the table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from gridsvc.issues.indicators.definitions import INDICATORS

DEFAULT_LEAGUE_FILE = Path(__file__).resolve().parents[1] / "data" / "league.json"


@dataclass(frozen=True)
class Weight:
    """Points an indicator is worth, and which way is better."""

    indicator: str
    points: float
    better: str  # "higher" or "lower"


@dataclass(frozen=True)
class League:
    """The scoring sheet: weights, the least reports to be ranked, red and black list lengths."""

    weights: tuple[Weight, ...]
    min_reports: int
    list_length: int

    @property
    def total_points(self) -> float:
        """The score of a group perfect on every weighted indicator."""
        return sum(weight.points for weight in self.weights)


def read_league(path: Path) -> League:
    """Read the scoring sheet; ValueError names a bad entry."""
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    known = {indicator.key for indicator in INDICATORS}
    weights = []
    for entry in document["weights"]:
        weight = Weight(str(entry["indicator"]), float(entry["points"]), entry["better"])
        if weight.indicator not in known:
            raise ValueError(f"{path}: unknown indicator {weight.indicator!r}")
        if weight.better not in ("higher", "lower") or weight.points <= 0:
            raise ValueError(f"{path}: {weight.indicator}: points > 0, better higher|lower")
        weights.append(weight)
    if not weights:
        raise ValueError(f"{path}: no weights")
    return League(tuple(weights), int(document["min_reports"]), int(document["list_length"]))


@lru_cache
def _read_cached(path: str) -> League:
    return read_league(Path(path))


def load_league(path: str | Path | None = None) -> League:
    """Return the scoring sheet of ``path``, else ``GRIDSVC_LEAGUE_FILE``, else the packaged one."""
    if path is None:
        from gridsvc.config import get_settings

        path = get_settings().league_file or DEFAULT_LEAGUE_FILE
    return _read_cached(str(path))


def score(league: League, row: dict[str, Any]) -> tuple[float | None, dict[str, float]]:
    """Return a row's composite score and the points of each indicator that had a value."""
    points: dict[str, float] = {}
    for weight in league.weights:
        value = row["indicators"][weight.indicator]["value"]
        if value is not None:
            share = value if weight.better == "higher" else 1 - value
            points[weight.indicator] = round(weight.points * share, 2)
    counted = sum(w.points for w in league.weights if w.indicator in points)
    if not counted:
        return None, points
    return round(sum(points.values()) * league.total_points / counted, 2), points


def rank(league: League, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rank the rows: best first, ties sharing a rank; unranked rows (too few reports) last."""
    table = []
    for row in rows:
        composite, points = score(league, row)
        ranked = composite is not None and row["counts"]["reports"] >= league.min_reports
        table.append({**row, "score": composite, "points": points, "ranked": ranked})
    table.sort(key=lambda r: (not r["ranked"], -(r["score"] or 0), r["code"]))
    ranked_rows = [r for r in table if r["ranked"]]
    previous: tuple[float, int] | None = None
    for position, row in enumerate(ranked_rows, start=1):
        if previous is None or row["score"] != previous[0]:
            previous = (row["score"], position)
        row["rank"] = previous[1]
    # Red and black lists never overlap; a tie at a list's edge is all on the list.
    length = min(league.list_length, len(ranked_rows) // 2)
    red = {id(r) for r in ranked_rows if length and r["rank"] <= length}
    worst = ranked_rows[-length]["score"] if length else None
    black = {id(r) for r in ranked_rows if length and r["score"] <= worst and id(r) not in red}
    for row in table:
        row.setdefault("rank", None)
        row["list"] = "red" if id(row) in red else "black" if id(row) in black else None
    return table
