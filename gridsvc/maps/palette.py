"""One colour and one symbol per facility type on every map, read from data beside the types.

Pure. The table is ``data/facility_styles.json``: a type keeps its look whichever map it is
on and whichever other types share that map (colours used to follow each map's order of
types, so 公园广场 changed colour from map to map).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

SYMBOLS = {
    "circle": '<circle cx="8" cy="8" r="5.5"/>',
    "square": '<rect x="2.5" y="2.5" width="11" height="11"/>',
    "triangle": '<polygon points="8,1.5 14.5,14 1.5,14"/>',
    "diamond": '<polygon points="8,1 15,8 8,15 1,8"/>',
    "star": '<polygon points="8,1 9.9,6 15,6.2 11,9.4 12.4,14.6 8,11.6 3.6,14.6 5,9.4'
    ' 1,6.2 6.1,6"/>',
    "hexagon": '<polygon points="4.3,1.6 11.7,1.6 15,8 11.7,14.4 4.3,14.4 1,8"/>',
    "cross": '<polygon points="5.5,1.5 10.5,1.5 10.5,5.5 14.5,5.5 14.5,10.5 10.5,10.5 10.5,14.5'
    ' 5.5,14.5 5.5,10.5 1.5,10.5 1.5,5.5 5.5,5.5"/>',
    "pentagon": '<polygon points="8,1 15,6.2 12.3,14.5 3.7,14.5 1,6.2"/>',
}


@dataclass(frozen=True)
class FacilityStyle:
    """How a facility type is drawn: fill colour and symbol name."""

    color: str
    symbol: str

    def svg(self, size: int = 16) -> str:
        """Return the symbol as inline SVG, white-edged so it stands out on any fill."""
        return (
            f'<svg width="{size}" height="{size}"'
            f' viewBox="0 0 16 16"><g fill="{self.color}" stroke="#ffffff" stroke-width="1.3">'
            f"{SYMBOLS[self.symbol]}</g></svg>"
        )


@cache
def _table() -> tuple[FacilityStyle, dict[str, FacilityStyle]]:
    data = json.loads(files("gridsvc.maps").joinpath("data/facility_styles.json").read_text())
    fallback = FacilityStyle(**data["fallback"])
    return fallback, {code: FacilityStyle(**style) for code, style in data["types"].items()}


def facility_style(type_code: str) -> FacilityStyle:
    """Return the fixed style of a facility type (the fallback for a type not in the table)."""
    fallback, styles = _table()
    return styles.get(type_code, fallback)


def facility_styles() -> dict[str, FacilityStyle]:
    """Every listed type's style, by type code."""
    return dict(_table()[1])
