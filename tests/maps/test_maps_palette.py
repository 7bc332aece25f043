"""The facility palette: one look per type, told apart within every circle."""

from __future__ import annotations

from gridsvc.coverage.circles import load_circles
from gridsvc.geodata.demo.facilities import FACILITY_TYPES
from gridsvc.maps.layers import COVERAGE_COLORS
from gridsvc.maps.palette import SYMBOLS, facility_style, facility_styles


def test_every_demo_type_has_its_own_colour_and_a_known_symbol() -> None:
    styles = facility_styles()
    assert {kind.code for kind in FACILITY_TYPES} <= set(styles)
    colours = [style.color for style in styles.values()]
    assert len(set(colours)) == len(colours)
    assert all(style.symbol in SYMBOLS for style in styles.values())
    # No facility looks like a coverage class.
    assert not set(colours) & set(COVERAGE_COLORS)


def test_within_a_circle_types_differ_in_symbol() -> None:
    for circle in load_circles().values():
        symbols = [facility_style(code).symbol for code in circle.facility_types]
        assert len(set(symbols)) == len(symbols), circle.code


def test_an_unknown_type_gets_the_fallback() -> None:
    assert facility_style("no_such_type") == facility_style("another_unknown")
    assert facility_style("no_such_type").svg().startswith("<svg")
