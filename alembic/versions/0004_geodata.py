"""Geodata: no schema change (imports use the foundation tables); kept so the chain stays whole.

Revision ID: 0004_geodata
Revises: 0003_coverage
Create Date: 2026-11-24
"""

import sqlalchemy as sa  # noqa: F401

from alembic import op  # noqa: F401

revision = "0004_geodata"
down_revision = "0003_coverage"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
