"""Review polarity for Chinese and English: lexical NB-weighted logistic regression, optionally fused with
sentence embeddings, with calibrated probabilities.

    model = SentimentClassifier(C=16).fit(train_texts, train_labels, valid_texts, valid_labels)
    model.predict_frame(texts)   # label, positive_probability, confidence, low_confidence, truncated
    model.save(folder); SentimentClassifier.load(folder)

How it decides:
1. Lexical head: word n-gram + character n-gram TF-IDF (`LexicalFeatures`), scaled by NB log-count ratios,
   then logistic regression. This is the workhorse; it trains in seconds and scores ~10k reviews/s.
2. Embedding head (only with `encoder=`): logistic regression on sentence embeddings (e.g. multilingual e5).
   Embedding is slow on a small CPU (2-5 long reviews/s), so reviews are cut to `embedding_max_chars` first
   and vectors can be cached in DuckDB (`embedding_cache`); `embedding_train_max` bounds how many training
   texts the head sees, so the lexical head still learns from all of them.
3. Fusion and calibration: a one- or two-input logistic regression over the heads' logits, fitted on held-out
   data (the validation set you pass, else `calibration_share` of the training set). Its output is the
   probability reported, so "0.9" means right about 9 times in 10 on data like the held-out set.

Persisted as JSON (settings, classes, fusion weights, vocabularies) + npz (weights): no pickle.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from tqdm.auto import tqdm

from shoplens.text.lexical import DEFAULT_MAX_CHARS, LexicalFeatures, log_count_ratio
from shoplens.text.encoders import as_text

MODEL_FILE = "sentiment.json"
WEIGHTS_FILE = "sentiment.npz"


class SentimentClassifier(BaseEstimator, ClassifierMixin):
    """Binary review polarity (1 positive, 0 negative); sklearn-style."""

    def __init__(
        self,
        word_ngrams: tuple[int, int] | None = (1, 2),
        char_ngrams: tuple[int, int] | None = (1, 3),
        min_df: int = 2,
        nb_scaling: bool = True,
        C: float = 16.0,
        C_grid: tuple[float, ...] | None = None,
        encoder: str | None = None,
        embedding_max_chars: int = 128,
        embedding_cache: str | None = None,
        embedding_train_max: int | None = None,
        embedding_C: float = 4.0,
        calibration_share: float = 0.1,
        low_confidence: float = 0.75,
        max_chars: int = DEFAULT_MAX_CHARS,
        batch_size: int = 4096,
        random_state: int = 0,
    ):
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.min_df = min_df
        self.nb_scaling = nb_scaling
        self.C = C
        self.C_grid = C_grid
        self.encoder = encoder
        self.embedding_max_chars = embedding_max_chars
        self.embedding_cache = embedding_cache
        self.embedding_train_max = embedding_train_max
        self.embedding_C = embedding_C
        self.calibration_share = calibration_share
        self.low_confidence = low_confidence
        self.max_chars = max_chars
        self.batch_size = batch_size
        self.random_state = random_state

    # ------------------------------------------------------------------------------------------ training
    def fit(self, texts, labels, valid_texts=None, valid_labels=None) -> SentimentClassifier:
        texts = [as_text(t) for t in texts]
        labels = _binary_labels(labels)
        if valid_texts is None:
            texts, valid_texts, labels, valid_labels = train_test_split(
                texts, labels, test_size=self.calibration_share, stratify=labels, random_state=self.random_state
            )
        valid_texts = [as_text(t) for t in valid_texts]
        valid_labels = _binary_labels(valid_labels)

        self.features_ = LexicalFeatures(self.word_ngrams, self.char_ngrams, min_df=self.min_df,
                                         max_chars=self.max_chars)
        X = self.features_.fit_transform(texts)
        positive = labels == 1
        self.nb_ratio_ = log_count_ratio(X, positive) if self.nb_scaling else np.ones(X.shape[1], np.float32)
        self._fit_lexical_head(X.multiply(self.nb_ratio_).tocsr(), labels, valid_texts, valid_labels)

        self.embedding_head_ = None
        if self.encoder:
            n = len(texts) if self.embedding_train_max is None else min(self.embedding_train_max, len(texts))
            vectors = self._embed(texts[:n])
            self.embedding_head_ = LogisticRegression(C=self.embedding_C, max_iter=5000).fit(vectors, labels[:n])

        self.fusion_ = LogisticRegression(C=100.0).fit(self._head_logits(valid_texts), valid_labels)
        self.classes_ = np.array([0, 1])
        return self

    def _fit_lexical_head(self, X, labels, valid_texts, valid_labels) -> None:
        """Logistic regression at `C`, or at the `C_grid` value most accurate on the validation texts."""
        candidates = self.C_grid or (self.C,)
        X_valid = self.features_.transform(valid_texts).multiply(self.nb_ratio_).tocsr() if self.C_grid else None
        self.validation_accuracy_by_C_ = {}
        best = None
        for C in candidates:
            head = LogisticRegression(C=C, max_iter=5000).fit(X, labels)
            if X_valid is not None:
                accuracy = float((head.predict(X_valid) == valid_labels).mean())
                self.validation_accuracy_by_C_[C] = accuracy
                if best is not None and accuracy <= best[0]:
                    continue  # ties keep the smaller C (candidates ascend) - the simpler model
                best = (accuracy, C, head)
            else:
                best = (None, C, head)
        _, self.C_, self.lexical_ = best

    # ------------------------------------------------------------------------------------------ scoring
    def predict_proba(self, texts: Sequence[object], progress: bool = False) -> np.ndarray:
        """[n, 2] calibrated probabilities (negative, positive), scored in batches of `batch_size`."""
        texts = [as_text(t) for t in texts]
        out = np.empty((len(texts), 2))
        starts = range(0, len(texts), self.batch_size)
        for start in tqdm(starts, disable=not progress, desc="sentiment", unit="batch"):
            batch = texts[start : start + self.batch_size]
            out[start : start + len(batch)] = self.fusion_.predict_proba(self._head_logits(batch))
        return out

    def predict(self, texts: Sequence[object]) -> np.ndarray:
        return (self.predict_proba(texts)[:, 1] >= 0.5).astype(np.int64)

    def predict_frame(self, texts: Sequence[object], progress: bool = False) -> pd.DataFrame:
        """One row per text: label (1/0), positive_probability, confidence (probability of the label
        given), low_confidence (confidence under `low_confidence`: worth a human look), truncated (the
        text was longer than `max_chars` and only its beginning was read)."""
        texts = list(texts)
        positive = self.predict_proba(texts, progress=progress)[:, 1]
        confidence = np.maximum(positive, 1 - positive)
        return pd.DataFrame(
            {
                "label": (positive >= 0.5).astype(np.int64),
                "positive_probability": positive,
                "confidence": confidence,
                "low_confidence": confidence < self.low_confidence,
                "truncated": [len(as_text(t)) > self.max_chars for t in texts],
            }
        )

    def _head_logits(self, texts: list[str]) -> np.ndarray:
        X = self.features_.transform(texts).multiply(self.nb_ratio_).tocsr()
        logits = [self.lexical_.decision_function(X)]
        if self.embedding_head_ is not None:
            logits.append(self.embedding_head_.decision_function(self._embed(texts)))
        return np.column_stack(logits)

    def _embed(self, texts: list[str]) -> np.ndarray:
        # The encoder cuts each text to embedding_max_chars itself; the cache is keyed by the text as given.
        # kind="query": e5's prefix for symmetric tasks such as classification.
        return embedder(self.encoder, self.embedding_max_chars, self.embedding_cache).encode(
            texts, kind="query", batch_size=16
        )

    # ------------------------------------------------------------------------------------------ persistence
    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.features_.save(folder, prefix="sentiment_")
        weights = {
            "nb_ratio": self.nb_ratio_,
            "lexical_coef": self.lexical_.coef_, "lexical_intercept": self.lexical_.intercept_,
            "fusion_coef": self.fusion_.coef_, "fusion_intercept": self.fusion_.intercept_,
        }
        if self.embedding_head_ is not None:
            weights |= {"embedding_coef": self.embedding_head_.coef_,
                        "embedding_intercept": self.embedding_head_.intercept_}
        np.savez(folder / WEIGHTS_FILE, **weights)
        params = {k: list(v) if isinstance(v, tuple) else v for k, v in self.get_params().items()}
        (folder / MODEL_FILE).write_text(json.dumps({"params": params, "chosen_C": self.C_}, indent=2))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> SentimentClassifier:
        folder = Path(folder)
        saved = json.loads((folder / MODEL_FILE).read_text())
        model = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in saved["params"].items()})
        model.C_ = saved["chosen_C"]
        model.features_ = LexicalFeatures.load(folder, prefix="sentiment_")
        with np.load(folder / WEIGHTS_FILE, allow_pickle=False) as w:
            model.nb_ratio_ = w["nb_ratio"]
            model.lexical_ = _linear_model(w["lexical_coef"], w["lexical_intercept"])
            model.fusion_ = _linear_model(w["fusion_coef"], w["fusion_intercept"])
            has_embedding = "embedding_coef" in w
            model.embedding_head_ = (
                _linear_model(w["embedding_coef"], w["embedding_intercept"]) if has_embedding else None
            )
        model.classes_ = np.array([0, 1])
        return model


@functools.cache
def embedder(name: str, max_chars: int, cache_path: str | None):
    """The encoder `name` cutting texts at `max_chars`, cached in the DuckDB file `cache_path` if given."""
    from shoplens.text import CachedEncoder, E5Encoder, get_encoder
    from shoplens.text.encoders import ENCODERS

    encoder_class = ENCODERS.get(name.lower())
    encoder = encoder_class(max_chars=max_chars) if encoder_class is E5Encoder else get_encoder(name)
    if cache_path is None:
        return encoder
    import duckdb

    return CachedEncoder(encoder, duckdb.connect(str(cache_path)))


def _linear_model(coef: np.ndarray, intercept: np.ndarray) -> LogisticRegression:
    """A fitted binary LogisticRegression rebuilt from its weights (what `save` wrote)."""
    model = LogisticRegression()
    model.coef_, model.intercept_, model.classes_ = coef, intercept, np.array([0, 1])
    return model


def _binary_labels(labels) -> np.ndarray:
    labels = np.asarray(labels)
    if not np.isin(labels, [0, 1]).all():
        raise ValueError("sentiment labels must be 0 (negative) or 1 (positive)")
    if len(np.unique(labels)) < 2:
        raise ValueError("sentiment training needs both positive and negative examples")
    return labels.astype(np.int64)
