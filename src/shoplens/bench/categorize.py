"""`shoplens bench categorize`: product title -> category path on BigBasket (3 levels), and review -> product
category on online_shopping_10_cats.

BigBasket: items with a title, seeded (0) stratified 80/10/10 split on the top category; item ids committed
under bench/splits/. Rows: per-level linear SVMs on title TF-IDF (issue 5's baseline, one model per level),
the ShopLens `CategoryClassifier` on the title alone, and on title + brand. Fixed hyper-parameters (C=0.5,
brand weight 1; softmax temperature fitted on valid): nothing is tuned on test.
online_shopping_10_cats: the committed sentiment split (bench/splits/online-shopping-10cats-seed0.csv),
review text -> one of 10 categories with the same classifier (text only).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score
from sklearn.svm import LinearSVC

from shoplens.bench.harness import BenchResult, Stopwatch
from shoplens.bench.sentiment import check_committed_ids, load_split as load_review_split
from shoplens.catalog.categorize import CategoryClassifier
from shoplens.data.splits import Split, stratified_split
from shoplens.text.lexical import LexicalFeatures

DATASET = "bigbasket-products"
LEVELS = ("top_category", "sub_category", "product_type")
QUICK_ROWS = 4000


def load_split(data=None) -> Split:
    from shoplens.datasets import load

    items = load(DATASET, root=data).tables["items"]
    items = items[items["title"].notna()].reset_index(drop=True)
    split = stratified_split(items, "top_category", seed=0)
    split = Split(*(p.reset_index(drop=True) for p in (split.train, split.valid, split.test)))
    check_committed_ids(DATASET, split, id_column="item_id")
    return split


def _level_row(name: str, predicted: dict[str, np.ndarray], test: pd.DataFrame, **extra) -> dict:
    row = {"model": name}
    for k, level in enumerate(LEVELS, start=1):
        if level in predicted:
            row[f"level-{k} accuracy"] = round(float((predicted[level] == test[level].to_numpy()).mean()), 4)
    row["level-1 macro-F1"] = round(float(f1_score(test[LEVELS[0]], predicted[LEVELS[0]], average="macro")), 4)
    return row | extra


def _per_level_baseline(train: pd.DataFrame, test: pd.DataFrame) -> dict[str, np.ndarray]:
    features = LexicalFeatures(word_ngrams=(1, 2), char_ngrams=(2, 5), char_analyzer="char_wb", min_df=1)
    X_train, X_test = features.fit_transform(train["title"]), features.transform(test["title"])
    return {level: LinearSVC(C=0.5).fit(X_train, train[level]).predict(X_test) for level in LEVELS[:2]}


def _ours(train, valid, test, use_brand: bool) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    brands = (lambda frame: frame["brand"]) if use_brand else (lambda frame: None)
    model = CategoryClassifier().fit(train["title"], train["category"], brands=brands(train),
                                     valid_titles=valid["title"], valid_categories=valid["category"],
                                     valid_brands=brands(valid))
    frame = model.predict_frame(test["title"], brands(test))
    return {level: frame[f"level_{k}"].to_numpy() for k, level in enumerate(LEVELS, start=1)}, frame


def _confidence_columns(frame: pd.DataFrame, correct: np.ndarray) -> dict:
    low = frame["low_confidence"].to_numpy()
    return {"low-confidence share": round(float(low.mean()), 3),
            "accuracy when confident": round(float(correct[~low].mean()), 4) if (~low).any() else ""}


def run(quick: bool = False, data=None, with_baseline: bool = True) -> BenchResult:
    """with_baseline=False skips re-measuring the per-level SVM baseline (minutes on a small CPU); the
    numbers issue 5 measured on this data stay in `baselines`."""
    with Stopwatch() as total:
        split = load_split(data)
        train, valid, test = split.train, split.valid, split.test
        if quick:
            train = train.sample(QUICK_ROWS, random_state=0)
        rows, metrics = [], {}

        if with_baseline:
            with Stopwatch() as sw:
                baseline = _per_level_baseline(train, test)
            rows.append(_level_row("per-level LinearSVC, title TF-IDF (issue 5 baseline)", baseline, test,
                                   seconds=round(sw.seconds)))
        for use_brand, name in ((False, "ShopLens CategoryClassifier, title"),
                                (True, "ShopLens CategoryClassifier, title + brand")):
            with Stopwatch() as sw:
                predicted, frame = _ours(train, valid, test, use_brand)
            correct = predicted[LEVELS[1]] == test[LEVELS[1]].to_numpy()
            rows.append(_level_row(name, predicted, test, seconds=round(sw.seconds),
                                   **_confidence_columns(frame, correct)))
            key = "title_brand" if use_brand else "title"
            metrics |= {f"{key}_level{k}_accuracy": rows[-1][f"level-{k} accuracy"] for k in (1, 2, 3)}

        # review -> product category (Chinese, 10 classes) on the committed online_shopping split
        _, reviews = load_review_split("online-shopping-10cats", data=data)
        review_train = reviews.train.sample(QUICK_ROWS, random_state=0) if quick else reviews.train
        model = CategoryClassifier(char_ngrams=(1, 3), levels=1).fit(
            review_train["text"], review_train["category"], valid_titles=reviews.valid["text"],
            valid_categories=reviews.valid["category"])
        frame = model.predict_frame(reviews.test["text"])
        correct = frame["category"].to_numpy() == reviews.test["category"].to_numpy()
        rows.append({"model": "review -> category (online_shopping_10_cats, 10 classes)",
                     "level-1 accuracy": round(float(correct.mean()), 4),
                     "level-1 macro-F1": round(float(f1_score(reviews.test["category"], frame["category"],
                                                              average="macro")), 4),
                     **_confidence_columns(frame, correct)})
        metrics["review_category_accuracy"] = rows[-1]["level-1 accuracy"]
        metrics |= {"n_train": len(train), "n_valid": len(valid), "n_test": len(test)}

    baselines = {"issue5_title_svm_level1": 0.889, "issue5_title_svm_level2": 0.789}
    if with_baseline:
        baselines |= {"per_level_svm_level1_this_run": rows[0]["level-1 accuracy"],
                      "per_level_svm_level2_this_run": rows[0]["level-2 accuracy"]}
    protocol = ("BigBasket seeded (0) stratified 80/10/10 split on top category (item ids committed); fixed "
                "hyper-parameters, temperature on valid; test scored once" + (" (QUICK)" if quick else ""))
    return BenchResult(suite="categorize", dataset=f"{DATASET} + online-shopping-10cats", protocol=protocol,
                       metrics=metrics, baselines=baselines, seconds=total.seconds, rows=rows)
