"""Ranking metrics, computed from the 0-based rank of each held-out target.

Every ranking bench reduces a model's output to one integer per test case: how many
candidates scored ABOVE the target (ties count against the target, so a constant
scorer cannot look good). From those ranks:

    HR@k    = mean(rank < k)
    NDCG@k  = mean(1 / log2(rank + 2) if rank < k else 0)   (one relevant item: IDCG = 1)
    MRR     = mean(1 / (rank + 1))                            (over the full candidate list)
    coverage = distinct items in all top-k lists / catalogue size

A NaN score ranks last, below -inf: a NaN target ranks behind every candidate (rank = number of
candidates), a NaN candidate is above no target but a NaN one, and graded NDCG places NaN-scored
candidates at the end. A model that emits NaN can therefore never look better for it. Ranks
themselves must be non-negative integers (NaN or negative ranks raise ValueError).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np


def rank_of_target(candidate_scores: np.ndarray, target_scores: np.ndarray) -> np.ndarray:
    """0-based rank of each row's target among that row's candidates (target NOT among them).

    candidate_scores: [n, m] scores of the competing candidates (use -inf for excluded ones);
    target_scores: [n]. Ties count against the target (pessimistic). NaN ranks last: a NaN
    target has every candidate above it, a NaN candidate is above no finite or infinite target.
    """
    candidate_scores = np.asarray(candidate_scores)
    target_scores = np.asarray(target_scores).reshape(-1, 1)
    # `x >= NaN` is False, which would make a NaN target a perfect hit: count every candidate instead
    above = (candidate_scores >= target_scores) | np.isnan(target_scores)
    return above.sum(axis=1).astype(np.int64)


def _check_ranks(ranks: Sequence[int], dtype=None) -> np.ndarray:
    """The ranks as an array, refusing NaN, negative or fractional ones (they would inflate or hide a miss)."""
    ranks = np.asarray(ranks)
    if ranks.size and not (np.all(np.isfinite(ranks)) and ranks.min() >= 0 and np.all(ranks == np.floor(ranks))):
        raise ValueError("ranks must be non-negative integers (0 = the target came first); got NaN, "
                         "infinite, negative or fractional values")
    return ranks if dtype is None else ranks.astype(dtype)


def hr_at_k(ranks: Sequence[int], k: int) -> float:
    ranks = _check_ranks(ranks)
    return float(np.mean(ranks < k)) if ranks.size else 0.0


def ndcg_at_k(ranks: Sequence[int], k: int) -> float:
    ranks = _check_ranks(ranks, np.float64)
    if not ranks.size:
        return 0.0
    gains = np.where(ranks < k, 1.0 / np.log2(ranks + 2.0), 0.0)
    return float(gains.mean())


def graded_ndcg_at_k(gains: np.ndarray, scores: np.ndarray, k: int, tie_break: np.ndarray | None = None) -> float:
    """NDCG@k of ONE ranked candidate list with graded gains (>= 0, some > 0): the candidates ordered by
    `scores`, ties broken by `tie_break` (e.g. seeded random numbers; default: the order given).
    NaN scores rank last (below -inf), ties among them broken by `tie_break` too."""
    gains = np.asarray(gains, dtype=np.float64)
    if not (np.all(np.isfinite(gains)) and gains.min(initial=0.0) >= 0 and gains.max(initial=0.0) > 0):
        raise ValueError("gains must be finite and >= 0 with at least one > 0 (else NDCG is undefined)")
    scores = np.asarray(scores, dtype=np.float64)
    tie_break = np.arange(len(gains)) if tie_break is None else tie_break
    # first key (last in lexsort's list): NaN-scored candidates after all others, even after -inf
    order = np.lexsort((tie_break, -scores, np.isnan(scores)))[:k]
    discounts = 1 / np.log2(np.arange(2, k + 2))
    ideal = np.sort(gains)[::-1][:k]
    return float((gains[order] * discounts[: len(order)]).sum() / (ideal * discounts[: len(ideal)]).sum())


def mrr(ranks: Sequence[int]) -> float:
    ranks = _check_ranks(ranks, np.float64)
    return float(np.mean(1.0 / (ranks + 1.0))) if ranks.size else 0.0


def coverage(recommended: Iterable[Iterable[int]], n_items: int) -> float:
    """Share of the catalogue that appears in at least one recommendation list."""
    seen: set[int] = set()
    for items in recommended:
        seen.update(int(i) for i in np.asarray(items).ravel())
    return len(seen) / n_items if n_items else 0.0


def ranking_metrics(
    ranks: Sequence[int], ks: Iterable[int] = (1, 5, 10, 20), ndcg_ks: Iterable[int] = (5, 10, 20)
) -> dict[str, float]:
    """The standard table: HR@ks, NDCG@ndcg_ks, MRR (keys like "HR@10", "NDCG@10", "MRR")."""
    out = {f"HR@{k}": hr_at_k(ranks, k) for k in ks}
    out.update({f"NDCG@{k}": ndcg_at_k(ranks, k) for k in ndcg_ks})
    out["MRR"] = mrr(ranks)
    return out
