"""The metric CRS stored with the city: the UTM zone of its districts' extent.

``GRIDSVC_METRIC_CRS=auto`` uses it once a city is loaded (before: the zone of
``GRIDSVC_CITY_BBOX``'s centre); a loaded city gets it at its next load.

Revision ID: 0012_city_metric_crs
Revises: 0011_coverage_input_versions
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TIMESTAMP

from alembic import op

revision = "0012_city_metric_crs"
down_revision = "0011_coverage_input_versions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``city_metric_crs``: one row, written by the next load of a city's districts."""
    op.create_table(
        "city_metric_crs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("crs", sa.String(20), nullable=False),
        sa.Column("west", sa.Float, nullable=False),
        sa.Column("south", sa.Float, nullable=False),
        sa.Column("east", sa.Float, nullable=False),
        sa.Column("north", sa.Float, nullable=False),
        sa.Column(
            "chosen_at", TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint("id = 1", name="city_metric_crs_one_row"),
    )


def downgrade() -> None:
    """Drop it again (``auto`` then falls back to the zone of GRIDSVC_CITY_BBOX)."""
    op.drop_table("city_metric_crs")
