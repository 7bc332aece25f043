"""What every ``gridsvc`` command shares: how it fails."""

from __future__ import annotations

import typer


def fail(message: str) -> typer.Exit:
    """Print ``message`` in red on stderr; the caller raises the returned Exit(1)."""
    typer.secho(message, fg=typer.colors.RED, err=True)
    return typer.Exit(1)
