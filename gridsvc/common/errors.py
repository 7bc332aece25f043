"""Domain errors raised by services, and the one table of the HTTP status each answers with.

Services raise these instead of HTTP exceptions, so they stay usable from the CLI
and never import FastAPI. A domain's own error subclasses the kind it is (a conflict, a
refusal...); :data:`STATUS_CODES` maps the kinds to statuses, as tipg's ``errors.py`` does,
and the app's one handler answers with :func:`status_of`.
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
    """A request parameter or body field is malformed or out of range.

    Parameters
    ----------
    name
        The parameter's name as the caller wrote it (``bbox``, ``limit``...); a body field
        by its path in the JSON document (``add[0].type_code``).
    message
        What is wrong, in words the caller can act on.
    location
        Where the parameter was given: ``query``, ``path``, ``header`` or ``body``.
    """

    def __init__(self, name: str, message: str, location: str = "query") -> None:
        super().__init__(f"{where(location, name)}: {message}")
        self.name = name
        self.reason = message
        self.location = location

    def __reduce__(self) -> tuple:
        """Rebuilt from its three parts: raised in a forked process, it reaches the parent."""
        return type(self), (self.name, self.reason, self.location)

    @property
    def loc(self) -> list[str | int]:
        """Where, as FastAPI's validation errors say it: ``["body", "add", 0, "type_code"]``."""
        return [self.location, *field_path(self.name)]


def where(location: str, name: str) -> str:
    """Name a parameter (``query parameter 'limit'``) or a field (``body field 'add[0].lon'``)."""
    kind = "field" if location == "body" else "parameter"
    return f"{location} {kind} '{name}'"


def field_name(path: list[str | int] | tuple[str | int, ...]) -> str:
    """Write a field's path as the caller would: ``["add", 0, "lon"]`` -> ``add[0].lon``."""
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else f".{part}" if name else str(part)
    return name


def field_path(name: str) -> list[str | int]:
    """Read a field's name back into its path: ``add[0].lon`` -> ``["add", 0, "lon"]``."""
    path: list[str | int] = []
    for dotted in name.replace("[", ".[").split("."):
        if dotted.startswith("[") and dotted.endswith("]") and dotted[1:-1].isdigit():
            path.append(int(dotted[1:-1]))
        elif dotted:
            path.append(dotted)
    return path or [name]


class ConflictError(GridsvcError):
    """The request conflicts with what is stored now (a changed proposal, a refused step)."""


class UnauthenticatedError(GridsvcError):
    """The caller's credential is missing, malformed, expired or badly signed."""


class PermissionDeniedError(GridsvcError):
    """The caller is known but may not do this."""


class UnprocessableError(GridsvcError):
    """The request is well formed but cannot be done as it is (a key reused, another body)."""


class UnavailableError(GridsvcError):
    """Something the request needs cannot serve it now (the database, a PDF printer)."""


class DatabaseUnavailableError(UnavailableError):
    """The database cannot be reached or answered with an error."""


#: The status of each kind of error; a subclass answers with its nearest kind's.
STATUS_CODES: dict[type[GridsvcError], int] = {
    GridsvcError: 400,
    UnauthenticatedError: 401,
    PermissionDeniedError: 403,
    NotFoundError: 404,
    ConflictError: 409,
    InvalidParameterError: 422,
    UnprocessableError: 422,
    UnavailableError: 503,
}


def status_of(error: GridsvcError) -> int:
    """Return the HTTP status ``error`` answers with.

    An error raised with its own ``status_code`` (one class for several refusals, such as
    a photo's 413 or 415) keeps it; any other takes its nearest kind's in the table.
    """
    given = getattr(error, "status_code", None)
    if isinstance(given, int):
        return given
    return next(STATUS_CODES[kind] for kind in type(error).__mro__ if kind in STATUS_CODES)
