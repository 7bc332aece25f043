"""The one table of error statuses: each kind answers with its status, a subclass its kind's."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import gridsvc
from gridsvc.common.errors import (
    ConflictError,
    GridsvcError,
    InvalidParameterError,
    NotFoundError,
    status_of,
)
from gridsvc.issues.bulletins.pdf import PdfUnavailableError
from gridsvc.issues.idempotency import IdempotencyKeyReused
from gridsvc.issues.photos.service import AfterPhotoMissing
from gridsvc.issues.reporters.secrets import ReporterActionRefused

#: Errors that name their status themselves instead of taking their kind's: none.
STATUS_OF_THEIR_OWN: set[str] = set()


def every_error_class() -> set[type[GridsvcError]]:
    """Import every module of gridsvc and return every subclass of GridsvcError."""
    for module in pkgutil.walk_packages(gridsvc.__path__, "gridsvc."):
        importlib.import_module(module.name)
    found: set[type[GridsvcError]] = set()
    pending = [GridsvcError]
    while pending:
        for subclass in pending.pop().__subclasses__():
            found.add(subclass)
            pending.append(subclass)
    return found


def test_only_the_table_names_statuses() -> None:
    own = {
        f"{kind.__module__}.{kind.__qualname__}"
        for kind in every_error_class()
        if isinstance(vars(kind).get("status_code"), int)
    }
    assert own == STATUS_OF_THEIR_OWN


class StaleProposal(ConflictError):
    """A conflict two steps below the kind."""


class StaleStep(StaleProposal):
    """Its subclass: still a conflict."""


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (GridsvcError("x"), 400),
        (NotFoundError("x"), 404),
        (InvalidParameterError("limit", "too big"), 422),
        (StaleStep("x"), 409),
        (AfterPhotoMissing("x"), 409),
        (ReporterActionRefused("x"), 409),
        (IdempotencyKeyReused("x"), 422),
        (PdfUnavailableError("x"), 503),
    ],
)
def test_an_error_answers_with_its_nearest_kind(error: GridsvcError, status: int) -> None:
    assert status_of(error) == status


def test_an_error_raised_with_its_own_status_keeps_it() -> None:
    error = GridsvcError("too large")
    error.status_code = 413
    assert status_of(error) == 413
