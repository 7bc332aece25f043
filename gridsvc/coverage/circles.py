"""Living circles as data: thresholds in metres of walking and the facility types each expects.

The circles live in ``data/circles.json`` (or ``GRIDSVC_CIRCLES_FILE``), so a city edits them
without touching code. Minutes are derived from metres at the file's walking speed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DEFAULT_CIRCLES_FILE = Path(__file__).resolve().parent / "data" / "circles.json"


@dataclass(frozen=True)
class Circle:
    """A living circle: facility types expected within ``threshold_m`` metres of walking."""

    code: str
    name: str
    name_en: str
    threshold_m: float
    range_m: tuple[float, float]
    minutes: float
    facility_types: tuple[str, ...]
    basis: str = ""

    @property
    def key(self) -> str:
        """What a stored coverage depends on: the types and the threshold."""
        return f"{','.join(sorted(self.facility_types))}@{self.threshold_m:g}"


class UnknownCircleError(ValueError):
    """A circle code that the circles file does not define."""


def read_circles(path: Path) -> dict[str, Circle]:
    """Read circles from a JSON file, keyed by code.

    Parameters
    ----------
    path
        A file with ``walking_speed_m_per_min`` and a list ``circles``.

    Raises
    ------
    ValueError
        If a circle lacks a field, has a non-positive threshold or no facility types.
    """
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    speed = float(document.get("walking_speed_m_per_min", 60))
    circles: dict[str, Circle] = {}
    for entry in document["circles"]:
        try:
            threshold = float(entry["threshold_m"])
            circle = Circle(
                code=str(entry["code"]),
                name=str(entry["name"]),
                name_en=str(entry.get("name_en", entry["name"])),
                threshold_m=threshold,
                range_m=tuple(float(v) for v in entry.get("range_m", (threshold, threshold))),
                minutes=float(entry.get("minutes", round(threshold / speed, 1))),
                facility_types=tuple(entry["facility_types"]),
                basis=str(entry.get("basis", "")),
            )
        except KeyError as missing:
            raise ValueError(f"{path}: a circle lacks the field {missing}") from None
        if circle.threshold_m <= 0 or not circle.facility_types:
            raise ValueError(f"{path}: circle {circle.code!r} needs a threshold and types")
        circles[circle.code] = circle
    return circles


@lru_cache
def _read_cached(path: str) -> dict[str, Circle]:
    return read_circles(Path(path))


def load_circles(path: str | Path | None = None) -> dict[str, Circle]:
    """Return the circles of ``path``, else of ``GRIDSVC_CIRCLES_FILE``, else the packaged file."""
    if path is None:
        from gridsvc.config import get_settings

        path = get_settings().circles_file or DEFAULT_CIRCLES_FILE
    return _read_cached(str(path))


def get_circle(code: str, path: str | Path | None = None) -> Circle:
    """Return the circle with ``code``; UnknownCircleError lists the known ones."""
    circles = load_circles(path)
    if code not in circles:
        raise UnknownCircleError(f"unknown circle {code!r}; known circles: {', '.join(circles)}")
    return circles[code]


def custom_circle(facility_types: list[str], threshold_m: float, speed: float = 60.0) -> Circle:
    """Make a circle on the fly from facility types and a threshold in metres."""
    types = tuple(sorted(set(facility_types)))
    code = f"custom:{','.join(types)}@{threshold_m:g}"
    return Circle(
        code=code,
        name=code,
        name_en=code,
        threshold_m=float(threshold_m),
        range_m=(float(threshold_m), float(threshold_m)),
        minutes=round(threshold_m / speed, 1),
        facility_types=types,
    )
