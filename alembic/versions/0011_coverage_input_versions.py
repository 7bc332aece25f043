"""Coverage refreshes record the data versions of their input tables, and the facilities.

Freshness then compares a handful of version stamps instead of hashing the inputs' rows;
``coverage_facilities`` (the facilities as the stored coverage saw them) tells an
incremental update which facilities were added, moved or removed since.

Revision ID: 0011_coverage_input_versions
Revises: 0010_data_versions
Create Date: 2026-12-03
"""

import sqlalchemy as sa

from alembic import op

revision = "0011_coverage_input_versions"
down_revision = "0010_data_versions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``coverage_refreshes.input_versions`` (NULL before) and ``coverage_facilities``."""
    op.add_column("coverage_refreshes", sa.Column("input_versions", sa.Text, nullable=True))
    op.create_table(
        "coverage_facilities",
        sa.Column("facility_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("type_code", sa.String(40), nullable=False),
        sa.Column("x", sa.Float, nullable=False),
        sa.Column("y", sa.Float, nullable=False),
    )


def downgrade() -> None:
    """Drop them again (both are derived: the next refresh writes them anew)."""
    op.drop_table("coverage_facilities")
    op.drop_column("coverage_refreshes", "input_versions")
