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

Too little labelled data is said, never hidden (`choose_categorizer`, used by `categorize_workspace` and the
REST route): a category with fewer than MIN_PER_CATEGORY labelled items is named as unreliable and its
predictions are marked `reliable = False`; when most leaf categories are that thin the model learns only the
levels the data supports (e.g. level 1), and when even the top level is that thin it falls back to the
category of the most similar labelled title (`NearestTitle`). A model that puts every item in one category
is said too. The result's `attrs` carry `model` (its name) and `warnings`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

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
MIN_PER_CATEGORY = 5  # labelled items a category needs: one held out for calibration, one per fold of --all
MAX_THIN_SHARE = 0.5  # more thin categories than this at a level: learn a coarser level (or nearest title)
LEAF_MODEL = "TF-IDF + LinearSVC"
NEAREST_MODEL = "nearest labelled title (fallback)"


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


class NearestTitle:
    """The category of the most similar labelled title (TF-IDF cosine of title + brand): a fallback for
    catalogues with too few labelled items per category to train and calibrate a classifier. Its confidence is
    that similarity, not a probability, so every prediction is low-confidence."""

    def __init__(self, levels: int = 3, max_chars: int = 500):
        self.levels = levels
        self.max_chars = max_chars

    def fit(self, titles, categories, brands=None) -> NearestTitle:
        texts = [f"{t} {b}".strip() for t, b in zip(_texts(titles), _brands(brands, len(titles)))]
        self.features_ = LexicalFeatures((1, 2), (2, 4), char_analyzer="char_wb", min_df=1, max_chars=self.max_chars)
        self.matrix_ = self.features_.fit_transform(texts)
        self.paths_ = np.array([_normalise_path(c, self.levels) for c in categories], dtype=object)
        return self

    def predict_frame(self, titles, brands=None) -> pd.DataFrame:
        texts = [f"{t} {b}".strip() for t, b in zip(_texts(titles), _brands(brands, len(titles)))]
        # the mean of the word and the character blocks' cosines (each block is L2-normalised): 0..1
        similarity = (self.features_.transform(texts) @ self.matrix_.T).toarray() / len(self.features_.vectorizers)
        best = similarity.argmax(axis=1)
        score = similarity[np.arange(len(texts)), best]
        paths = [p.split(SEPARATOR) for p in self.paths_[best]]
        depth = max(len(p.split(SEPARATOR)) for p in self.paths_)
        frame = pd.DataFrame({"category": self.paths_[best].astype(str)})
        for level in range(depth):
            frame[f"level_{level + 1}"] = [p[level] if len(p) > level else "" for p in paths]
            frame[f"confidence_{level + 1}"] = score
        frame["confidence"] = score
        frame["low_confidence"] = True
        return frame


class Choice(NamedTuple):
    make_model: Callable[[], object]  # a fresh, unfitted model
    name: str  # what the result says it used
    levels: int  # the depth it predicts to
    warnings: list[str]
    thin: list[str]  # categories (at `levels`) with fewer than MIN_PER_CATEGORY labelled items


def choose_categorizer(categories, levels: int = 3, **params) -> Choice:
    """The model the labelled items can support, with the warnings that say why.

    The leaf classifier when at most MAX_THIN_SHARE of the leaf categories have fewer than MIN_PER_CATEGORY
    labelled items; else the same classifier on the deepest level where that holds; else `NearestTitle`.
    The categories still thin at the chosen level are named in a warning (their predictions are unreliable)."""
    paths = [_normalise_path(c, levels) for c in categories]
    depth = max(len(p.split(SEPARATOR)) for p in paths)
    leaves = len(set(paths))
    for level in range(depth, 0, -1):
        counts = pd.Series([SEPARATOR.join(p.split(SEPARATOR)[:level]) for p in paths]).value_counts()
        thin = counts[counts < MIN_PER_CATEGORY]
        if len(counts) >= 2 and len(thin) <= MAX_THIN_SHARE * len(counts):
            break
    else:
        counts = pd.Series(paths).value_counts()
        thin = counts[counts < MIN_PER_CATEGORY]
        warning = (f"too few labelled items to learn categories: {len(paths)} items in {leaves} categories, and "
                   f"{len(thin)} of them have fewer than {MIN_PER_CATEGORY} (the least a category needs; at the top "
                   f"level too); each item gets the category of the most similar labelled title instead")
        return Choice(lambda: NearestTitle(levels=levels, max_chars=params.get("max_chars", 500)), NEAREST_MODEL,
                      levels, [warning], thin.index.tolist())
    warnings = []
    name = LEAF_MODEL
    if level < depth:
        name = f"{LEAF_MODEL}, level {level} only (fallback)"
        warnings.append(f"most of the {leaves} leaf categories have fewer than {MIN_PER_CATEGORY} labelled items "
                        f"(the least a category needs): predicting only to level {level}, where most have enough")
    if len(thin):
        shown = ", ".join(map(str, thin.index[:10])) + (f" and {len(thin) - 10} more" if len(thin) > 10 else "")
        warnings.append(f"{len(thin)} of {len(counts)} categories have fewer than {MIN_PER_CATEGORY} labelled items "
                        f"(the least a category needs), so predictions into them are unreliable (reliable = false): "
                        f"{shown}")
    return Choice(lambda: CategoryClassifier(**{**params, "levels": level}), name, level, warnings,
                  thin.index.tolist())


