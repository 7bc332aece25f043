"""Downgrades that would delete data refuse unless the caller forces them.

A migration's ``downgrade()`` calls :func:`refuse_to_drop_rows` with the tables it drops;
``alembic -x force=true downgrade ...`` or ``gridsvc db downgrade REVISION --force`` lets
the data go.
"""

from __future__ import annotations

from alembic.util import CommandError
from sqlalchemy import text

from alembic import context, op

FORCE_VALUES = {"1", "true", "yes", "on"}


class DowngradeRefused(CommandError):
    """A downgrade would drop tables that hold rows; the message says how to force it."""


def forced() -> bool:
    """Whether the caller passed ``-x force=true`` (as ``migrations.downgrade`` does)."""
    value = context.get_x_argument(as_dictionary=True).get("force", "")
    return value.strip().lower() in FORCE_VALUES


def rows_in(tables: tuple[str, ...]) -> dict[str, int]:
    """Row counts of those ``tables`` that hold any."""
    connection = op.get_bind()
    counts = {
        table: connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()
        for table in tables
    }
    return {table: count for table, count in counts.items() if count}


def refuse_to_drop_rows(revision: str, *tables: str) -> None:
    """Raise DowngradeRefused if any of ``tables`` holds rows, unless forced."""
    if forced():
        return
    holding = rows_in(tables)
    if holding:
        listed = ", ".join(
            f"{table} ({count} row{'' if count == 1 else 's'})" for table, count in holding.items()
        )
        raise DowngradeRefused(
            f"Downgrading below {revision} would delete the rows of {listed}. Nothing was "
            "changed. To delete them, run `gridsvc db downgrade REVISION --force` "
            "(or `alembic -x force=true downgrade REVISION`); `gridsvc db backup FILE` first "
            "keeps a copy."
        )
