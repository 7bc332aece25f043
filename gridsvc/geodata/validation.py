"""Check every row of an import before anything is loaded; name each problem.

Pure: takes a GeoDataFrame already in WGS-84 and a :class:`Context` of what the database
holds, returns the rows ready to load and every :class:`Problem` with its row number (the
feature's position in the file, from 1), field and what is wrong. Nothing is loaded when
any problem is not a repair.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry.base import BaseGeometry

from gridsvc.geodata.geometry_checks import Placement, check_geometry, rows_of
from gridsvc.geodata.layers import COMMUNITY_KINDS, LAYERS, Layer
from gridsvc.geodata.problems import Problem
from gridsvc.geodata.tessellation import check_tessellation

# Words for a community's kind in Chinese files.
KIND_WORDS = {"城镇": "urban", "城市": "urban", "社区": "urban", "农村": "rural", "嘎查村": "rural"}
DEFAULT_SOURCE = "import"
# Integer columns are PostgreSQL integers.
LARGEST_INTEGER = 2**31 - 1
_FLOAT_CODE = re.compile(r"^(\d+)\.0*$")


@dataclass
class Context:
    """What the checks need to know beyond the file.

    Attributes
    ----------
    placement
        Where features must lie: inside ``GRIDSVC_CITY_BBOX`` for districts (they define
        the city), reaching into the current districts' extent for the layers below.
    tolerance_m2
        Grid overlaps, gaps and parts outside the community up to this area pass.
    existing_codes
        Codes of the layer's current rows in the database.
    parent_codes
        Codes of the current rows of the parent layer.
    parent_geometries
        Outlines of those parents that the file's grids name, by code.
    kept_rows
        Current grids that stay beside the imported ones (none with ``replace``): columns
        ``code``, ``community_code`` and the geometry.
    facility_types
        Type codes a facility may have.
    orphaned_children
        With ``replace`` on a parent layer: parent codes the file leaves out that current
        child rows still belong to, with how many.
    replace, repair
        The import's ``--replace`` and ``--repair``.
    """

    placement: Placement
    tolerance_m2: float = 1.0
    existing_codes: set[str] = field(default_factory=set)
    parent_codes: set[str] = field(default_factory=set)
    parent_geometries: dict[str, BaseGeometry] = field(default_factory=dict)
    kept_rows: gpd.GeoDataFrame | None = None
    facility_types: set[str] = field(default_factory=set)
    orphaned_children: dict[str, int] = field(default_factory=dict)
    replace: bool = False
    repair: bool = False


@dataclass
class Checked:
    """The rows ready to load (only meaningful when ``ok``) and every problem found."""

    frame: gpd.GeoDataFrame
    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        """The problems that stop the import."""
        return [problem for problem in self.problems if not problem.repaired]

    @property
    def ok(self) -> bool:
        """Whether the rows may be loaded."""
        return not self.errors


def as_text(values: pd.Series) -> pd.Series:
    """Text values, stripped; missing ones empty; ``150602.0`` (a number column) as ``150602``."""
    text = values.astype(object).where(values.notna(), "").astype(str).str.strip()
    text = text.where(~text.isin(["nan", "None", "<NA>"]), "")
    return text.str.replace(_FLOAT_CODE, r"\1", regex=True)


def check_text_fields(
    frame: gpd.GeoDataFrame, layer: Layer, problems: list[Problem]
) -> dict[str, pd.Series]:
    """Text fields as strings; codes, names and types must be there."""
    values = {name: as_text(frame[name]) if name in frame else None for name in layer.text_fields}
    for name, column in values.items():
        if column is not None:
            # PostgreSQL text cannot hold NUL; a file with one is damaged or binary.
            for row in rows_of(column.str.contains("\x00", regex=False).to_numpy()):
                problems.append(Problem(row, name, "contains a NUL character (0x00)"))
        if name == layer.parent_field or name in ("kind", "source"):
            continue  # derived from the code, or defaulted
        if column is None:
            hint = f"give it with --map {name}=COLUMN or --set {name}=VALUE"
            problems.append(Problem(None, name, f"the file has no '{name}' field; {hint}"))
        else:
            for row in rows_of((column == "").to_numpy()):
                problems.append(Problem(row, name, "missing"))
    return {name: column for name, column in values.items() if column is not None}


def check_integer_fields(
    frame: gpd.GeoDataFrame, layer: Layer, problems: list[Problem]
) -> dict[str, pd.Series]:
    """Whole numbers >= 0 (``persons`` > 0); defaults for fields the file leaves out."""
    values: dict[str, pd.Series] = {}
    for name, default in layer.integer_fields.items():
        if name not in frame:
            if default is None:
                problems.append(Problem(None, name, f"the file has no '{name}' field"))
            fill = None if default == "" else default
            values[name] = pd.Series([fill] * len(frame), index=frame.index, dtype=object)
            continue
        text = as_text(frame[name])
        numbers = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
        empty = (text == "").to_numpy()
        whole = np.isfinite(numbers) & (np.floor(numbers) == numbers)
        smallest = 1 if name == "persons" else 0
        too_large = whole & (numbers > LARGEST_INTEGER)
        bad = ~empty & ~(whole & (numbers >= smallest)) | too_large
        for row in rows_of(bad):
            value = text.iat[row - 1]
            message = (
                f"'{value}' is too large: at most {LARGEST_INTEGER:,}"
                if too_large[row - 1]
                else f"'{value}' is not a whole number >= {smallest}"
            )
            problems.append(Problem(row, name, message))
        if default is None:
            for row in rows_of(empty):
                problems.append(Problem(row, name, "missing"))
        filled = np.where(whole & ~bad, numbers, np.nan)
        series = pd.Series(filled, index=frame.index).astype("Int64")
        values[name] = series.astype(object).where(~empty, None if default == "" else default)
    return values


def duplicate_rows(codes: pd.Series) -> Iterable[tuple[int, int]]:
    """(row, first row) for every repeat of a code, rows from 1."""
    first: dict[str, int] = {}
    for index, code in enumerate(codes.to_numpy()):
        if not code:
            continue
        if code in first:
            yield index + 1, first[code]
        else:
            first[code] = index + 1


def check_codes(
    values: dict[str, pd.Series], layer: Layer, context: Context, problems: list[Problem]
) -> None:
    """Format, parent prefix, known parents, no repeats in the file or against the database."""
    codes = values.get("code")
    if codes is None or layer.code_digits is None:
        return
    digits = layer.code_digits
    well_formed = codes.str.fullmatch(rf"\d{{{digits}}}").to_numpy()
    for row in rows_of(~well_formed & (codes != "").to_numpy()):
        problems.append(
            Problem(row, "code", f"'{codes.iat[row - 1]}' is not a code of {digits} digits")
        )
    for row, first in duplicate_rows(codes):
        problems.append(
            Problem(row, "code", f"duplicate code {codes.iat[row - 1]}, also on row {first}")
        )
    if not context.replace:
        taken = codes.isin(context.existing_codes).to_numpy()
        for row in rows_of(taken):
            problems.append(
                Problem(
                    row,
                    "code",
                    f"{layer.singular} {codes.iat[row - 1]} is already in the database; "
                    f"--replace loads the file as a new generation",
                )
            )
    for parent_code, count in sorted(context.orphaned_children.items()):
        problems.append(
            Problem(
                None,
                "code",
                f"{count} current row(s) of the layer below belong to {layer.singular} "
                f"{parent_code}, which the file leaves out; with --replace the file must "
                f"hold the whole new generation",
            )
        )
    if layer.parent is not None:
        check_parents(values, codes, well_formed, layer, context, problems)


def check_parents(
    values: dict[str, pd.Series],
    codes: pd.Series,
    well_formed: np.ndarray,
    layer: Layer,
    context: Context,
    problems: list[Problem],
) -> None:
    """Check that the parent code is the code's prefix and names a current parent row."""
    parent = LAYERS[layer.parent]
    parent_field = layer.parent_field
    prefix = codes.str.slice(0, parent.code_digits)
    given = values.get(parent_field)
    if given is None:
        values[parent_field] = prefix
        given = prefix
    else:
        given = given.where(given != "", prefix)
        values[parent_field] = given
        mismatch = well_formed & (given != prefix).to_numpy()
        for row in rows_of(mismatch):
            problems.append(
                Problem(
                    row,
                    parent_field,
                    f"code {codes.iat[row - 1]} does not start with its {parent.singular}'s "
                    f"code {given.iat[row - 1]}",
                )
            )
    unknown = well_formed & ~given.isin(context.parent_codes).to_numpy()
    for row in rows_of(unknown):
        problems.append(
            Problem(
                row,
                parent_field,
                f"unknown {parent.singular} {given.iat[row - 1]}: no current {parent.singular} "
                f"has this code",
            )
        )


