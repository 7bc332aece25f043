"""An index on the cases' report time: a week's indicators read that week's cases only.

Revision ID: 0008_issues_created_at
Revises: 0007_issued_bulletins
Create Date: 2026-12-02
"""

from alembic import op

revision = "0008_issues_created_at"
down_revision = "0007_issued_bulletins"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_issues_created_at", "issues", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_issues_created_at", table_name="issues")
