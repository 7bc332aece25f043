"""Maximal covering: pick k sites that cover the most uncovered residents.

Pure: a demand weight per demand point and a sparse candidates × demand matrix that says
which candidate would cover which demand. The exact answer is a MILP solved by CBC
through PuLP (Church and ReVelle's maximal covering location problem); at city scale a
lazy greedy (CELF) answers in a blink and keeps at least 1 - 1/e of the optimum, since
coverage is submodular.
"""

from __future__ import annotations

import heapq
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csr_matrix


@dataclass
class Sites:
    """Chosen candidates (in the order picked), the weight each adds, and the total."""

    chosen: list[int]
    gains: list[float]
    objective: float
    method: str
    optimal: bool = False
    notes: list[str] = field(default_factory=list)


def reduce_demand(weights: np.ndarray, cover: csr_matrix) -> tuple[np.ndarray, csr_matrix]:
    """Merge demand points that the same candidates cover (an exact reduction).

    Demand no candidate covers is dropped; the objective of every choice is unchanged.
    """
    by_demand = cover.T.tocsr()
    by_demand.sort_indices()
    groups: dict[bytes, int] = {}
    label = np.full(by_demand.shape[0], -1, dtype=np.int64)
    for demand in range(by_demand.shape[0]):
        start, end = by_demand.indptr[demand], by_demand.indptr[demand + 1]
        if start == end:
            continue
        key = by_demand.indices[start:end].tobytes()
        label[demand] = groups.setdefault(key, len(groups))
    kept = label >= 0
    merged = np.bincount(label[kept], weights=weights[kept], minlength=len(groups))
    matrix = csr_matrix(
        (np.ones(kept.sum()), (label[kept], np.flatnonzero(kept))),
        shape=(len(groups), by_demand.shape[0]),
    )
    # Row g of ``matrix`` marks the demands in group g; cover @ matrix.T links to groups.
    reduced = (cover @ matrix.T).tocsr()
    reduced.data[:] = 1.0
    return merged, reduced


def lazy_greedy(weights: np.ndarray, cover: csr_matrix, k: int) -> Sites:
    """Pick ``k`` candidates greedily by marginal covered weight, with lazy re-evaluation.

    Parameters
    ----------
    weights
        Weight of each demand point (uncovered residents), shape (demand,).
    cover
        Candidates × demand, nonzero where a candidate covers a demand point.
    k
        Number of sites.
    """
    cover = cover.tocsr()
    covered = np.zeros(cover.shape[1], dtype=bool)

    def gain(candidate: int) -> float:
        row = cover.indices[cover.indptr[candidate] : cover.indptr[candidate + 1]]
        return float(weights[row[~covered[row]]].sum())

    heap = [(-gain(c), c, 0) for c in range(cover.shape[0])]
    heapq.heapify(heap)
    chosen: list[int] = []
    gains: list[float] = []
    while heap and len(chosen) < k:
        negative, candidate, round_seen = heapq.heappop(heap)
        if round_seen == len(chosen):
            chosen.append(candidate)
            gains.append(-negative)
            row = cover.indices[cover.indptr[candidate] : cover.indptr[candidate + 1]]
            covered[row] = True
        else:
            heapq.heappush(heap, (-gain(candidate), candidate, len(chosen)))
    return Sites(chosen, gains, float(sum(gains)), "greedy")


def exact(weights: np.ndarray, cover: csr_matrix, k: int, time_limit: float = 60.0) -> Sites:
    """Solve the maximal covering MILP with CBC (PuLP) on the reduced instance.

    Maximise the weight of covered demand, each demand covered when at least one chosen
    candidate covers it, choosing exactly ``min(k, candidates)`` candidates.
    """
    import pulp

    merged, reduced = reduce_demand(weights, cover)
    k = min(k, cover.shape[0])
    problem = pulp.LpProblem("maximal_covering", pulp.LpMaximize)
    site = [problem.add_variable(f"x{c}", cat="Binary") for c in range(cover.shape[0])]
    served = [problem.add_variable(f"y{d}", 0, 1) for d in range(len(merged))]
    problem += pulp.lpSum(float(w) * y for w, y in zip(merged, served, strict=True))
    problem += pulp.lpSum(site) == k
    by_demand = reduced.T.tocsr()
    for demand, variable in enumerate(served):
        covering = by_demand.indices[by_demand.indptr[demand] : by_demand.indptr[demand + 1]]
        problem += variable <= pulp.lpSum(site[c] for c in covering)
    with warnings.catch_warnings():
        # PuLP 3 deprecates its bundled CBC in favour of a separately installed one.
        warnings.simplefilter("ignore", DeprecationWarning)
        status = problem.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit))
    picked = [c for c in range(cover.shape[0]) if (site[c].value() or 0) > 0.5]
    ordered = _gains_in_order(weights, cover, picked)
    optimal = pulp.LpStatus[status] == "Optimal"
    notes = [] if optimal else [f"CBC stopped: {pulp.LpStatus[status]} (time limit {time_limit} s)"]
    return Sites(ordered.chosen, ordered.gains, ordered.objective, "exact", optimal, notes)


def _gains_in_order(weights: np.ndarray, cover: csr_matrix, picked: list[int]) -> Sites:
    """Order the picked candidates greedily so each reports the residents it adds."""
    sub = cover[picked]
    order = lazy_greedy(weights, sub, len(picked))
    return Sites([picked[i] for i in order.chosen], order.gains, order.objective, "order")


def covered_weight(weights: np.ndarray, cover: csr_matrix, chosen: list[int]) -> float:
    """Return the total weight of demand covered by ``chosen``."""
    if not chosen:
        return 0.0
    hit = np.asarray(cover[chosen].sum(axis=0)).ravel() > 0
    return float(weights[hit].sum())
