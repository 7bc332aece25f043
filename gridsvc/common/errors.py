"""Domain errors raised by services and mapped to HTTP responses by the app.

Services raise these instead of HTTP exceptions, so they stay usable from the CLI
and never import FastAPI.
"""

from __future__ import annotations


class GridsvcError(Exception):
    """Base of every error gridsvc reports to its caller with a clear message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(GridsvcError):
    """The thing asked for does not exist (in the current generation)."""


class InvalidParameterError(GridsvcError):
    """A request parameter is malformed or out of range.

    Parameters
    ----------
    name
        The parameter's name as the caller wrote it (``bbox``, ``limit``...).
    message
        What is wrong, in words the caller can act on.
    location
        Where the parameter was given: ``query``, ``path`` or ``body``.
    """

    def __init__(self, name: str, message: str, location: str = "query") -> None:
        super().__init__(f"{location} parameter '{name}': {message}")
        self.name = name
        self.reason = message
        self.location = location


class DatabaseUnavailableError(GridsvcError):
    """The database cannot be reached or answered with an error."""
