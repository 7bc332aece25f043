"""The city in memory: read once per process, warmed at start-up, kept across facility changes.

What-ifs, siting and live coverage compute on :class:`~gridsvc.coverage.analysis.CityInputs`.
Reading the demo city from PostGIS takes seconds, so the inputs are kept per database and
district, with the data versions of the tables they were read from
(:func:`gridsvc.coverage.freshness.input_versions`). A request whose versions are the kept
ones uses them as they are; when only facilities were written since, the grids, residents
and network stay and only the facilities are read again; any other write reads the city
anew. The server warms the city in a background thread at start-up (``GRIDSVC_WARM_CITY``)
so that the first what-if finds it ready.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from gridsvc.common.memory import freeze_long_lived
from gridsvc.config import get_settings
from gridsvc.coverage import analysis, freshness, refresh, scenario, store
from gridsvc.coverage.circles import load_circles
from gridsvc.grids import service as grids_service

logger = logging.getLogger("gridsvc.coverage")

#: Tables whose writes leave the grids, residents and network in memory valid.
FACILITY_TABLES = ("facilities", "facility_types")
# Memos of analysis (grid-to-edge pairs, cuts of grids every edge near reaches) and of the
# what-if that depend on no facility, so they outlive a reload of the facilities.
_FACILITY_FREE_MEMOS = ("grid_edges", "all_reached", *scenario.FACILITY_FREE_MEMOS)
_CACHE_SIZE = 3


@dataclass
class _Kept:
    versions: dict[str, str]
    inputs: analysis.CityInputs


_CACHE: OrderedDict[tuple[str, str | None], _Kept] = OrderedDict()
# One reader at a time: a request arriving while the city is read waits for it.
LOADING = threading.Lock()
#: The start-up warm-up's state: off, warming, warm or failed.
WARM_STATE = {"state": "off"}


def clear() -> None:
    """Forget every city kept in memory."""
    with LOADING:
        _CACHE.clear()


def city_inputs(session: Session, district: str | None = None) -> analysis.CityInputs:
    """Return the city (or a district) in memory, current with the data ``session`` sees."""
    if district is not None:
        grids_service.check_code("district", district)
    key = (str(session.get_bind().engine.url), district)
    versions = json.loads(freshness.input_versions(session))
    kept = _CACHE.get(key)
    if kept is not None and kept.versions == versions:
        return kept.inputs
    with LOADING:
        kept = _CACHE.get(key)
        if kept is None or kept.versions != versions:
            kept = _Kept(versions, _read(session, district, kept, versions))
            _CACHE[key] = kept
        _CACHE.move_to_end(key)
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
        return kept.inputs


def _read(
    session: Session, district: str | None, kept: _Kept | None, versions: dict[str, str]
) -> analysis.CityInputs:
    """Read the city, or only its facilities when nothing else changed since ``kept``."""
    if kept is None or not facilities_only(kept.versions, versions):
        return refresh.load_inputs(session, district)
    facilities = store.load_facilities(session, kept.inputs.grids)
    return with_facilities(kept.inputs, facilities)


def facilities_only(before: dict[str, str], now: dict[str, str]) -> bool:
    """Whether the only tables written between two sets of versions are facility tables."""
    changed = {name for name in before.keys() | now.keys() if before.get(name) != now.get(name)}
    return changed <= set(FACILITY_TABLES)


def with_facilities(inputs: analysis.CityInputs, facilities: tuple) -> analysis.CityInputs:
    """Return the same city with other facilities (ids, type codes, metric x, y).

    Grids, residents (and their snaps onto the network) and the network are shared; of the
    memos, only those that depend on no facility are carried over.
    """
    ids, types, xy = facilities
    memo = {k: v for k, v in inputs.memo.items() if k[0] in _FACILITY_FREE_MEMOS}
    return replace(
        inputs,
        facility_ids=ids,
        facility_types=types,
        facility_xy=xy,
        memo=memo,
    )


def warm(session: Session) -> analysis.CityInputs:
    """Read the city and prepare what every what-if starts from (each circle, both modes)."""
    inputs = city_inputs(session)
    if analysis.has_network(inputs):
        _ = inputs.resident_snaps
        scenario.grid_edges(inputs, get_settings().service_area_buffer_m)
    for circle in load_circles().values():
        for mode in analysis.MODES:
            types, limit = circle.facility_types, circle.threshold_m
            scenario.baseline(inputs, circle.key, types, mode, limit)
    return inputs


def _warm_in_background(make_session: Callable[[], Session]) -> None:
    try:
        with make_session() as session:
            inputs = warm(session)
            session.rollback()
    except Exception:  # the first request then reads the city itself
        WARM_STATE["state"] = "failed"
        logger.exception("warming the city failed; the first what-if will read it")
        return
    WARM_STATE["state"] = "warm"
    freeze_long_lived()  # the city is kept until the process ends
    logger.info("city warm: %d grids, %d facilities", len(inputs.grids), len(inputs.facility_ids))


def start_warming(make_session: Callable[[], Session]) -> threading.Thread:
    """Warm the city in a daemon thread (start-up and /health never wait for it)."""
    WARM_STATE["state"] = "warming"
    thread = threading.Thread(
        target=_warm_in_background, args=(make_session,), name="gridsvc-warm-city", daemon=True
    )
    thread.start()
    return thread
