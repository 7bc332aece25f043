"""Issued bulletins (定期通报): each period's bulletin as it went out, once per scope.

Revision ID: 0007_issued_bulletins
Revises: 0006_rate_limits
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TIMESTAMP

from alembic import op

revision = "0007_issued_bulletins"
down_revision = "0006_rate_limits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "issued_bulletins",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("end_date", sa.Date, nullable=False),
        sa.Column("district_code", sa.String(6), nullable=False, server_default=sa.text("''")),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("html", sa.Text, nullable=False),
        sa.Column("csv", sa.LargeBinary, nullable=False),
        sa.Column(
            "issued_at", TIMESTAMP(timezone=True), nullable=False, server_default=sa.text("now()")
        ),
    )
    op.create_index(
        "issued_bulletins_once",
        "issued_bulletins",
        ["period", "start_date", "district_code"],
        unique=True,
    )


def downgrade() -> None:
    from gridsvc.cluster.downgrades import refuse_to_drop_rows

    refuse_to_drop_rows(revision, "issued_bulletins")
    op.drop_index("issued_bulletins_once", table_name="issued_bulletins")
    op.drop_table("issued_bulletins")
