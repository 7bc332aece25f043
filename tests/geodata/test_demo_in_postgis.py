"""The demo city as stored in PostGIS: counts, tessellation, nesting, codes, residents.

Every measure here is computed by PostGIS from the stored rows, independently of the
generator's own bookkeeping; areas are measured in metres in UTM 49N.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

REPORT_FACILITY_COUNTS = {
    "practice_institute": 78,
    "practice_station": 981,
    "practice_point": 213,
    "volunteer_station": 390,
    "role_model_site": 1288,
}
ORDOS_DISTRICTS = {
    "150602": "东胜区",
    "150603": "康巴什区",
    "150621": "达拉特旗",
    "150622": "准格尔旗",
    "150623": "鄂托克前旗",
    "150624": "鄂托克旗",
    "150625": "杭锦旗",
    "150626": "乌审旗",
    "150627": "伊金霍洛旗",
}
# Floating point leaves slivers far below a square metre where Voronoi cells meet.
TOLERANCE_M2 = 1.0


# The city report's own numbers: the full-size city, in a database of its own.
pytestmark = pytest.mark.full_city


@pytest.fixture(scope="module")
def city_db(full_city_engine: Engine) -> Engine:
    return full_city_engine


def scalar(engine: Engine, sql: str) -> object:
    with engine.connect() as connection:
        return connection.execute(text(sql)).scalar_one()


def rows(engine: Engine, sql: str) -> list[tuple]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql))]


def test_counts_match_the_city_report(city_db: Engine) -> None:
    districts = dict(rows(city_db, "SELECT code, name FROM districts WHERE valid_to IS NULL"))
    assert districts == ORDOS_DISTRICTS
    assert scalar(city_db, "SELECT count(*) FROM streets") == 78
    assert scalar(city_db, "SELECT count(*) FROM communities") == 981
    assert scalar(city_db, "SELECT count(*) FROM grids") == 6702
    counts = dict(rows(city_db, "SELECT type_code, count(*) FROM facilities GROUP BY 1"))
    for code, expected in REPORT_FACILITY_COUNTS.items():
        assert counts[code] == expected, code
    residents = scalar(city_db, "SELECT sum(persons) FROM population_points")
    assert 2_150_000 <= residents <= 2_250_000


@pytest.mark.parametrize(
    ("child", "parent", "link"),
    [
        ("grids", "communities", "community_id"),
        ("communities", "streets", "street_id"),
        ("streets", "districts", "district_id"),
    ],
)
def test_children_tessellate_their_parent(city_db: Engine, child: str, parent: str, link: str):
    """No gap: the union of the children covers the parent; no overlap: areas add up."""
    worst = rows(
        city_db,
        f"""
        WITH pieces AS (
            SELECT p.id,
                   ST_Transform(p.geom, 32649) AS parent_geom,
                   ST_Union(ST_Transform(c.geom, 32649)) AS union_geom,
                   sum(ST_Area(ST_Transform(c.geom, 32649))) AS area_sum
            FROM {parent} p JOIN {child} c ON c.{link} = p.id
            GROUP BY p.id, p.geom
        )
        SELECT max(ST_Area(ST_Difference(parent_geom, union_geom))) AS gap,
               max(area_sum - ST_Area(union_geom)) AS overlap,
               max(ST_Area(ST_Difference(union_geom, parent_geom))) AS outside
        FROM pieces
        """,
    )[0]
    gap, overlap, outside = worst
    assert gap < TOLERANCE_M2
    assert overlap < TOLERANCE_M2
    assert outside < TOLERANCE_M2


def test_every_parent_has_children(city_db: Engine) -> None:
    for parent, child, link in (
        ("districts", "streets", "district_id"),
        ("streets", "communities", "street_id"),
        ("communities", "grids", "community_id"),
    ):
        childless = scalar(
            city_db,
            f"SELECT count(*) FROM {parent} p WHERE NOT EXISTS "
            f"(SELECT 1 FROM {child} c WHERE c.{link} = p.id)",
        )
        assert childless == 0, parent


def test_codes_nest_and_are_well_formed(city_db: Engine) -> None:
    bad = scalar(
        city_db,
        """
        SELECT count(*) FROM grids g
        JOIN communities c ON g.community_id = c.id
        JOIN streets s ON c.street_id = s.id
        JOIN districts d ON s.district_id = d.id
        WHERE left(g.code, 12) <> c.code OR left(c.code, 9) <> s.code OR left(s.code, 6) <> d.code
           OR right(g.code, 3) = '000' OR right(c.code, 3) = '000' OR right(s.code, 3) = '000'
        """,
    )
    assert bad == 0
    assert scalar(city_db, "SELECT count(DISTINCT code) FROM grids") == 6702


def test_grids_are_valid_and_inside_their_district(city_db: Engine) -> None:
    assert scalar(city_db, "SELECT count(*) FROM grids WHERE NOT ST_IsValid(geom)") == 0
    outside = scalar(
        city_db,
        """
        SELECT max(ST_Area(ST_Difference(ST_Transform(g.geom, 32649), ST_Transform(d.geom, 32649))))
        FROM grids g
        JOIN communities c ON g.community_id = c.id
        JOIN streets s ON c.street_id = s.id
        JOIN districts d ON s.district_id = d.id
        """,
    )
    assert outside < TOLERANCE_M2


def test_grid_population_is_the_residents_inside(city_db: Engine) -> None:
    """Recount residents per grid in PostGIS (a boundary point counts for the lowest code)."""
    mismatched = scalar(
        city_db,
        """
        WITH owner AS (
            SELECT DISTINCT ON (p.id) p.id, p.persons, g.id AS grid_id
            FROM population_points p JOIN grids g ON ST_Intersects(g.geom, p.geom)
            ORDER BY p.id, g.code
        ), recount AS (
            SELECT grid_id, sum(persons) AS persons FROM owner GROUP BY grid_id
        )
        SELECT count(*) FROM grids g LEFT JOIN recount r ON r.grid_id = g.id
        WHERE g.population <> coalesce(r.persons, 0)
        """,
    )
    assert mismatched == 0
    homeless = scalar(
        city_db,
        "SELECT count(*) FROM population_points p WHERE NOT EXISTS "
        "(SELECT 1 FROM grids g WHERE ST_Intersects(g.geom, p.geom))",
    )
    assert homeless == 0


def test_facilities_and_network_lie_in_the_city(city_db: Engine) -> None:
    for table in ("facilities", "network_nodes"):
        stray = scalar(
            city_db,
            f"SELECT count(*) FROM {table} f WHERE NOT EXISTS "
            f"(SELECT 1 FROM districts d WHERE ST_Intersects(d.geom, f.geom))",
        )
        assert stray == 0, table
    # Lengths are measured in UTM 49N; its scale error stays under 0.2 % across Ordos.
    relative_error = scalar(
        city_db,
        "SELECT max(abs(length_m / ST_Length(geom::geography) - 1)) FROM network_edges",
    )
    assert relative_error < 0.002
