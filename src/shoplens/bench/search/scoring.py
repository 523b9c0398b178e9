"""What the search bench's parts share: NDCG@10 and lift, the per-query score table the relevance bench's
fusions are tuned on, the query split, the fusion-weight grid and the embedding cache."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np

from shoplens.metrics import graded_ndcg_at_k
from shoplens.search.hybrid import fuse
from shoplens.text import CachedEncoder, get_encoder

DEFAULT_CACHE = "/tmp/shoplens-search-bench-cache.duckdb"
WEIGHTED_GRID = [round(w, 2) for w in np.arange(0.0, 1.01, 0.1)]


def ndcg_at_10(gains: np.ndarray, scores: np.ndarray, tie_break: np.ndarray) -> float:
    """NDCG@10 of one candidate list; ties in `scores` are broken by `tie_break` (seeded random)."""
    return graded_ndcg_at_k(gains, scores, 10, tie_break)


def random_ndcg_at_10(gains: np.ndarray) -> float:
    """Expected NDCG@10 of a uniformly random ordering: every candidate is equally likely at every position."""
    discounts = 1 / np.log2(np.arange(2, 12))
    ideal = np.sort(gains)[::-1][:10]
    return float(gains.mean() * discounts[: min(len(gains), 10)].sum() / (ideal * discounts[: len(ideal)]).sum())


def lift(ndcg: float, random: float) -> float:
    return (ndcg - random) / (1 - random)


# ------------------------------------------------------------------------------------------ relevance
def split_queries(queries: np.ndarray, seed: int, tune_share: float) -> tuple[np.ndarray, np.ndarray]:
    """A seeded permutation of the sorted distinct queries: the first `tune_share` tune, the rest evaluate."""
    order = np.random.default_rng(seed).permutation(len(queries))
    n_tune = int(tune_share * len(queries))
    return queries[order[:n_tune]], queries[order[n_tune:]]


class QueryScores:
    """Per query: gains of its candidates and each method's candidate scores; NDCG per method on demand."""

    def __init__(self, seed: int):
        self.gains: dict[str, np.ndarray] = {}
        self.scores: dict[str, dict[str, np.ndarray]] = {}
        self.rng = np.random.default_rng(seed)
        self.tie_break: dict[str, np.ndarray] = {}
        self.titles: dict[str, np.ndarray] = {}

    def add(self, query: str, gains: np.ndarray, scores: dict[str, np.ndarray], titles=None) -> None:
        self.gains[query] = gains
        self.titles[query] = titles
        self.scores[query] = scores
        self.tie_break[query] = self.rng.random(len(gains))

    def ndcg(self, queries, score_fn) -> float:
        """Mean NDCG@10 of score_fn(scores dict) -> scores over the rankable `queries`."""
        values = [ndcg_at_10(self.gains[q], score_fn(self.scores[q]), self.tie_break[q]) for q in self.rankable(queries)]
        return float(np.mean(values))

    def random(self, queries) -> float:
        return float(np.mean([random_ndcg_at_10(self.gains[q]) for q in self.rankable(queries)]))

    def rankable(self, queries) -> list[str]:
        """Queries with two or more candidates, some relevant: a single candidate has no order to get right
        (with those, random NDCG is 0.9221 instead of the issue's 0.9119)."""
        return [q for q in queries if len(self.gains[q]) > 1 and self.gains[q].max() > 0]


def best_keyword_weight(table: QueryScores, queries, keyword: str, dense: str) -> float:
    """The WEIGHTED_GRID keyword weight of the weighted fusion with the best mean NDCG@10 on `queries`."""
    return max(WEIGHTED_GRID, key=lambda w: table.ndcg(queries, lambda s: fuse(
        s[keyword], s[dense], "weighted", keyword_weight=w)))


def cached_encoder(name: str, cache: str | Path) -> CachedEncoder:
    return CachedEncoder(get_encoder(name), duckdb.connect(str(cache)))
