"""Import a city's own file into one layer: read, check every row, load all or nothing.

The caller owns the transaction. The layer's table is locked against other writers (not
readers) first, so what the checks saw is what the load meets.

Boundary generations: ``--replace`` on a boundary layer closes every current row of the
layer (``valid_to`` = the moment of the switch) and opens the file's rows as generation
max + 1: the new generation is the file, so a grid the file leaves out is closed, not
kept. Current child rows are re-linked to the new row with their parent's code. Without
``--replace`` the rows join the current generation and no code may already be current.
Facilities with ``--replace`` lose the earlier rows of the same ``source``; population
with ``--replace`` loses every earlier point.

A file without features is refused, but for one case: facilities with ``--replace`` and
the source named (``--set source=X``), which replaces that source's facilities with none.

Districts define the city: they are checked against ``GRIDSVC_CITY_BBOX`` (plus the
margin), never against each other, so a city's districts load one file at a time in any
order; the layers below must reach into the current districts' extent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridsvc.common import postgis
from gridsvc.config import get_settings
from gridsvc.facilities import service as facilities_service
from gridsvc.geodata import readers
from gridsvc.geodata.geometry_checks import Placement
from gridsvc.geodata.layers import LAYERS, Layer, child_layer
from gridsvc.geodata.loading import write_layer
from gridsvc.geodata.problems import Problem
from gridsvc.geodata.tagmap import load_tag_map
from gridsvc.geodata.validation import Context, as_text, validate


@dataclass
class ImportRequest:
    """What ``gridsvc import LAYER FILE`` was asked to do."""

    layer: str
    path: Path
    file_layer: str | None = None
    crs: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    replace: bool = False
    repair: bool = False
    encoding: str | None = None


@dataclass
class ImportResult:
    """How an import went: the rows read, every problem, whether it loaded, the generation.

    ``removed`` counts the earlier facilities or residents ``--replace`` deleted.
    """

    layer: str
    rows: int
    problems: list[Problem]
    loaded: bool = False
    generation: int | None = None
    removed: int | None = None

    @property
    def errors(self) -> list[Problem]:
        """Problems that stopped the import."""
        return [p for p in self.problems if not p.repaired]


def current_codes(session: Session, table: str) -> set[str]:
    """Codes of the current rows of a boundary table."""
    return set(session.scalars(text(f"SELECT code FROM {table} WHERE valid_to IS NULL")))


def placement(session: Session, layer: Layer) -> Placement:
    """Where ``layer``'s features must lie: districts in the city's box, the rest near them.

    Districts are never checked against each other: which were loaded first must not
    decide whether an outlying banner is "far outside the city".
    """
    settings = get_settings()
    margin_km = settings.import_extent_margin_km
    if layer.name == "districts":
        return Placement(settings.city_bbox, margin_km, "GRIDSVC_CITY_BBOX", whole_inside=True)
    row = session.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT ST_Extent(geom) AS e FROM districts WHERE valid_to IS NULL) AS extent"
        )
    ).one()
    if row[0] is None:
        return Placement(settings.city_bbox, margin_km, "GRIDSVC_CITY_BBOX")
    extent = tuple(float(v) for v in row)
    return Placement(extent, margin_km, "the current districts' extent")  # type: ignore[arg-type]


def named_parents(frame: gpd.GeoDataFrame, layer: Layer) -> list[str]:
    """Parent codes the file's rows name, given or implied by their codes."""
    digits = LAYERS[layer.parent].code_digits if layer.parent else 0
    named = set()
    if "code" in frame:
        named |= set(as_text(frame["code"]).str.slice(0, digits))
    if layer.parent_field in frame:
        named |= set(as_text(frame[layer.parent_field]))
    return sorted(code for code in named if code)


def shapes(session: Session, sql: str, codes: list[str]) -> gpd.GeoDataFrame:
    """Run ``sql`` (selecting WKB as ``wkb``) for ``codes`` into a GeoDataFrame."""
    return postgis.shapes_of(session.execute(text(sql), {"codes": codes}))


def orphaned_children(session: Session, layer: Layer, codes: list[str]) -> dict[str, int]:
    """Count current children whose parent's code the new generation leaves out."""
    child = child_layer(layer)
    if child is None:
        return {}
    rows = session.execute(
        text(
            f"SELECT p.code, count(*) FROM {child.table} c "
            f"JOIN {layer.table} p ON p.id = c.{layer.singular}_id "
            "WHERE c.valid_to IS NULL AND NOT (p.code = ANY(:codes)) GROUP BY p.code"
        ),
        {"codes": codes},
    )
    return dict(rows.all())


