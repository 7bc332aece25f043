"""Garbage collection around bulk work: frozen while it runs, restored after."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Iterator

import pytest

from gridsvc.common import memory
from gridsvc.common.memory import YOUNG_THRESHOLD, freeze_long_lived, objects_frozen


class Node:
    """An object that can be in a reference cycle and be watched through a weak reference."""

    def __init__(self) -> None:
        self.other: Node | None = None


def cycle() -> weakref.ref:
    """Garbage that only the collector frees: two nodes that refer to each other."""
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


@pytest.fixture
def unfrozen(monkeypatch) -> Iterator[None]:
    """A process with nothing frozen (the suite freezes its own objects after collection)."""
    gc.unfreeze()
    monkeypatch.setattr(memory, "_for_good", False)
    thresholds = gc.get_threshold()
    yield
    gc.set_threshold(*thresholds)
    gc.freeze()


def test_frozen_while_inside_and_restored_after(unfrozen) -> None:
    before = gc.get_threshold()
    garbage = cycle()
    with objects_frozen():
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (YOUNG_THRESHOLD, *before[1:])
        gc.collect()
        assert garbage() is not None  # made before: frozen, not collected
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert garbage() is None  # collected again once unfrozen


def test_garbage_made_inside_is_still_collected(unfrozen) -> None:
    with objects_frozen():
        garbage = cycle()
        gc.collect()
        assert garbage() is None


def test_an_outer_freeze_is_left_in_place(unfrozen) -> None:
    kept = cycle()
    freeze_long_lived()
    with objects_frozen():
        pass
    assert gc.get_freeze_count() > 0
    gc.collect()
    assert kept() is not None
    with objects_frozen(), objects_frozen():
        pass
    assert gc.get_freeze_count() > 0


def test_the_last_block_out_unfreezes_nested_or_in_another_thread(unfrozen) -> None:
    before = gc.get_threshold()
    with objects_frozen():
        with objects_frozen():
            pass
        assert gc.get_freeze_count() > 0  # the inner block left the outer's freeze
        assert gc.get_threshold() == (YOUNG_THRESHOLD, *before[1:])
    assert gc.get_freeze_count() == 0
    entered, leave = threading.Event(), threading.Event()

    def other_block() -> None:
        with objects_frozen():
            entered.set()
            leave.wait(10)

    other = threading.Thread(target=other_block)
    with objects_frozen():
        other.start()
        assert entered.wait(10)
    assert gc.get_freeze_count() > 0  # the other thread's block is still running
    assert gc.get_threshold() == (YOUNG_THRESHOLD, *before[1:])
    leave.set()
    other.join(10)
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before


def test_a_server_freezes_what_it_holds_once_started(unfrozen) -> None:
    from fastapi.testclient import TestClient

    from tests.conftest import shared_app

    assert gc.get_freeze_count() == 0
    with TestClient(shared_app()) as client:  # the lifespan's start-up runs
        assert gc.get_freeze_count() > 0
        assert client.get("/health").status_code == 200


def test_freezing_for_good_keeps_old_garbage_and_frees_what_is_dropped(unfrozen) -> None:
    garbage = cycle()
    kept = Node()
    watched = weakref.ref(kept)
    freeze_long_lived()
    gc.collect()
    assert garbage() is not None  # a frozen cycle waits for an unfreeze
    del kept
    assert watched() is None  # a frozen object nothing refers to is freed at once
