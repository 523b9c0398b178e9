"""Product title (+ brand) -> category path "top > sub > leaf", with a confidence for every level.

    model = CategoryClassifier().fit(titles, paths, brands=brands)
    model.predict_frame(titles, brands=brands)
    # category, level_1, level_2, level_3, confidence_1..3, confidence, low_confidence
    model.low_confidence_items(titles, brands=brands)   # the rows a human should look at
    model.save(folder); CategoryClassifier.load(folder)

How: word 1-2-gram + character 2-5-gram TF-IDF of the title, plus the brand as one token, into a linear SVM
over full paths (the leaves). Decision scores become probabilities by a softmax whose temperature is fitted
on held-out rows (the validation set you pass, else `calibration_share` of the training rows). Each level is
then decided top-down from the leaf probabilities summed per prefix, so the path is always a real path and
level 1 can be confident when the leaf is not. Why leaves and not one model per level: measured on BigBasket,
the leaf model's derived level-1/level-2 accuracy matched or beat separate per-level models (bench/categorize.py).

Persisted as JSON (settings, classes, vocabularies) + npz (weights): no pickle.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import train_test_split
from sklearn.svm import LinearSVC

from shoplens.text.lexical import LexicalFeatures
from shoplens.text.encoders import as_text

SEPARATOR = " > "
MODEL_FILE = "categorizer.json"
WEIGHTS_FILE = "categorizer.npz"


def _brand_token(brand: str) -> list[str]:
    return [brand.strip().lower()] if brand.strip() else []


class CategoryClassifier(BaseEstimator, ClassifierMixin):
    """Hierarchical title classifier; labels are paths "a > b > c" (any depth up to `levels`)."""

    def __init__(
        self,
        word_ngrams: tuple[int, int] = (1, 2),
        char_ngrams: tuple[int, int] = (2, 5),
        C: float = 0.5,
        brand_weight: float = 1.0,
        levels: int = 3,
        calibration_share: float = 0.1,
        low_confidence: float = 0.5,
        max_chars: int = 500,
        random_state: int = 0,
    ):
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.C = C
        self.brand_weight = brand_weight
        self.levels = levels
        self.calibration_share = calibration_share
        self.low_confidence = low_confidence
        self.max_chars = max_chars
        self.random_state = random_state

    # ------------------------------------------------------------------------------------------ training
    def fit(self, titles, categories, brands=None, valid_titles=None, valid_categories=None,
            valid_brands=None) -> CategoryClassifier:
        titles, brands = _texts(titles), _brands(brands, len(titles))
        paths = [_normalise_path(c, self.levels) for c in categories]
        if valid_titles is None:
            # Stratify by top level: leaves can have a single item, which stratification cannot split.
            # A small catalogue still needs one held-out row per top-level category.
            top = [p.split(SEPARATOR)[0] for p in paths]
            held_out = max(round(self.calibration_share * len(titles)), len(set(top)))
            titles, valid_titles, brands, valid_brands, paths, valid_paths = train_test_split(
                titles, brands, paths, test_size=held_out, stratify=top,
                random_state=self.random_state)
        else:
            valid_paths = [_normalise_path(c, self.levels) for c in valid_categories]
            valid_titles, valid_brands = _texts(valid_titles), _brands(valid_brands, len(valid_titles))

        self.features_ = LexicalFeatures(self.word_ngrams, self.char_ngrams, char_analyzer="char_wb", min_df=1,
                                         max_chars=self.max_chars)
        self.brand_vectorizer_ = TfidfVectorizer(analyzer=_brand_token, dtype=np.float32)
        X_title = self.features_.fit_transform(titles)
        try:
            X_brand = self.brand_vectorizer_.fit_transform(brands)
        except ValueError:  # no brand at all
            self.brand_vectorizer_.vocabulary_, X_brand = {}, sp.csr_matrix((len(titles), 0), dtype=np.float32)
        X = sp.hstack([X_title, X_brand * self.brand_weight], format="csr")
        self.svm_ = LinearSVC(C=self.C).fit(X, paths)
        self.classes_ = self.svm_.classes_
        self.temperature_ = self._fit_temperature(self._scores(valid_titles, valid_brands), valid_paths)
        return self

    def _fit_temperature(self, scores: np.ndarray, paths: list[str]) -> float:
        """The softmax temperature with the lowest log-loss on held-out rows (a 1-D grid: robust, fast)."""
        index = {c: i for i, c in enumerate(self.classes_)}
        known = np.array([p in index for p in paths])
        if not known.any():
            return 10.0
        target = np.array([index[p] for p, k in zip(paths, known) if k])
        scores = scores[known]
        best = None
        for temperature in (1, 2, 3, 5, 7, 10, 15, 20, 30, 50):
            logp = _log_softmax(scores * temperature)
            loss = -logp[np.arange(len(target)), target].mean()
            if best is None or loss < best[0]:
                best = (loss, float(temperature))
        return best[1]

    # ------------------------------------------------------------------------------------------ scoring
    def _scores(self, titles, brands) -> np.ndarray:
        X_title = self.features_.transform(titles)
        X_brand = (self.brand_vectorizer_.transform(brands) if self.brand_vectorizer_.vocabulary_
                   else sp.csr_matrix((len(titles), 0), dtype=np.float32))
        scores = self.svm_.decision_function(sp.hstack([X_title, X_brand * self.brand_weight], format="csr"))
        return np.column_stack([-scores, scores]) if scores.ndim == 1 else scores  # two classes: one score

    def predict_proba(self, titles: Sequence[object], brands: Sequence[object] | None = None) -> np.ndarray:
        """[n, n_leaves] leaf-path probabilities (columns follow `classes_`)."""
        titles = _texts(titles)
        return np.exp(_log_softmax(self._scores(titles, _brands(brands, len(titles))) * self.temperature_))

    def predict(self, titles: Sequence[object], brands: Sequence[object] | None = None) -> np.ndarray:
        return self.predict_frame(titles, brands)["category"].to_numpy()

    def predict_frame(self, titles: Sequence[object], brands: Sequence[object] | None = None) -> pd.DataFrame:
        """category (full path), level_k and confidence_k per level (top-down), confidence (of the deepest
        level), low_confidence (confidence under `low_confidence`)."""
        titles = _texts(titles)
        probabilities = self.predict_proba(titles, brands)
        parts = [c.split(SEPARATOR) for c in self.classes_]
        depth = max(len(p) for p in parts)
        columns: dict[str, object] = {}
        allowed = np.ones_like(probabilities, dtype=bool)  # leaves under the prefix chosen so far
        chosen_paths = [[] for _ in titles]
        for level in range(depth):
            prefixes = np.array([SEPARATOR.join(p[: level + 1]) for p in parts])
            names, group = np.unique(prefixes, return_inverse=True)
            membership = np.zeros((len(parts), len(names)))
            membership[np.arange(len(parts)), group] = 1.0
            mass = (probabilities * allowed) @ membership  # probability of each prefix among allowed leaves
            best = mass.argmax(axis=1)
            confidence = mass[np.arange(len(titles)), best]  # P(this whole prefix): never above its parent's
            allowed &= group[None, :] == best[:, None]
            for row, g in enumerate(best):
                chosen_paths[row] = names[g].split(SEPARATOR)
            columns[f"level_{level + 1}"] = [p[level] if len(p) > level else "" for p in chosen_paths]
            columns[f"confidence_{level + 1}"] = confidence
        frame = pd.DataFrame(columns)
        frame.insert(0, "category", [SEPARATOR.join(p) for p in chosen_paths])
        frame["confidence"] = frame[f"confidence_{depth}"]
        frame["low_confidence"] = frame["confidence"] < self.low_confidence
        return frame

    def low_confidence_items(self, titles, brands=None, item_ids=None) -> pd.DataFrame:
        """Predictions under the confidence threshold, least confident first: the human review list."""
        frame = self.predict_frame(titles, brands)
        frame.insert(0, "title", _texts(titles))
        if item_ids is not None:
            frame.insert(0, "item_id", list(item_ids))
        return frame[frame["low_confidence"]].sort_values("confidence")

    # ------------------------------------------------------------------------------------------ persistence
    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.features_.save(folder, prefix="categorizer_")
        np.savez(folder / WEIGHTS_FILE, coef=self.svm_.coef_, intercept=np.atleast_1d(self.svm_.intercept_),
                 brand_idf=getattr(self.brand_vectorizer_, "idf_", np.zeros(0)))
        params = {k: list(v) if isinstance(v, tuple) else v for k, v in self.get_params().items()}
        payload = {"params": params, "classes": list(self.classes_), "temperature": self.temperature_,
                   "brand_vocabulary": {k: int(v) for k, v in self.brand_vectorizer_.vocabulary_.items()}}
        (folder / MODEL_FILE).write_text(json.dumps(payload, ensure_ascii=False))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> CategoryClassifier:
        folder = Path(folder)
        saved = json.loads((folder / MODEL_FILE).read_text())
        model = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in saved["params"].items()})
        model.features_ = LexicalFeatures.load(folder, prefix="categorizer_")
        model.classes_ = np.array(saved["classes"], dtype=object)
        model.temperature_ = saved["temperature"]
        model.brand_vectorizer_ = TfidfVectorizer(analyzer=_brand_token, dtype=np.float32)
        model.brand_vectorizer_.vocabulary_ = saved["brand_vocabulary"]
        with np.load(folder / WEIGHTS_FILE, allow_pickle=False) as w:
            if len(w["brand_idf"]):
                model.brand_vectorizer_.idf_ = w["brand_idf"]
            model.svm_ = LinearSVC(C=model.C)
            model.svm_.coef_, model.svm_.intercept_ = w["coef"], w["intercept"]
            model.svm_.classes_ = model.classes_
        return model


def categorize_workspace(ws, only_missing: bool = True, folds: int = 5, **params) -> pd.DataFrame:
    """Predict categories for a workspace's items (what `shoplens categorize WS` prints).

    Learns from the items that have a category (`params` go to `CategoryClassifier`) and predicts those without
    one; with `only_missing=False` it also re-predicts every categorised item out of fold (`folds`-fold
    cross-fitting, so no item is judged by a model that saw its label). `recorded` and `agrees` then show where
    catalogue and model disagree: with `low_confidence`, the list of items a human should check."""
    items = ws.table("items").reset_index(drop=True)
    has_category = (items["category"].notna() & (items["category"].astype(str).str.strip() != "")).to_numpy()
    brands = items["brand"] if "brand" in items else pd.Series([None] * len(items))
    labelled = items[has_category]
    if labelled["category"].nunique() < 2:
        raise ValueError("need items in at least two categories to learn from")

    def fit_predict(train_rows: np.ndarray, predict_rows: np.ndarray) -> pd.DataFrame:
        model = CategoryClassifier(**params).fit(items["title"][train_rows], items["category"][train_rows],
                                                 brands=brands[train_rows])
        return model.predict_frame(items["title"][predict_rows], brands[predict_rows]).set_index(predict_rows)

    parts = []
    if (~has_category).any():
        parts.append(fit_predict(np.flatnonzero(has_category), np.flatnonzero(~has_category)))
    if not only_missing:
        fold_of = np.random.default_rng(0).permutation(len(labelled)) % folds
        labelled_rows = np.flatnonzero(has_category)
        for fold in range(folds):
            parts.append(fit_predict(labelled_rows[fold_of != fold], labelled_rows[fold_of == fold]))
    if not parts:
        return pd.DataFrame(columns=["item_id", "title", "category", "confidence", "low_confidence"])
    frame = pd.concat(parts).sort_index()
    frame.insert(0, "title", items["title"][frame.index].to_numpy())
    frame.insert(0, "item_id", items["item_id"][frame.index].astype(str).to_numpy())
    if not only_missing:
        frame["recorded"] = [_normalise_path(c, params.get("levels", 3)) if has else "" for c, has in
                             zip(items["category"][frame.index], has_category[frame.index])]
        frame["agrees"] = frame["category"] == frame["recorded"]
    return frame.reset_index(drop=True)


def _log_softmax(scores: np.ndarray) -> np.ndarray:
    shifted = scores - scores.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _texts(values) -> list[str]:
    return [as_text(v) for v in values]


def _brands(brands, n: int) -> list[str]:
    return [""] * n if brands is None else _texts(brands)


def _normalise_path(category: object, levels: int) -> str:
    """"A>B > C" -> "A > B > C", cut to `levels` levels; blank levels dropped."""
    parts = [p.strip() for p in as_text(category).split(">") if p.strip()]
    if not parts:
        raise ValueError("every training item needs a category")
    return SEPARATOR.join(parts[:levels])
