"""Siting against brute force over every choice of k candidates on tiny instances."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
from scipy.sparse import csr_matrix

from gridsvc.coverage import siting


def instance(seed: int, candidates: int = 9, demand: int = 30) -> tuple[np.ndarray, csr_matrix]:
    rng = np.random.default_rng(seed)
    weights = rng.integers(1, 50, demand).astype(float)
    cover = csr_matrix((rng.random((candidates, demand)) < 0.25).astype(float))
    return weights, cover


def brute_force(weights: np.ndarray, cover: csr_matrix, k: int) -> float:
    dense = cover.toarray() > 0
    return max(
        weights[dense[list(choice)].any(axis=0)].sum()
        for choice in combinations(range(dense.shape[0]), k)
    )


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [1, 2, 3])
def test_exact_equals_brute_force_and_greedy_never_beats_it(seed: int, k: int) -> None:
    weights, cover = instance(seed)
    best = brute_force(weights, cover, k)
    exact = siting.exact(weights, cover, k)
    assert exact.optimal
    assert exact.objective == pytest.approx(best)
    assert len(exact.chosen) == k
    assert siting.covered_weight(weights, cover, exact.chosen) == pytest.approx(best)
    assert sum(exact.gains) == pytest.approx(best)
    greedy = siting.lazy_greedy(weights, cover, k)
    assert greedy.objective <= best + 1e-9
    assert greedy.objective >= (1 - 1 / np.e) * best
    assert siting.covered_weight(weights, cover, greedy.chosen) == pytest.approx(greedy.objective)


def test_lazy_greedy_equals_plain_greedy() -> None:
    weights, cover = instance(42, candidates=30, demand=200)
    dense = cover.toarray() > 0
    covered = np.zeros(dense.shape[1], dtype=bool)
    plain = []
    for _ in range(6):
        gains = [weights[dense[c] & ~covered].sum() if c not in plain else -1 for c in range(30)]
        plain.append(int(np.argmax(gains)))
        covered |= dense[plain[-1]]
    lazy = siting.lazy_greedy(weights, cover, 6)
    assert siting.covered_weight(weights, cover, lazy.chosen) == pytest.approx(
        weights[covered].sum()
    )
    assert lazy.gains == sorted(lazy.gains, reverse=True)


def test_reducing_demand_keeps_every_objective() -> None:
    weights, cover = instance(3, candidates=6, demand=80)
    merged, reduced = siting.reduce_demand(weights, cover)
    assert reduced.shape[1] < cover.shape[1]
    for choice in combinations(range(6), 2):
        assert siting.covered_weight(merged, reduced, list(choice)) == pytest.approx(
            siting.covered_weight(weights, cover, list(choice))
        )
