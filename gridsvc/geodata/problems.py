"""An import's problems: each with its row, field and message, and a plain table of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an import; ``repaired`` ones were fixed and do not stop it.

    ``row`` is the feature's position in the file, from 1 (a CSV's first data line is
    row 1); ``None`` for a problem of the file as a whole.
    """

    row: int | None
    field: str
    message: str
    repaired: bool = False


def problem_table(problems: Sequence[Problem], limit: int | None = None) -> str:
    """Lay out the problems as an aligned plain-text table: row, field, problem.

    Parameters
    ----------
    problems
        What to list, in order.
    limit
        List at most this many rows and say how many more there are.
    """
    shown = list(problems if limit is None else problems[:limit])
    cells = [
        (
            "-" if p.row is None else str(p.row),
            p.field,
            f"repaired: {p.message}" if p.repaired else p.message,
        )
        for p in shown
    ]
    header = ("row", "field", "problem")
    widths = [max([len(header[i]), *(len(c[i]) for c in cells)]) for i in range(2)]
    lines = [f"{header[0]:>{widths[0]}}  {header[1]:<{widths[1]}}  {header[2]}"]
    lines.append(f"{'-' * widths[0]}  {'-' * widths[1]}  {'-' * 7}")
    lines.extend(f"{row:>{widths[0]}}  {field:<{widths[1]}}  {text}" for row, field, text in cells)
    if limit is not None and len(problems) > limit:
        lines.append(f"... and {len(problems) - limit} more")
    return "\n".join(lines)
