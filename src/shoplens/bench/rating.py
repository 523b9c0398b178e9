"""`shoplens bench rating`: 1-5 stars from review text on Women's Clothing E-Commerce Reviews.

Split: reviews with a text or a title, seeded (0) stratified 80/10/10 on the rating; ids committed under
bench/splits/. Rows: the mean rating (and the majority star for accuracy), a word TF-IDF ridge regression,
and the ShopLens `RatingPredictor` (title + text, word + char TF-IDF, multinomial LR; C chosen on valid),
optionally with MiniLM embeddings appended. RMSE is on the expected stars; accuracy on the most likely star
(ridge: rounded). Test is scored once.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import Ridge

from shoplens.bench.harness import BenchResult, Stopwatch
from shoplens.bench.sentiment import check_committed_ids
from shoplens.data.splits import Split, stratified_split
from shoplens.text.lexical import LexicalFeatures
from shoplens.reviews.rating import RatingPredictor, join_title

DATASET = "womens-clothing-reviews"
C_GRID = (1.0, 2.0, 4.0, 8.0)
QUICK_ROWS = 3000


def load_split(data=None) -> Split:
    from shoplens.datasets import load

    reviews = load(DATASET, root=data).tables["reviews"]
    reviews = reviews[reviews["text"].notna() | reviews["title"].notna()].reset_index(drop=True)
    split = stratified_split(reviews, "rating", seed=0)
    split = Split(*(p.reset_index(drop=True) for p in (split.train, split.valid, split.test)))
    check_committed_ids(DATASET, split)
    return split


def _row(name: str, expected: np.ndarray, stars: np.ndarray, truth: np.ndarray) -> dict:
    return {"model": name, "RMSE": round(float(np.sqrt(np.mean((expected - truth) ** 2))), 4),
            "MAE": round(float(np.mean(np.abs(expected - truth))), 4),
            "accuracy": round(float(np.mean(stars == truth)), 4)}


def run(quick: bool = False, data=None, encoder: str | None = None) -> BenchResult:
    with Stopwatch() as total:
        split = load_split(data)
        train, valid, test = split.train, split.valid, split.test
        if quick:
            train = train.sample(QUICK_ROWS, random_state=0)
        truth = test["rating"].to_numpy()
        rows = []

        mean = float(train["rating"].mean())
        majority = float(train["rating"].mode()[0])
        rows.append(_row(f"mean rating ({mean:.2f}) / majority star", np.full(len(test), mean),
                         np.full(len(test), majority), truth))

        words = LexicalFeatures(char_ngrams=None)
        ridge = Ridge(alpha=1.0).fit(words.fit_transform(join_title(train["text"], train["title"])), train["rating"])
        ridge_expected = np.clip(ridge.predict(words.transform(join_title(test["text"], test["title"]))), 1, 5)
        rows.append(_row("word 1-2 TF-IDF ridge (alpha=1)", ridge_expected, np.rint(ridge_expected), truth))

        variants = [("ShopLens RatingPredictor (word+char LR)", None)] + ([(f"+ {encoder} embeddings", encoder)]
                                                                       if encoder else [])
        chosen = {}
        for name, variant_encoder in variants:
            best = None
            for C in C_GRID if variant_encoder is None else (chosen["C"],):
                model = RatingPredictor(C=C, encoder=variant_encoder).fit(train["text"], train["rating"],
                                                                          titles=train["title"])
                valid_rmse = float(np.sqrt(np.mean((model.predict(valid["text"], valid["title"])
                                                    - valid["rating"].to_numpy()) ** 2)))
                if best is None or valid_rmse < best[0]:
                    best = (valid_rmse, C, model)
            valid_rmse, chosen["C"], model = best
            frame = model.predict_frame(test["text"], titles=test["title"])
            rows.append(_row(name, frame["expected"].to_numpy(), frame["stars"].to_numpy(), truth)
                        | {"valid RMSE": round(valid_rmse, 4), "C": chosen["C"],
                           "low-confidence share": round(float(frame["low_confidence"].mean()), 3)})

    ours = rows[2]
    metrics = {"rmse": ours["RMSE"], "mae": ours["MAE"], "accuracy": ours["accuracy"], "C": chosen["C"],
               "n_train": len(train), "n_valid": len(valid), "n_test": len(test)}
    if encoder:
        metrics |= {f"{encoder}_rmse": rows[3]["RMSE"], f"{encoder}_accuracy": rows[3]["accuracy"]}
    baselines = {"mean_rmse": rows[0]["RMSE"], "majority_accuracy": rows[0]["accuracy"],
                 "tfidf_ridge_rmse": rows[1]["RMSE"], "tfidf_ridge_accuracy": rows[1]["accuracy"]}
    protocol = ("seeded (0) stratified 80/10/10 split on rating, reviews with text or title; C chosen on valid "
                "RMSE; test scored once" + (f" (QUICK: {QUICK_ROWS} training reviews)" if quick else ""))
    return BenchResult(suite="rating", dataset=DATASET, protocol=protocol, metrics=metrics, baselines=baselines,
                       seconds=total.seconds, rows=rows)