def one_category_warning(predicted: pd.Series, known: int) -> str | None:
    """A warning when a model that learnt `known` categories put every one of several items into one."""
    if len(predicted) >= MIN_PER_CATEGORY and known >= 2 and predicted.nunique() == 1:
        return (f"every one of the {len(predicted):,} items was put in one category ({predicted.iloc[0]}) out of "
                f"{known} learnt: the model does not tell the categories apart on these titles")
    return None


def categorize_workspace(ws, only_missing: bool = True, folds: int = 5, **params) -> pd.DataFrame:
    """Predict categories for a workspace's items (what `shoplens catalog categorize WS` prints).

    Learns from the items that have a category (`params` go to `CategoryClassifier`; which model the labelled
    items support: `choose_categorizer`) and predicts those without one; with `only_missing=False` it also
    re-predicts every categorised item out of fold (`folds`-fold cross-fitting, so no item is judged by a model
    that saw its label). `recorded` and `agrees` then show where catalogue and model disagree: with
    `low_confidence`, the list of items a human should check. `reliable` is False for predictions into a
    category with too few labelled items. attrs: `model` (the name of the model used), `warnings`,
    `unreliable_categories`."""
    items = ws.table("items").reset_index(drop=True)
    has_category = (items["category"].notna() & (items["category"].astype(str).str.strip() != "")).to_numpy()
    brands = items["brand"] if "brand" in items else pd.Series([None] * len(items))
    labelled = items[has_category]
    if labelled["category"].nunique() < 2:
        raise ValueError("need items in at least two categories to learn from")
    choice = choose_categorizer(labelled["category"], params.pop("levels", 3), **params)
    warnings = list(choice.warnings)
    learnt = set()  # the categories the fitted models can predict

    def fit_predict(train_rows: np.ndarray, predict_rows: np.ndarray) -> pd.DataFrame:
        model = choice.make_model().fit(items["title"][train_rows], items["category"][train_rows],
                                        brands=brands[train_rows])
        learnt.update(model.classes_ if hasattr(model, "classes_") else model.paths_)
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
        frame = pd.DataFrame(columns=["item_id", "title", "category", "confidence", "low_confidence", "reliable"])
    else:
        frame = pd.concat(parts).sort_index()
        frame.insert(0, "title", items["title"][frame.index].to_numpy())
        frame.insert(0, "item_id", items["item_id"][frame.index].astype(str).to_numpy())
        frame["reliable"] = ~frame["category"].isin(choice.thin) & (choice.name != NEAREST_MODEL)
        if not only_missing:
            frame["recorded"] = [_normalise_path(c, choice.levels) if has else "" for c, has in
                                 zip(items["category"][frame.index], has_category[frame.index])]
            frame["agrees"] = frame["category"] == frame["recorded"]
        frame = frame.reset_index(drop=True)
        degenerate = one_category_warning(frame["category"], len(learnt))
        if degenerate:
            warnings.append(degenerate)
    frame.attrs.update(model=choice.name, warnings=warnings, unreliable_categories=[str(c) for c in choice.thin])
    return frame


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
