"""Grid codes: 15 digits = district (6) + street (3) + community (3) + grid (3).

The district part is the national administrative division code (e.g. 150602 for
东胜区); streets, communities and grids are numbered from 001 inside their parent,
in reading order (rows north to south, west to east within a row).
"""

from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np

GRID_CODE_LENGTH = 15
DISTRICT_CODE_LENGTH = 6
STREET_CODE_LENGTH = 9
COMMUNITY_CODE_LENGTH = 12
MAX_NUMBER = 999

# The nine districts and banners of Ordos: the demo city's codes start with one of these.
ORDOS_DISTRICT_CODES: tuple[str, ...] = (
    "150602",
    "150603",
    "150621",
    "150622",
    "150623",
    "150624",
    "150625",
    "150626",
    "150627",
)
ORDOS_GRID_CODE = re.compile(r"^(?:" + "|".join(ORDOS_DISTRICT_CODES) + r")\d{9}$")

_DIGITS = re.compile(r"^\d+$")


class GridCode(NamedTuple):
    """The parts of a grid code.

    Attributes
    ----------
    district_code
        6 digits, e.g. ``"150602"``.
    street_code
        9 digits: the district code and the street's number.
    community_code
        12 digits: the street code and the community's number.
    grid_no
        The grid's number inside its community, 1..999.
    """

    district_code: str
    street_code: str
    community_code: str
    grid_no: int


def _check_number(name: str, value: int) -> None:
    """Raise ValueError unless ``value`` is an int in 1..999."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if not 1 <= value <= MAX_NUMBER:
        raise ValueError(f"{name} must be between 1 and {MAX_NUMBER}, got {value}")


def make_grid_code(district: str, street_no: int, community_no: int, grid_no: int) -> str:
    """Build a 15-digit grid code.

    Parameters
    ----------
    district
        The 6-digit district code.
    street_no, community_no, grid_no
        Numbers 1..999 of the street in its district, the community in its street and the
        grid in its community.

    Returns
    -------
    str
        The grid code, e.g. ``make_grid_code("150602", 1, 2, 3) == "150602001002003"``.

    Raises
    ------
    ValueError
        If the district code is not 6 digits (and not all zeros) or a number is out of range.
    """
    if not isinstance(district, str) or len(district) != DISTRICT_CODE_LENGTH:
        raise ValueError(f"district code must be a string of 6 digits, got {district!r}")
    if not _DIGITS.match(district) or int(district) == 0:
        raise ValueError(f"district code must be 6 digits, not all zeros, got {district!r}")
    _check_number("street_no", street_no)
    _check_number("community_no", community_no)
    _check_number("grid_no", grid_no)
    return f"{district}{street_no:03d}{community_no:03d}{grid_no:03d}"


def parse_grid_code(code: str) -> GridCode:
    """Split a grid code into its parts.

    Parameters
    ----------
    code
        A 15-digit grid code.

    Returns
    -------
    GridCode
        District, street and community codes, and the grid's number.

    Raises
    ------
    ValueError
        If ``code`` is not 15 digits or one of its parts is all zeros; the message says which.
    """
    if not isinstance(code, str):
        raise ValueError(f"grid code must be a string, got {type(code).__name__}")
    if len(code) != GRID_CODE_LENGTH:
        raise ValueError(f"grid code must have 15 digits, got {len(code)} characters: {code!r}")
    if not _DIGITS.match(code):
        raise ValueError(f"grid code must contain only digits 0-9, got {code!r}")
    parts = {
        "district": code[:DISTRICT_CODE_LENGTH],
        "street": code[DISTRICT_CODE_LENGTH:STREET_CODE_LENGTH],
        "community": code[STREET_CODE_LENGTH:COMMUNITY_CODE_LENGTH],
        "grid": code[COMMUNITY_CODE_LENGTH:],
    }
    for name, digits in parts.items():
        if int(digits) == 0:
            raise ValueError(f"grid code {code!r} has a zero {name} part ({digits})")
    return GridCode(
        district_code=parts["district"],
        street_code=code[:STREET_CODE_LENGTH],
        community_code=code[:COMMUNITY_CODE_LENGTH],
        grid_no=int(parts["grid"]),
    )


def is_valid_grid_code(code: object) -> bool:
    """Whether ``code`` is a well-formed grid code (15 digits, no all-zero part)."""
    try:
        parse_grid_code(code)  # type: ignore[arg-type]
    except ValueError:
        return False
    return True


def is_demo_grid_code(code: object) -> bool:
    """Whether ``code`` is a well-formed grid code of one of the nine Ordos districts."""
    return isinstance(code, str) and bool(ORDOS_GRID_CODE.match(code)) and is_valid_grid_code(code)


def reading_order(xs: np.ndarray, ys: np.ndarray, row_height: float) -> np.ndarray:
    """Order points as text is read: rows from the north, west to east inside a row.

    Parameters
    ----------
    xs, ys
        Coordinates of the points (e.g. centroids), in a CRS whose y grows northwards.
    row_height
        Height of a row band, in the units of ``ys``; bands start at the northernmost point.

    Returns
    -------
    numpy.ndarray
        Indices into ``xs``/``ys``: the first is the westernmost point of the top row.
        Ties keep the input order.
    """
    xs = np.asarray(xs, dtype=float)
    ys = np.asarray(ys, dtype=float)
    if xs.shape != ys.shape:
        raise ValueError(f"xs and ys must have the same shape, got {xs.shape} and {ys.shape}")
    if not row_height > 0:
        raise ValueError(f"row_height must be positive, got {row_height}")
    if xs.size == 0:
        return np.zeros(0, dtype=np.int64)
    rows = np.floor((ys.max() - ys) / row_height).astype(np.int64)
    return np.lexsort((xs, rows)).astype(np.int64)
