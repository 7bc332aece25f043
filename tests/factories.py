"""Small factories inserting valid boundaries and facilities through the ORM.

The test city lies near 113.5°E 35.5°N, far from Ordos, so it never overlaps the demo
city that another fixture may load into the same database; its district code 150699 is
fictional. Lattice steps are powers of two, so every coordinate is exact in binary and
in decimal text: points on shared edges stay exactly on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, Point, Polygon, box
from shapely.geometry.polygon import orient
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from gridsvc.facilities.models import Facility, FacilityType
from gridsvc.grids.models import Community, District, Grid, Street

DISTRICT_CODE = "150699"
ORIGIN = (113.5, 35.5)
STEP_LON = 2.0**-7  # 0.0078125° ≈ 0.71 km here
STEP_LAT = 2.0**-7  # ≈ 0.87 km
PAST_FROM = datetime(2020, 1, 1, tzinfo=UTC)
PAST_TO = datetime(2024, 1, 1, tzinfo=UTC)


def multipolygon(polygon: Polygon) -> object:
    """A shapely polygon as a PostGIS MultiPolygon in EPSG:4326."""
    return from_shape(MultiPolygon([polygon]), srid=4326)


def cell(column: int, row: int) -> Polygon:
    """The lattice cell ``column`` steps east and ``row`` steps north of the origin."""
    west, south = ORIGIN[0] + column * STEP_LON, ORIGIN[1] + row * STEP_LAT
    return box(west, south, west + STEP_LON, south + STEP_LAT)


def block(column: int, row: int, columns: int, rows: int) -> Polygon:
    """``columns`` x ``rows`` lattice cells starting at cell (column, row), as one box."""
    west, south = ORIGIN[0] + column * STEP_LON, ORIGIN[1] + row * STEP_LAT
    return box(west, south, west + columns * STEP_LON, south + rows * STEP_LAT)


def make_district(
    session: Session, polygon: Polygon, code: str = DISTRICT_CODE, name: str = "测试旗", **extra
) -> District:
    district = District(code=code, name=name, geom=multipolygon(polygon), **extra)
    session.add(district)
    session.flush()
    return district


def make_street(
    session: Session, district: District, code: str, polygon: Polygon, name: str = "测试街道"
) -> Street:
    street = Street(code=code, name=name, district_id=district.id, geom=multipolygon(polygon))
    session.add(street)
    session.flush()
    return street


def make_community(
    session: Session, street: Street, code: str, polygon: Polygon, name: str = "测试社区"
) -> Community:
    community = Community(
        code=code, name=name, street_id=street.id, kind="urban", geom=multipolygon(polygon)
    )
    session.add(community)
    session.flush()
    return community


def make_grid(
    session: Session,
    community: Community,
    code: str,
    polygon: Polygon,
    population: int = 0,
    households: int = 0,
    grid_workers: int = 0,
    flush: bool = True,
    **extra,
) -> Grid:
    """A grid of ``community``, added; flushed unless ``flush`` is off (a batch flushes once)."""
    grid = Grid(
        code=code,
        name=f"第{code[-3:]}网格",
        community_id=community.id,
        population=population,
        households=households,
        grid_workers=grid_workers,
        geom=multipolygon(polygon),
        **extra,
    )
    session.add(grid)
    if flush:
        session.flush()
    return grid


@dataclass
class LatticeGrid:
    """What a test needs to know about a factory grid to check the API independently."""

    code: str
    polygon: Polygon
    community_code: str
    community_name: str
    street_code: str
    district_code: str
    population: int
    households: int
    grid_workers: int


@dataclass
class LatticeCity:
    """District 150699: two streets, three communities cut into lattices of grids."""

    district_polygon: Polygon
    grids: list[LatticeGrid] = field(default_factory=list)

    def by_code(self) -> dict[str, LatticeGrid]:
        return {grid.code: grid for grid in self.grids}

    def containing(self, point: Point) -> list[str]:
        """Codes of the grids whose closed polygon holds ``point``, lowest first."""
        return sorted(grid.code for grid in self.grids if grid.polygon.intersects(point))


# (street suffix, community suffix, name, first column, first row, columns, rows, clockwise)
COMMUNITIES = (
    ("001", "001", "东胜社区", 0, 0, 4, 3, False),
    ("001", "002", "西园社区", 4, 0, 2, 3, True),
    ("002", "001", "北湖社区", 0, 3, 6, 2, False),
)


def make_lattice(
    session: Session, city: LatticeCity, community: Community, street_code: str, layout: tuple
) -> None:
    """Cut ``community`` into its lattice cells, coded row by row from the south-west."""
    _, _, name, column, row, columns, rows, clockwise = layout
    for number, (r, c) in enumerate(((r, c) for r in range(rows) for c in range(columns)), start=1):
        polygon = cell(column + c, row + r)
        index = len(city.grids)
        population = 40 * (index + 1)
        grid = LatticeGrid(
            code=f"{community.code}{number:03d}",
            polygon=polygon,
            community_code=community.code,
            community_name=name,
            street_code=street_code,
            district_code=DISTRICT_CODE,
            population=population,
            households=population // 3,
            grid_workers=1 + index % 3,
        )
        # Some rings are stored clockwise: the API must still serve RFC 7946 orientation.
        stored = orient(polygon, -1.0) if clockwise else polygon
        make_grid(
            session,
            community,
            grid.code,
            stored,
            grid.population,
            grid.households,
            grid.grid_workers,
            flush=False,
        )
        city.grids.append(grid)
    session.flush()  # one batched INSERT for the community's grids


def make_test_city(session: Session) -> LatticeCity:
    """District 150699 with 30 current grids in three communities on an exact lattice."""
    city = LatticeCity(district_polygon=block(0, 0, 6, 5))
    district = make_district(session, city.district_polygon)
    streets = {
        "001": make_street(session, district, f"{DISTRICT_CODE}001", block(0, 0, 6, 3)),
        "002": make_street(session, district, f"{DISTRICT_CODE}002", block(0, 3, 6, 2)),
    }
    for layout in COMMUNITIES:
        street_suffix, community_suffix, name, column, row, columns, rows, _ = layout
        street = streets[street_suffix]
        community = make_community(
            session,
            street,
            f"{street.code}{community_suffix}",
            block(column, row, columns, rows),
            name,
        )
        make_lattice(session, city, community, street.code, layout)
    return city


def make_retired_grids(session: Session, city: LatticeCity) -> dict[str, Polygon]:
    """Rows of past generations: an older shape of a current grid and a grid since removed.

    Returns the retired polygons by code.
    """
    community = session.scalars(
        select(Community).where(Community.code == city.grids[0].community_code)
    ).one()
    current = city.grids[0]
    older = block(-3, 0, 2, 2)  # west of the city, where no current grid lies
    removed = block(-3, 3, 1, 1)
    past = {"valid_from": PAST_FROM, "valid_to": PAST_TO}
    make_grid(session, community, current.code, older, 999_999, **past)
    make_grid(session, community, f"{community.code}999", removed, 888_888, **past)
    make_district(session, block(-4, 0, 4, 5), code="150698", name="旧旗", **past)
    return {current.code: older, f"{community.code}999": removed}


def make_facility_type(
    session: Session, code: str, name: str, name_en: str, level: str = "community"
) -> FacilityType:
    facility_type = FacilityType(code=code, name=name, name_en=name_en, level=level)
    session.add(facility_type)
    session.flush()
    return facility_type


def make_facility(
    session: Session,
    type_code: str,
    lon: float,
    lat: float,
    name: str = "测试设施",
    capacity: int | None = None,
    source: str = "test",
) -> Facility:
    facility = Facility(
        type_code=type_code,
        name=name,
        capacity=capacity,
        source=source,
        geom=from_shape(Point(lon, lat), srid=4326),
    )
    session.add(facility)
    session.flush()
    return facility


def remove_issues(engine: Engine, marker: str) -> None:
    """Delete the issues (and idempotency keys) a test committed, found by ``marker``.

    The append-only trigger of issue_events is lifted for this clean-up only.
    """
    with engine.begin() as connection:
        ids = [row[0] for row in connection.execute(
            text("SELECT id FROM issues WHERE description LIKE :m"), {"m": f"%{marker}%"}
        )]  # fmt: skip
        connection.execute(
            text("ALTER TABLE issue_events DISABLE TRIGGER issue_events_append_only")
        )
        connection.execute(text("DELETE FROM issue_events WHERE issue_id = ANY(:i)"), {"i": ids})
        connection.execute(text("ALTER TABLE issue_events ENABLE TRIGGER issue_events_append_only"))
        connection.execute(text("DELETE FROM issues WHERE id = ANY(:i)"), {"i": ids})
        connection.execute(
            text("DELETE FROM idempotency_keys WHERE key LIKE :m"), {"m": f"{marker}%"}
        )
