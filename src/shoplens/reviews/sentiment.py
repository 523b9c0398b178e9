"""Review polarity for Chinese and English: NB-weighted lexical features, optionally joined by sentence
embeddings, in one logistic regression with calibrated probabilities.

    model = SentimentClassifier(C=16).fit(train_texts, train_labels, valid_texts, valid_labels)
    model.predict_frame(texts)   # label, positive_probability, confidence, low_confidence, truncated
    model.save(folder); SentimentClassifier.load(folder)

How it decides:
1. Lexical features: word n-gram + character n-gram TF-IDF (`LexicalFeatures`), scaled by NB log-count
   ratios (NB-weighted logistic regression). This is the workhorse; it trains in seconds and scores
   hundreds of reviews/s.
2. Embeddings (only with `encoder=`): the sentence embedding of each review (e.g. multilingual e5), scaled by
   `embedding_weight`, appended to the lexical features, so one logistic regression weighs both. Measured on
   ChnSentiCorp dev, joining the features this way beat a separate embedding head fused afterwards.
   Embedding is slow on a small CPU (2-10 reviews/s), so reviews are cut to `embedding_max_chars` first and
   vectors can be cached in DuckDB (`embedding_cache`); every training text is embedded once.
3. Model selection and calibration on held-out data (the validation set you pass, else `calibration_share`
   of the training set): C from `C_grid` and the embedding weight from `embedding_weight_grid` are the pair
   most accurate there; then a one-input logistic regression on the chosen model's logit (Platt scaling) is
   fitted there too. Its output is the probability reported, so "0.9" means right about 9 times in 10 on data
   like the held-out set.

Persisted as JSON (settings, choices, vocabularies) + npz (weights): no pickle.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
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
        embedding_weight: float = 1.0,
        embedding_weight_grid: tuple[float, ...] | None = None,
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
        self.embedding_weight = embedding_weight
        self.embedding_weight_grid = embedding_weight_grid
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
        X, X_valid = X.multiply(self.nb_ratio_).tocsr(), self._lexical(valid_texts)
        if self.encoder:
            E, E_valid = self._embed(texts), self._embed(valid_texts)
            weights = self.embedding_weight_grid or (self.embedding_weight,)
        else:
            E = E_valid = None
            weights = (0.0,)

        # Every (C, embedding weight) pair is scored on the validation texts; the most accurate wins, and ties
        # keep the earlier pair (grids ascend: the smaller C, the simpler model).
        self.validation_accuracy_ = {}
        best = None
        for C in self.C_grid or (self.C,):
            for weight in weights:
                head = LogisticRegression(C=C, max_iter=5000).fit(_join(X, E, weight), labels)
                accuracy = float((head.predict(_join(X_valid, E_valid, weight)) == valid_labels).mean())
                self.validation_accuracy_[(C, weight)] = accuracy
                if best is None or accuracy > best[0]:
                    best = (accuracy, C, weight, head)
        _, self.C_, self.embedding_weight_, self.head_ = best

        valid_logits = self.head_.decision_function(_join(X_valid, E_valid, self.embedding_weight_))
        self.calibration_ = LogisticRegression(C=100.0).fit(valid_logits[:, None], valid_labels)
        self.classes_ = np.array([0, 1])
        return self

    @property
    def validation_accuracy_by_C_(self) -> dict[float, float]:
        """Best validation accuracy for each C (over embedding weights): what the bench reports."""
        by_C: dict[float, float] = {}
        for (C, _), accuracy in self.validation_accuracy_.items():
            by_C[C] = max(accuracy, by_C.get(C, 0.0))
        return by_C

    # ------------------------------------------------------------------------------------------ scoring
    def predict_proba(self, texts: Sequence[object], progress: bool = False) -> np.ndarray:
        """[n, 2] calibrated probabilities (negative, positive), scored in batches of `batch_size`."""
        texts = [as_text(t) for t in texts]
        out = np.empty((len(texts), 2))
        starts = range(0, len(texts), self.batch_size)
        for start in tqdm(starts, disable=not progress, desc="sentiment", unit="batch"):
            batch = texts[start : start + self.batch_size]
            out[start : start + len(batch)] = self.calibration_.predict_proba(self.decision_function(batch)[:, None])
        return out

    def decision_function(self, texts: Sequence[object]) -> np.ndarray:
        """The uncalibrated logit of the positive class for each text."""
        texts = [as_text(t) for t in texts]
        embeddings = self._embed(texts) if self.encoder else None
        return self.head_.decision_function(_join(self._lexical(texts), embeddings, self.embedding_weight_))

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

    def _lexical(self, texts: list[str]) -> sp.csr_matrix:
        return self.features_.transform(texts).multiply(self.nb_ratio_).tocsr()

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
        np.savez(
            folder / WEIGHTS_FILE,
            nb_ratio=self.nb_ratio_,
            head_coef=self.head_.coef_, head_intercept=self.head_.intercept_,
            calibration_coef=self.calibration_.coef_, calibration_intercept=self.calibration_.intercept_,
        )
        params = {k: list(v) if isinstance(v, tuple) else v for k, v in self.get_params().items()}
        choices = {"C": self.C_, "embedding_weight": self.embedding_weight_}
        (folder / MODEL_FILE).write_text(json.dumps({"params": params, "chosen": choices}, indent=2))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> SentimentClassifier:
        folder = Path(folder)
        saved = json.loads((folder / MODEL_FILE).read_text())
        model = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in saved["params"].items()})
        model.C_, model.embedding_weight_ = saved["chosen"]["C"], saved["chosen"]["embedding_weight"]
        model.features_ = LexicalFeatures.load(folder, prefix="sentiment_")
        with np.load(folder / WEIGHTS_FILE, allow_pickle=False) as w:
            model.nb_ratio_ = w["nb_ratio"]
            model.head_ = _linear_model(w["head_coef"], w["head_intercept"])
            model.calibration_ = _linear_model(w["calibration_coef"], w["calibration_intercept"])
        model.classes_ = np.array([0, 1])
        return model


def _join(lexical: sp.csr_matrix, embeddings: np.ndarray | None, weight: float) -> sp.csr_matrix:
    """The lexical features with `weight` x the embeddings appended (the lexical features alone without)."""
    if embeddings is None:
        return lexical
    return sp.hstack([lexical, sp.csr_matrix(embeddings * weight)], format="csr")


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
