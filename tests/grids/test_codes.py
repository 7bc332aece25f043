"""Grid codes: making, parsing, checking, and reading order."""

from __future__ import annotations

import numpy as np
import pytest

from gridsvc.grids.codes import (
    GridCode,
    is_demo_grid_code,
    is_valid_grid_code,
    make_grid_code,
    parse_grid_code,
    reading_order,
)


def test_make_grid_code_pads_each_part_to_three_digits() -> None:
    assert make_grid_code("150602", 1, 2, 3) == "150602001002003"
    assert make_grid_code("150627", 12, 345, 999) == "150627012345999"


def test_parse_grid_code_splits_the_parts() -> None:
    assert parse_grid_code("150602001002003") == GridCode(
        district_code="150602",
        street_code="150602001",
        community_code="150602001002",
        grid_no=3,
    )


def test_make_and_parse_round_trip() -> None:
    code = make_grid_code("150622", 13, 40, 7)
    parsed = parse_grid_code(code)
    assert (
        make_grid_code(
            parsed.district_code,
            int(parsed.street_code[6:]),
            int(parsed.community_code[9:]),
            parsed.grid_no,
        )
        == code
    )


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("15060200100200", "15 digits"),
        ("1506020010020031", "15 digits"),
        ("", "15 digits"),
        ("15060200100200a", "only digits"),
        ("150602 01002003", "only digits"),
        ("000000001002003", "zero district"),
        ("150602000002003", "zero street"),
        ("150602001000003", "zero community"),
        ("150602001002000", "zero grid"),
    ],
)
def test_malformed_codes_raise_naming_the_problem(code: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_grid_code(code)
    assert not is_valid_grid_code(code)


def test_non_string_code_is_rejected() -> None:
    with pytest.raises(ValueError, match="string"):
        parse_grid_code(150602001002003)  # type: ignore[arg-type]
    assert not is_valid_grid_code(None)


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (("15060", 1, 1, 1), "6 digits"),
        (("15060a", 1, 1, 1), "6 digits"),
        (("000000", 1, 1, 1), "not all zeros"),
        (("150602", 0, 1, 1), "street_no"),
        (("150602", 1, 1000, 1), "community_no"),
        (("150602", 1, 1, -3), "grid_no"),
        (("150602", 1, 1, 1.5), "grid_no must be an integer"),
    ],
)
def test_make_grid_code_rejects_bad_parts(args: tuple, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        make_grid_code(*args)


def test_demo_codes_must_start_with_an_ordos_district() -> None:
    assert is_valid_grid_code("110101001001001")
    assert not is_demo_grid_code("110101001001001")
    assert is_demo_grid_code("150603005012001")
    assert not is_demo_grid_code("150603005012000")


def test_reading_order_goes_row_by_row_from_the_north() -> None:
    # Rows of height 2 from the top (y = 10.5): A, B, C in row 0; F in row 1; D, E in row 2.
    names = ["A", "B", "C", "D", "E", "F"]
    xs = np.array([0.0, 5.0, -3.0, 1.0, -1.0, 10.0])
    ys = np.array([10.0, 10.5, 9.2, 5.0, 6.0, 8.0])
    order = reading_order(xs, ys, row_height=2.0)
    assert [names[i] for i in order] == ["C", "A", "B", "F", "E", "D"]


def test_reading_order_keeps_input_order_on_ties() -> None:
    order = reading_order(np.array([1.0, 1.0, 0.0]), np.array([0.0, 0.0, 0.0]), 1.0)
    assert order.tolist() == [2, 0, 1]


def test_reading_order_edge_cases() -> None:
    assert reading_order(np.array([]), np.array([]), 1.0).tolist() == []
    with pytest.raises(ValueError, match="row_height"):
        reading_order(np.array([0.0]), np.array([0.0]), 0.0)
    with pytest.raises(ValueError, match="same shape"):
        reading_order(np.array([0.0, 1.0]), np.array([0.0]), 1.0)