def check_kinds(values: dict[str, pd.Series], problems: list[Problem]) -> None:
    """Check that a community is urban or rural (urban when the file does not say)."""
    kinds = values.get("kind")
    if kinds is None:
        return
    kinds = kinds.replace(KIND_WORDS).str.lower().replace("", "urban")
    for row in rows_of(~kinds.isin(COMMUNITY_KINDS).to_numpy()):
        problems.append(Problem(row, "kind", f"'{kinds.iat[row - 1]}' is neither urban nor rural"))
    values["kind"] = kinds


def check_facility_types(
    values: dict[str, pd.Series], context: Context, problems: list[Problem]
) -> None:
    """Every facility's type is a known type code; the message lists the unknown ones."""
    types = values.get("type_code")
    if types is None:
        return
    unknown = ((types != "") & ~types.isin(context.facility_types)).to_numpy()
    if not unknown.any():
        return
    known = ", ".join(sorted(context.facility_types)) or "none"
    names = ", ".join(sorted(set(types[unknown])))
    problems.append(
        Problem(None, "type_code", f"unknown facility types: {names}; known types: {known}")
    )
    for row in rows_of(unknown):
        problems.append(Problem(row, "type_code", f"unknown facility type '{types.iat[row - 1]}'"))


def validate(frame: gpd.GeoDataFrame, layer: Layer, context: Context) -> Checked:
    """Check every row of ``frame`` (WGS-84, the layer's fields) for loading into ``layer``.

    Returns the rows with normalised fields (codes as text, parents filled in from codes,
    defaults, MultiPolygons) and every problem, in row order; file-wide problems first.
    """
    frame = frame.reset_index(drop=True)
    problems: list[Problem] = []
    values = check_text_fields(frame, layer, problems)
    values.update(check_integer_fields(frame, layer, problems))
    geometry = check_geometry(
        frame.geometry.to_numpy(), layer, context.placement, context.repair, problems
    )
    check_codes(values, layer, context, problems)
    if layer.name == "communities":
        values.setdefault("kind", pd.Series("", index=frame.index))
        check_kinds(values, problems)
    if layer.name == "facilities":
        check_facility_types(values, context, problems)
        source = values.get("source", pd.Series("", index=frame.index))
        values["source"] = source.where(source != "", DEFAULT_SOURCE)
    columns = {name: values[name] for name in layer.fields if name in values}
    checked = gpd.GeoDataFrame(columns, geometry=geometry, crs="EPSG:4326", index=frame.index)
    geometry_ok = not any(p.field == "geometry" and not p.repaired for p in problems)
    coded = {"code", "community_code"} <= set(checked.columns)
    if layer.name == "grids" and geometry_ok and coded:
        problems.extend(
            check_tessellation(
                checked, context.parent_geometries, context.kept_rows, context.tolerance_m2
            )
        )
    problems.sort(key=lambda p: (p.row is not None, p.row or 0))
    return Checked(checked, problems)
