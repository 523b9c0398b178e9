"""Learned fusion: a LightGBM LambdaRank model over per-candidate features, fitted on judged queries.

    features = candidate_features(query, titles, word_scores, ngram_scores, dense_scores)   # one query
    fusion = LearnedFusion().fit(features_of_all_queries, gains, group_sizes)
    scores = fusion.predict(features)

Fixed-weight fusion sees two numbers per candidate; shop searches also hinge on whether the query's last word
(usually the product type: "cordless *drill*") and its numbers ("1/2 in.") are in the title, and on how far a
candidate trails the best one. The ranker learns how to weigh those from the shop's own judgements (e.g.
graded query-item pairs, or clicks turned into grades). `SearchIndex.fit_fusion` computes the features from
the index and fits this model; the relevance bench runs the same functions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import lightgbm as lgb
import numpy as np

from shoplens.search.hybrid import ranks
from shoplens.search.keyword import keyword_tokens

FEATURES = (
    "bm25",                 # word BM25 score
    "bm25_share_of_best",   # bm25 / the best bm25 among the query's candidates
    "bm25_rank",            # 1 = best among the candidates
    "trigram_share_of_best",  # character-3-gram BM25 (typo and partial-word matches), over the best
    "cosine",               # query-title embedding cosine
    "cosine_gap_to_best",   # cosine - the best cosine among the candidates
    "cosine_rank",
    "query_coverage",       # share of the query's words found in the title
    "query_prefix_coverage",  # ... counting a title word that shares the first 4 letters ("drill" ~ "drilling")
    "last_word_in_title",   # the query's last word, usually the product type
    "numbers_matched",      # share of the query's tokens with digits found in the title (-1: none in the query)
    "title_words",
    "query_words",
)
PREFIX_CHARS = 4


def candidate_features(query: str, titles: Sequence[str], word_scores: np.ndarray, ngram_scores: np.ndarray,
                       dense_scores: np.ndarray) -> np.ndarray:
    """Feature matrix (len(titles), len(FEATURES)) of one query's candidates; scores are per candidate."""
    word_scores = np.asarray(word_scores, dtype=np.float64)
    ngram_scores = np.asarray(ngram_scores, dtype=np.float64)
    dense_scores = np.asarray(dense_scores, dtype=np.float64)
    query_words = keyword_tokens(query)
    query_set = set(query_words)
    query_prefixes = {word[:PREFIX_CHARS] for word in query_set}
    query_numbers = {word for word in query_set if any(ch.isdigit() for ch in word)}
    last_word = query_words[-1] if query_words else None
    text_features = []
    for title in titles:
        title_words = keyword_tokens(title)
        title_set = set(title_words)
        title_prefixes = {word[:PREFIX_CHARS] for word in title_set}
        text_features.append((
            len(query_set & title_set) / len(query_set) if query_set else 0.0,
            len(query_prefixes & title_prefixes) / len(query_prefixes) if query_prefixes else 0.0,
            float(last_word in title_set) if last_word else 0.0,
            len(query_numbers & title_set) / len(query_numbers) if query_numbers else -1.0,
            len(title_words),
            len(query_words),
        ))
    score_features = np.column_stack([
        word_scores, _share_of_best(word_scores), ranks(word_scores), _share_of_best(ngram_scores),
        dense_scores, dense_scores - (dense_scores.max() if len(dense_scores) else 0.0), ranks(dense_scores),
    ])
    return np.hstack([score_features, np.asarray(text_features, dtype=np.float64).reshape(len(titles), -1)])


def _share_of_best(scores: np.ndarray) -> np.ndarray:
    best = scores.max() if len(scores) else 0.0
    return scores / best if best > 0 else np.zeros_like(scores)


class LearnedFusion:
    """LambdaRank (LightGBM) on `candidate_features`, optimising NDCG@`ndcg_at` with gains as judged.

    grade_steps: gains are rounded to multiples of 1/grade_steps (LambdaRank needs integer labels; each label's
    gain is set back to label / grade_steps, so the model optimises the same NDCG the bench reports).
    """

    def __init__(self, n_estimators: int = 200, learning_rate: float = 0.05, num_leaves: int = 7,
                 min_child_samples: int = 50, ndcg_at: int = 10, grade_steps: int = 3, seed: int = 0):
        self.n_estimators, self.learning_rate, self.num_leaves = n_estimators, learning_rate, num_leaves
        self.min_child_samples, self.ndcg_at, self.grade_steps, self.seed = min_child_samples, ndcg_at, grade_steps, seed
        self.booster_: lgb.Booster | None = None

    def params(self) -> dict:
        return {"n_estimators": self.n_estimators, "learning_rate": self.learning_rate,
                "num_leaves": self.num_leaves, "min_child_samples": self.min_child_samples,
                "ndcg_at": self.ndcg_at, "grade_steps": self.grade_steps, "seed": self.seed}

    def fit(self, features: np.ndarray, gains: np.ndarray, group_sizes: Sequence[int]) -> "LearnedFusion":
        """features: candidate rows of all queries, query after query; gains: >= 0 per row; group_sizes: how
        many rows each query has, in order."""
        features = np.asarray(features, dtype=np.float64)
        gains = np.asarray(gains, dtype=np.float64)
        if features.ndim != 2 or features.shape[1] != len(FEATURES):
            raise ValueError(f"features must have {len(FEATURES)} columns (FEATURES), got shape {features.shape}")
        if len(gains) != len(features) or sum(group_sizes) != len(features):
            raise ValueError("gains and group_sizes must cover exactly the feature rows")
        if (gains < 0).any() or np.isnan(gains).any():
            raise ValueError("gains must be non-negative numbers")
        labels = np.rint(gains * self.grade_steps).astype(np.int64)
        train = lgb.Dataset(features, labels, group=list(group_sizes), feature_name=list(FEATURES),
                            free_raw_data=True)
        params = {
            "objective": "lambdarank", "metric": "ndcg", "eval_at": [self.ndcg_at],
            "lambdarank_truncation_level": self.ndcg_at,
            "label_gain": [label / self.grade_steps for label in range(int(labels.max()) + 1)],
            "learning_rate": self.learning_rate, "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples, "seed": self.seed, "deterministic": True,
            "num_threads": 1, "verbosity": -1,
        }
        self.booster_ = lgb.train(params, train, num_boost_round=self.n_estimators)
        return self

    def predict(self, features: np.ndarray) -> np.ndarray:
        """A score per candidate row (higher = better); only the order within one query means anything."""
        if self.booster_ is None:
            raise ValueError("LearnedFusion is not fitted; call fit (or SearchIndex.fit_fusion) first")
        features = np.asarray(features, dtype=np.float64).reshape(-1, len(FEATURES))
        return self.booster_.predict(features, num_threads=1) if len(features) else np.zeros(0)

    def save(self, path: str | Path) -> None:
        """LightGBM's own text model format plus JSON parameters (nothing pickled)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / "fusion.json").write_text(json.dumps({"params": self.params(), "features": list(FEATURES)}))
        self.booster_.save_model(str(path / "lightgbm.txt"))

    @classmethod
    def load(cls, path: str | Path) -> "LearnedFusion":
        path = Path(path)
        meta = json.loads((path / "fusion.json").read_text())
        if meta["features"] != list(FEATURES):
            raise ValueError(f"learned fusion in {path} uses other features; refit it (SearchIndex.fit_fusion)")
        fusion = cls(**meta["params"])
        fusion.booster_ = lgb.Booster(model_file=str(path / "lightgbm.txt"))
        return fusion
