"""Star rating (1-5) from review text.

    model = RatingPredictor().fit(texts, ratings, titles=review_titles)
    model.predict(texts, titles=...)          # expected stars (float): what RMSE is measured on
    model.predict_frame(texts, titles=...)    # stars (most likely), expected, confidence, low_confidence

A multinomial logistic regression over word + character TF-IDF of "review title. review text" gives a
probability for each star; the expected value is the regression answer (it hedges between neighbouring stars
and so beats a ridge fit on RMSE), the most likely star the classification answer. With `encoder=` (e.g.
"minilm" for English), sentence embeddings are appended to the lexical features.

Persisted as JSON + npz: no pickle.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import LogisticRegression

from shoplens.text.lexical import DEFAULT_MAX_CHARS, LexicalFeatures
from shoplens.text.encoders import as_text

MODEL_FILE = "rating.json"
WEIGHTS_FILE = "rating.npz"


def join_title(texts: Sequence[object], titles: Sequence[object] | None) -> list[str]:
    """"title. text" (a review's title is often its verdict: "Love it!", "Runs small")."""
    texts = [as_text(t) for t in texts]
    if titles is None:
        return texts
    return [f"{as_text(title)}. {text}" if as_text(title) else text for title, text in zip(titles, texts)]


class RatingPredictor(BaseEstimator, RegressorMixin):
    """1-5 stars from text; see the module docstring."""

    def __init__(
        self,
        word_ngrams: tuple[int, int] | None = (1, 2),
        char_ngrams: tuple[int, int] | None = (2, 5),
        min_df: int = 2,
        C: float = 4.0,
        encoder: str | None = None,
        embedding_weight: float = 1.0,
        low_confidence: float = 0.5,
        max_chars: int = DEFAULT_MAX_CHARS,
    ):
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.min_df = min_df
        self.C = C
        self.encoder = encoder
        self.embedding_weight = embedding_weight
        self.low_confidence = low_confidence
        self.max_chars = max_chars

    def fit(self, texts, ratings, titles=None) -> RatingPredictor:
        joined = join_title(texts, titles)
        ratings = np.asarray(ratings, dtype=float)
        if np.isnan(ratings).any():
            raise ValueError("ratings must not be missing; drop unrated reviews first")
        stars = np.clip(np.rint(ratings), 1, 5).astype(np.int64)
        self.features_ = LexicalFeatures(self.word_ngrams, self.char_ngrams, char_analyzer="char_wb",
                                         min_df=self.min_df, max_chars=self.max_chars)
        X = self._with_embeddings(self.features_.fit_transform(joined), joined)
        self.model_ = LogisticRegression(C=self.C, max_iter=3000).fit(X, stars)
        self.classes_ = self.model_.classes_
        return self

    def _with_embeddings(self, X: sp.csr_matrix, texts: list[str]) -> sp.csr_matrix:
        if not self.encoder:
            return X
        from shoplens.text import get_encoder

        vectors = get_encoder(self.encoder).encode(texts, batch_size=64)
        return sp.hstack([X, sp.csr_matrix(vectors * self.embedding_weight)], format="csr")

    def predict_proba(self, texts, titles=None) -> np.ndarray:
        joined = join_title(texts, titles)
        return self.model_.predict_proba(self._with_embeddings(self.features_.transform(joined), joined))

    def predict(self, texts, titles=None) -> np.ndarray:
        """Expected stars (float in [1, 5])."""
        return self.predict_proba(texts, titles) @ self.classes_.astype(float)

    def predict_frame(self, texts, titles=None) -> pd.DataFrame:
        probabilities = self.predict_proba(texts, titles)
        best = probabilities.argmax(axis=1)
        confidence = probabilities.max(axis=1)
        return pd.DataFrame({
            "stars": self.classes_[best],
            "expected": probabilities @ self.classes_.astype(float),
            "confidence": confidence,
            "low_confidence": confidence < self.low_confidence,
        })

    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.features_.save(folder, prefix="rating_")
        np.savez(folder / WEIGHTS_FILE, coef=self.model_.coef_, intercept=self.model_.intercept_,
                 classes=self.classes_)
        params = {k: list(v) if isinstance(v, tuple) else v for k, v in self.get_params().items()}
        (folder / MODEL_FILE).write_text(json.dumps({"params": params}, indent=2))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> RatingPredictor:
        folder = Path(folder)
        params = json.loads((folder / MODEL_FILE).read_text())["params"]
        model = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in params.items()})
        model.features_ = LexicalFeatures.load(folder, prefix="rating_")
        with np.load(folder / WEIGHTS_FILE, allow_pickle=False) as w:
            model.model_ = LogisticRegression(C=model.C)
            model.model_.coef_, model.model_.intercept_ = w["coef"], w["intercept"]
            model.model_.classes_ = model.classes_ = w["classes"]
        return model
