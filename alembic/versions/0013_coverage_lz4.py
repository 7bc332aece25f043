"""Stored coverage geometries compressed with LZ4 where the server has it.

A full refresh writes about 150 MB of gap and service-area polygons; PostgreSQL's default
(pglz) spends more than twice LZ4's time compressing them, for about the same size. A server
built without LZ4 keeps pglz.

Revision ID: 0013_coverage_lz4
Revises: 0012_city_metric_crs
Create Date: 2026-12-06
"""

import sqlalchemy as sa

from alembic import op

revision = "0013_coverage_lz4"
down_revision = "0012_city_metric_crs"
branch_labels = None
depends_on = None

COLUMNS = (("grid_coverage", "geom"), ("service_areas", "geom"))


def has_lz4() -> bool:
    """Whether this server can compress with LZ4 (built ``--with-lz4``)."""
    choices = op.get_bind().scalar(
        sa.text("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")
    )
    return "lz4" in (choices or [])


def upgrade() -> None:
    """New values of the coverage geometries are compressed with LZ4."""
    if has_lz4():
        for table, column in COLUMNS:
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION lz4")


def downgrade() -> None:
    """Back to the server's default compression (values already written stay as they are)."""
    for table, column in COLUMNS:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION DEFAULT")
