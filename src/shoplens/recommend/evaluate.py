"""Leave-one-out evaluation with full ranking over ALL items (default) or 99 sampled negatives.

Protocol (SASRec / S3-Rec): per user, the last item is the test target, the second-to-last
the validation target; the model trains on the rest. Full ranking scores every item in the
catalogue; items already in the history are excluded from the competition, EXCEPT the target
itself (re-purchases are real targets, so the target is never treated as seen). `sampled99`
ranks the target against 99 items the user never interacted with, drawn uniformly (or read
from a fixed negatives list). Scoring runs in batches so memory is bounded by
batch_size x n_items floats, whatever the number of users.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from shoplens.metrics import coverage, rank_of_target, ranking_metrics

PROTOCOLS = ("full", "sampled99")


@dataclass
class LeaveOneOut:
    train: list[np.ndarray]  # every user's training sequence (all but the last two items)
    users: np.ndarray  # users with >= 3 items: the ones evaluated
    valid_history: list[np.ndarray]
    valid_target: np.ndarray
    test_history: list[np.ndarray]  # = valid_history + the validation item
    test_target: np.ndarray
    full: list[np.ndarray]  # the complete sequences of the evaluated users (for negative sampling)


def leave_one_out(sequences: Sequence[np.ndarray], min_len: int = 3) -> LeaveOneOut:
    """Split time-ordered sequences; users shorter than `min_len` only train."""
    users = np.array([u for u, s in enumerate(sequences) if len(s) >= min_len], dtype=np.int64)
    train = [np.asarray(s[:-2] if len(s) >= min_len else s, dtype=np.int64) for s in sequences]
    evaluated = [np.asarray(sequences[u], dtype=np.int64) for u in users]
    return LeaveOneOut(
        train=train,
        users=users,
        valid_history=[s[:-2] for s in evaluated],
        valid_target=np.array([s[-2] for s in evaluated], dtype=np.int64),
        test_history=[s[:-1] for s in evaluated],
        test_target=np.array([s[-1] for s in evaluated], dtype=np.int64),
        full=evaluated,
    )


def sample_negatives(
    interacted: Sequence[np.ndarray], n_items: int, n_negatives: int = 99, seed: int = 0
) -> np.ndarray:
    """[n_users, n_negatives] items drawn uniformly without replacement among those the user never touched."""
    rng = np.random.default_rng(seed)
    out = np.empty((len(interacted), n_negatives), dtype=np.int64)
    for row, items in enumerate(interacted):
        forbidden = set(np.asarray(items).tolist())
        if n_items - len(forbidden) < n_negatives:
            raise ValueError(f"user row {row}: only {n_items - len(forbidden)} items left to sample {n_negatives} negatives")
        chosen: list[int] = []
        while len(chosen) < n_negatives:  # rejection sampling: histories are tiny next to the catalogue
            for item in rng.integers(0, n_items, size=2 * n_negatives).tolist():
                if item not in forbidden:
                    forbidden.add(item)
                    chosen.append(item)
                    if len(chosen) == n_negatives:
                        break
        out[row] = chosen
    return out


def target_ranks(
    model,
    histories: Sequence[np.ndarray],
    targets: np.ndarray,
    protocol: str = "full",
    negatives: np.ndarray | None = None,
    users: np.ndarray | None = None,
    times: Sequence[np.ndarray] | None = None,
    actions: Sequence[np.ndarray] | None = None,
    batch_size: int | None = None,
    top_k: int = 10,
) -> tuple[np.ndarray, np.ndarray]:
    """(0-based rank of each target, [n, top_k] full-ranking recommendation lists for coverage;
    top_k=0 skips the lists, e.g. for fast validation)."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
    if protocol == "sampled99" and negatives is None:
        raise ValueError("sampled99 needs negatives (see sample_negatives)")
    n_items = model.n_items
    targets = np.asarray(targets, dtype=np.int64)
    top_k = min(top_k, n_items)
    batch_size = batch_size or max(1, min(1024, 2**25 // max(n_items, 1)))  # <= 128 MiB of float32 scores
    ranks = np.empty(len(targets), dtype=np.int64)
    top_lists = np.empty((len(targets), top_k), dtype=np.int64)
    for start in range(0, len(targets), batch_size):
        rows = slice(start, start + batch_size)
        batch_hist = histories[rows]
        scores = np.array(
            model.score(batch_hist, users=None if users is None else users[rows],
                        times=None if times is None else times[rows],
                        actions=None if actions is None else actions[rows]),
            dtype=np.float32,
        )
        b = np.arange(len(batch_hist))
        target_scores = scores[b, targets[rows]].copy()
        if protocol == "sampled99":
            ranks[rows] = rank_of_target(scores[b[:, None], negatives[rows]], target_scores)
        # exclude the history from the competition, then put the target back: it is never "seen"
        lengths = np.array([len(h) for h in batch_hist])
        if lengths.sum():
            scores[np.repeat(b, lengths), np.concatenate(batch_hist)] = -np.inf
        scores[b, targets[rows]] = target_scores
        if top_k:
            top = np.argpartition(-scores, top_k - 1, axis=1)[:, :top_k]
            top_lists[rows] = np.take_along_axis(top, np.argsort(-np.take_along_axis(scores, top, 1), 1), 1)
        if protocol == "full":
            scores[b, targets[rows]] = -np.inf  # the target does not compete with itself
            ranks[rows] = rank_of_target(scores, target_scores)
    return ranks, top_lists


def evaluate(
    model,
    histories: Sequence[np.ndarray],
    targets: np.ndarray,
    protocol: str = "full",
    negatives: np.ndarray | None = None,
    users: np.ndarray | None = None,
    times: Sequence[np.ndarray] | None = None,
    actions: Sequence[np.ndarray] | None = None,
    batch_size: int | None = None,
    top_k: int = 10,
) -> dict[str, float]:
    """HR@1/5/10/20, NDCG@5/10/20, MRR and top-`top_k` catalogue coverage (always from full ranking)."""
    ranks, top_lists = target_ranks(model, histories, targets, protocol, negatives, users, times, actions, batch_size,
                                    top_k)
    result = {**ranking_metrics(ranks), "n_users": len(ranks)}
    if top_k:
        result[f"coverage@{top_k}"] = coverage(top_lists, model.n_items)
    return result
