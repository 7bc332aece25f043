"""Data versions bumped by every write to a city table (statement-level triggers).

Maps, tiles and freshness checks read one small table instead of counting big ones.

Revision ID: 0010_data_versions
Revises: 0009_handling
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TIMESTAMP

from alembic import op

revision = "0010_data_versions"
down_revision = "0009_handling"
branch_labels = None
depends_on = None

# As gridsvc.common.data_versions.VERSIONED_TABLES was when this revision was written.
TABLES = (
    "districts",
    "streets",
    "communities",
    "grids",
    "population_points",
    "facility_types",
    "facilities",
    "network_nodes",
    "network_edges",
    "service_areas",
    "grid_coverage",
    "coverage_refreshes",
    "departments",
    "issue_categories",
    "category_deadlines",
    "department_routes",
)

BUMP = """
CREATE FUNCTION bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO data_versions (table_name, version, changed_at)
    VALUES (TG_TABLE_NAME, nextval('data_version_seq'), now())
    ON CONFLICT (table_name)
    DO UPDATE SET version = EXCLUDED.version, changed_at = EXCLUDED.changed_at;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "data_versions",
        sa.Column("table_name", sa.String(63), primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("changed_at", TIMESTAMP(timezone=True), nullable=False),
    )
    op.execute("CREATE SEQUENCE data_version_seq")
    op.execute(BUMP)
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_data_version"
            f" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version()"
        )
        op.execute(
            "INSERT INTO data_versions (table_name, version, changed_at)"
            f" VALUES ('{table}', nextval('data_version_seq'), now())"
        )


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER {table}_data_version ON {table}")
    op.execute("DROP FUNCTION bump_data_version()")
    op.execute("DROP SEQUENCE data_version_seq")
    op.drop_table("data_versions")
