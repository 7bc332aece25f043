"""Heavy routes (siting, what-if, full-city maps, exports): a few at a time, each time-limited.

A route marked ``@heavy`` runs in a worker thread of its own small capacity limiter
(``GRIDSVC_HEAVY_CONCURRENCY``), not in the default thread pool, so however many heavy
calls arrive, a report POST still finds a free thread. A heavy call waits for its turn at
most ``GRIDSVC_HEAVY_QUEUE_WAIT_S`` (then 503 with ``Retry-After``), and every SQL
statement it runs is cancelled after ``GRIDSVC_HEAVY_TIMEOUT_S`` (then 504).
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
from fastapi import FastAPI, Request
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException

from gridsvc.common.openapi import answers
from gridsvc.config import get_settings

#: The parameter ``@heavy`` adds to a route so that FastAPI hands it the request.
REQUEST_PARAMETER = "heavy_request"
#: PostgreSQL's SQLSTATE for a statement cancelled by statement_timeout.
QUERY_CANCELED = "57014"
HEAVY_WORK = "heavy requests (siting, what-if, full-city maps, exports)"


@dataclass(frozen=True)
class HeavyLanes:
    """An app's lanes for heavy work: admission to a turn, and the threads that run it.

    ``turns`` decides who runs and is waited on with a time limit; ``threads`` has as many
    tokens, so a call that holds a turn never waits for its thread.
    """

    turns: anyio.CapacityLimiter
    threads: anyio.CapacityLimiter


def lanes_of(app: FastAPI) -> HeavyLanes:
    """Return the app's heavy lanes, made on first use inside its event loop."""
    lanes = getattr(app.state, "heavy_lanes", None)
    if lanes is None:
        size = get_settings().heavy_concurrency
        lanes = HeavyLanes(anyio.CapacityLimiter(size), anyio.CapacityLimiter(size))
        app.state.heavy_lanes = lanes
    return lanes


def busy(wait_s: float, size: int) -> HTTPException:
    """Return the 503 of a heavy call that waited too long for its turn."""
    retry = max(1, math.ceil(wait_s))
    return HTTPException(
        503,
        f"busy: {size} {HEAVY_WORK} are running and this one waited {wait_s:g} s for its "
        f"turn (GRIDSVC_HEAVY_CONCURRENCY, GRIDSVC_HEAVY_QUEUE_WAIT_S); try again in "
        f"{retry} s",
        headers={"Retry-After": str(retry)},
    )


def timed_out(timeout_s: float) -> HTTPException:
    """Return the 504 of a heavy call whose SQL ran past the time limit."""
    return HTTPException(
        504,
        f"this request's database work took longer than {timeout_s:g} s "
        "(GRIDSVC_HEAVY_TIMEOUT_S) and was stopped; narrow it (a district, fewer candidates) "
        "or try again later",
    )


def with_statement_timeout(call: Callable[[], Any], session: Session | None, seconds: float):
    """Return ``call`` preceded by a transaction-local statement_timeout on ``session``."""

    def run() -> Any:
        if session is not None:
            milliseconds = str(max(1, round(seconds * 1000)))
            session.execute(
                text("SELECT set_config('statement_timeout', :ms, true)"), {"ms": milliseconds}
            )
        return call()

    return run


async def run_heavy(app: FastAPI, call: Callable[[], Any], session: Session | None) -> Any:
    """Run ``call`` in a heavy lane: wait for a turn (503), limit its statements (504)."""
    settings = get_settings()
    lanes = lanes_of(app)
    with anyio.move_on_after(settings.heavy_queue_wait_s) as waiting:
        await lanes.turns.acquire()
    if waiting.cancelled_caught:
        raise busy(settings.heavy_queue_wait_s, int(lanes.turns.total_tokens))
    try:
        limited = with_statement_timeout(call, session, settings.heavy_timeout_s)
        return await anyio.to_thread.run_sync(limited, limiter=lanes.threads)
    except OperationalError as error:
        if getattr(error.orig, "sqlstate", None) == QUERY_CANCELED:
            raise timed_out(settings.heavy_timeout_s) from None
        raise
    finally:
        lanes.turns.release()


def heavy(route: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a synchronous route as heavy work (put it under ``@router.get``/``post``)."""
    signature = inspect.signature(route, eval_str=True)
    parameters = list(signature.parameters.values())
    # FastAPI hands the request to one parameter only: the route's own, else ours.
    own = next((p.name for p in parameters if p.annotation is Request), None)
    if own is None:
        parameters.append(
            inspect.Parameter(REQUEST_PARAMETER, inspect.Parameter.KEYWORD_ONLY, annotation=Request)
        )

    @functools.wraps(route)
    async def run(**kwargs: Any) -> Any:
        request = kwargs[own] if own else kwargs.pop(REQUEST_PARAMETER)
        session = next((value for value in kwargs.values() if isinstance(value, Session)), None)
        return await run_heavy(request.app, functools.partial(route, **kwargs), session)

    run.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    return answers(503, 504)(run)
