"""Issues: reports, routing, workflow events, deadlines, departments, users.

Revision ID: 0002_issues
Revises: 0001_foundation
Create Date: 2026-11-24
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0002_issues"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
