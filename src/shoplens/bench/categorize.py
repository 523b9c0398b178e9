"""`shoplens bench categorize`: product title -> category path on BigBasket (3 levels), and review -> product
category on online_shopping_10_cats.

BigBasket, items with a title, two splits in the same command (valid/test item ids of both committed under
bench/splits/):
- "items": seeded (0) stratified 80/10/10 split of the items on the top category. The same title often
  appears under other brands or pack sizes, so about a fifth of the test titles occur verbatim in train
  (printed as `test_titles_in_train`).
- "title groups": seeded (0) stratified 80/10/10 split of the distinct titles (case and whitespace folded;
  stratified on each title's most common top category); every item follows its title, so no title is on two
  sides. This measures titles the model has never seen.
Rows per split: a per-level TF-IDF + LinearSVC baseline (sklearn only; C per level chosen on the validation
part, which is disjoint from train the same way test is), the ShopLens `CategoryClassifier` on the title
alone, and on title + brand (fixed C=0.5, brand weight 1; softmax temperature fitted on valid). Nothing is
tuned on test.
online_shopping_10_cats: the committed sentiment split (bench/splits/online-shopping-10cats-seed0.csv),
review text -> one of 10 categories with the same classifier (text only).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import f1_score
from sklearn.pipeline import make_union
from sklearn.svm import LinearSVC

from shoplens.bench.harness import BenchResult, Stopwatch
from shoplens.bench.sentiment import check_committed_ids, load_split as load_review_split
from shoplens.catalog.categorize import CategoryClassifier
from shoplens.data.splits import Split, stratified_split

DATASET = "bigbasket-products"
LEVELS = ("top_category", "sub_category", "product_type")
QUICK_ROWS = 4000
BASELINE_C_GRID = (0.1, 0.5, 2.0)
SPLITS = ("items", "title groups")


def title_key(titles: pd.Series) -> pd.Series:
    """The grouping key of a title: case-folded, whitespace collapsed (so near-verbatim copies group too)."""
    return titles.astype(str).str.casefold().str.split().str.join(" ")


def title_group_split(items: pd.DataFrame, seed: int = 0) -> Split:
    """Seeded 80/10/10 split of the distinct titles, stratified on each title's most common top category;
    every item goes where its title goes, so no title is on two sides."""
    key = title_key(items["title"])
    titles = (pd.DataFrame({"key": key, "top": items["top_category"]}).groupby("key")["top"]
              .agg(lambda tops: tops.mode().iloc[0]).reset_index())
    parts = stratified_split(titles, "top", seed=seed)
    side = pd.concat([part["key"].to_frame().assign(side=name)
                      for name, part in zip(("train", "valid", "test"), (parts.train, parts.valid, parts.test))])
    where = key.map(side.set_index("key")["side"])
    return Split(*(items[where == name].reset_index(drop=True) for name in ("train", "valid", "test")))


def load_splits(data=None) -> dict[str, Split]:
    """{"items": the item-level split, "title groups": the distinct-title split}, ids checked against the
    committed ones."""
    from shoplens.datasets import load

    items = load(DATASET, root=data).tables["items"]
    items = items[items["title"].notna()].reset_index(drop=True)
    by_item = stratified_split(items, "top_category", seed=0)
    by_item = Split(*(p.reset_index(drop=True) for p in (by_item.train, by_item.valid, by_item.test)))
    check_committed_ids(DATASET, by_item, id_column="item_id")
    by_title = title_group_split(items, seed=0)
    check_committed_ids(f"{DATASET}-title-groups", by_title, id_column="item_id")
    return {"items": by_item, "title groups": by_title}


def share_of_titles_in(test: pd.DataFrame, train: pd.DataFrame) -> float:
    """Share of test rows whose title occurs verbatim in train."""
    return float(test["title"].isin(set(train["title"])).mean())


def _level_row(split: str, name: str, predicted: dict[str, np.ndarray], test: pd.DataFrame, **extra) -> dict:
    row = {"split": split, "model": name}
    for k, level in enumerate(LEVELS, start=1):
        if level in predicted:
            row[f"level-{k} accuracy"] = round(float((predicted[level] == test[level].to_numpy()).mean()), 4)
    row["level-1 macro-F1"] = round(float(f1_score(test[LEVELS[0]], predicted[LEVELS[0]], average="macro")), 4)
    return row | extra


def tfidf_svm_baseline(train: pd.DataFrame, valid: pd.DataFrame,
                       test: pd.DataFrame) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """One sklearn LinearSVC per level on word 1-2-gram + char_wb 2-5-gram TF-IDF of the title; each level's
    C is the one with the best validation accuracy (ties: the smaller C). Test labels are never read."""
    features = make_union(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, dtype=np.float32),
                          TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True,
                                          dtype=np.float32))
    X_train = features.fit_transform(train["title"])
    X_valid, X_test = features.transform(valid["title"]), features.transform(test["title"])
    predicted, chosen = {}, {}
    for level in LEVELS:
        best = None  # (valid accuracy, model); only the best is kept: a leaf model is hundreds of MB
        for C in BASELINE_C_GRID:
            model = LinearSVC(C=C).fit(X_train, train[level])
            accuracy = float((model.predict(X_valid) == valid[level].to_numpy()).mean())
            if best is None or accuracy > best[0]:
                best = (accuracy, model)
        predicted[level], chosen[level] = best[1].predict(X_test), best[1].C
    return predicted, chosen


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


def _bigbasket_rows(split_name: str, split: Split, quick: bool) -> tuple[list[dict], dict, dict]:
    train, valid, test = split.train, split.valid, split.test
    if quick:
        train = train.sample(QUICK_ROWS, random_state=0)
    prefix = "" if split_name == "items" else "title_groups_"
    rows, baselines = [], {}
    metrics = {f"{prefix}test_titles_in_train": round(share_of_titles_in(test, train), 4),
               f"{prefix}n_train": len(train), f"{prefix}n_valid": len(valid), f"{prefix}n_test": len(test)}
    print(f"BigBasket split {split_name!r}: {metrics[prefix + 'test_titles_in_train']:.1%} of {len(test):,} "
          f"test titles occur verbatim in train", flush=True)

    with Stopwatch() as sw:
        predicted, chosen = tfidf_svm_baseline(train, valid, test)
    rows.append(_level_row(split_name, "TF-IDF + LinearSVC per level (sklearn; C per level on valid)", predicted,
                           test, seconds=round(sw.seconds), C="/".join(f"{chosen[level]:g}" for level in LEVELS)))
    baselines |= {f"{prefix}tfidf_svm_level{k}_accuracy": rows[-1][f"level-{k} accuracy"] for k in (1, 2, 3)}
    for use_brand, name in ((False, "ShopLens CategoryClassifier, title"),
                            (True, "ShopLens CategoryClassifier, title + brand")):
        with Stopwatch() as sw:
            predicted, frame = _ours(train, valid, test, use_brand)
        correct = predicted[LEVELS[1]] == test[LEVELS[1]].to_numpy()
        rows.append(_level_row(split_name, name, predicted, test, seconds=round(sw.seconds),
                               **_confidence_columns(frame, correct)))
        key = prefix + ("title_brand" if use_brand else "title")
        metrics |= {f"{key}_level{k}_accuracy": rows[-1][f"level-{k} accuracy"] for k in (1, 2, 3)}
    return rows, metrics, baselines


def run(quick: bool = False, data=None) -> BenchResult:
    with Stopwatch() as total:
        rows, metrics, baselines = [], {}, {}
        for split_name, split in load_splits(data).items():
            split_rows, split_metrics, split_baselines = _bigbasket_rows(split_name, split, quick)
            rows += split_rows
            metrics |= split_metrics
            baselines |= split_baselines

        # review -> product category (Chinese, 10 classes) on the committed online_shopping split
        _, reviews = load_review_split("online-shopping-10cats", data=data)
        review_train = reviews.train.sample(QUICK_ROWS, random_state=0) if quick else reviews.train
        model = CategoryClassifier(char_ngrams=(1, 3), levels=1).fit(
            review_train["text"], review_train["category"], valid_titles=reviews.valid["text"],
            valid_categories=reviews.valid["category"])
        frame = model.predict_frame(reviews.test["text"])
        correct = frame["category"].to_numpy() == reviews.test["category"].to_numpy()
        rows.append({"split": "online_shopping_10_cats", "model": "review -> category (10 classes)",
                     "level-1 accuracy": round(float(correct.mean()), 4),
                     "level-1 macro-F1": round(float(f1_score(reviews.test["category"], frame["category"],
                                                              average="macro")), 4),
                     **_confidence_columns(frame, correct)})
        metrics["review_category_accuracy"] = rows[-1]["level-1 accuracy"]

    protocol = ("BigBasket, two splits (ids committed): seeded (0) stratified 80/10/10 over items, and over "
                "distinct titles (every copy of a title on one side); baseline C per level and CategoryClassifier "
                "temperature on valid, everything else fixed; test scored once" + (" (QUICK)" if quick else ""))
    return BenchResult(suite="categorize", dataset=f"{DATASET} + online-shopping-10cats", protocol=protocol,
                       metrics=metrics, baselines=baselines, seconds=total.seconds, rows=rows)