def build_context(
    session: Session, layer: Layer, frame: gpd.GeoDataFrame, request: ImportRequest
) -> Context:
    """Ask the database what the checks need: extent, codes, parents, types, neighbours."""
    context = Context(
        placement=placement(session, layer),
        tolerance_m2=get_settings().grid_tolerance_m2,
        replace=request.replace,
        repair=request.repair,
    )
    if layer.is_boundary:
        context.existing_codes = current_codes(session, layer.table)
        if request.replace and "code" in frame:
            file_codes = sorted(set(as_text(frame["code"])))
            context.orphaned_children = orphaned_children(session, layer, file_codes)
    if layer.parent is not None:
        context.parent_codes = current_codes(session, LAYERS[layer.parent].table)
    if layer.name == "grids":
        parents = named_parents(frame, layer)
        outlines = shapes(
            session,
            "SELECT code, ST_AsBinary(geom) AS wkb FROM communities "
            "WHERE valid_to IS NULL AND code = ANY(:codes)",
            parents,
        )
        context.parent_geometries = dict(zip(outlines["code"], outlines.geometry, strict=True))
        if not request.replace:
            context.kept_rows = shapes(
                session,
                "SELECT g.code, c.code AS community_code, ST_AsBinary(g.geom) AS wkb "
                "FROM grids g JOIN communities c ON c.id = g.community_id "
                "WHERE g.valid_to IS NULL AND c.code = ANY(:codes)",
                parents,
            )
    if layer.name == "facilities":
        known = set(session.scalars(text("SELECT code FROM facility_types")))
        context.facility_types = known | set(load_tag_map().facility_types)
    return context


def merge_problems(read: list[Problem], checked: list[Problem]) -> list[Problem]:
    """Merge reading's problems and the checks', naming a geometry's fault once."""
    named = {p.row for p in read if p.row is not None}
    kept = [p for p in checked if not (p.row in named and p.field == "geometry")]
    return sorted(read + kept, key=lambda p: (p.row is not None, p.row or 0))


def import_nothing(session: Session, layer: Layer, request: ImportRequest) -> ImportResult:
    """Refuse a file without features, unless it replaces a named source's facilities.

    Replacing with nothing must be asked for in so many words: ``--replace`` and the source
    (``--set source=X``), since an empty file names no source of its own.
    """
    source = request.constants.get("source", "")
    if layer.name == "facilities" and request.replace and source:
        session.execute(text("LOCK TABLE facilities IN SHARE ROW EXCLUSIVE MODE"))
        removed = facilities_service.withdraw_source(session, source)
        return ImportResult(layer.name, 0, [], loaded=True, removed=removed)
    message = f"{request.path} holds no features: nothing was loaded"
    if layer.name == "facilities":
        message += (
            "; to replace a source's facilities with none, name it: --replace --set "
            "source=SOURCE (or 'gridsvc facilities withdraw SOURCE')"
        )
    raise readers.ReadError(message)


def import_file(session: Session, request: ImportRequest, progress: bool = False) -> ImportResult:
    """Read, check and (when nothing is wrong) load ``request``'s file into its layer.

    Raises
    ------
    readers.ReadError
        When the file cannot be read as asked, or holds no features (see
        :func:`import_nothing`); nothing is checked or loaded then.
    """
    layer = LAYERS[request.layer]
    source = readers.read_source(request.path, request.file_layer, layer.name, request.encoding)
    if len(source.frame) == 0:
        return import_nothing(session, layer, request)
    frame = readers.select_fields(source.frame, layer, request.mapping, request.constants)
    frame = readers.to_wgs84(frame, request.crs)
    session.execute(text(f"LOCK TABLE {layer.table} IN SHARE ROW EXCLUSIVE MODE"))
    context = build_context(session, layer, frame, request)
    checked = validate(frame, layer, context)
    problems = merge_problems(source.problems, checked.problems)
    result = ImportResult(layer.name, len(frame), problems)
    if result.errors:
        return result
    written = write_layer(session, layer, checked.frame, request.replace, progress)
    result.generation, result.removed = written
    result.loaded = True
    return result
