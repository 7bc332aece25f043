"""Rate limits: fixed-window counters of anonymous reports, shared by every worker.

Revision ID: 0006_rate_limits
Revises: 0005_reporter_secret
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TIMESTAMP

from alembic import op

revision = "0006_rate_limits"
# TODO(bounds): "0005_reporter_secret" after `git merge main`.
down_revision = "0005_reporter_secret"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_limits",
        sa.Column("bucket", sa.String(80), nullable=False),
        sa.Column("window_start", TIMESTAMP(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("bucket", "window_start", name="rate_limits_pkey"),
    )
    op.create_index("rate_limits_window_start", "rate_limits", ["window_start"])


def downgrade() -> None:
    # Counters only: nothing a city needs to keep.
    op.drop_index("rate_limits_window_start", table_name="rate_limits")
    op.drop_table("rate_limits")
