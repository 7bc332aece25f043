"""Coverage: circles, service areas, coverage results.

Revision ID: 0003_coverage
Revises: 0002_issues
Create Date: 2026-11-24
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0003_coverage"
down_revision = "0002_issues"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
