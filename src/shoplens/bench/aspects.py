"""`shoplens bench aspects`: aspect extraction and aspect polarity on the marketplace simulator, where the
true (aspect, polarity) pairs of every generated review are known.

Protocol: simulate a marketplace (seeded); fit the `AspectExtractor` vocabulary on the review texts alone
(no truth); match predicted (review, aspect) pairs to the truth: precision, recall, F1, overall and per
language; polarity accuracy on the correctly found pairs, for the opinion lexicon and for a clause model
trained on the same reviews with star ratings as labels. Caveat: the seed aspect list was written with the
simulator's aspect names visible, so these numbers are an optimistic bound for real shops.
"""

from __future__ import annotations

import pandas as pd

from shoplens.bench.harness import BenchResult, Stopwatch
from shoplens.datasets.synthetic import marketplace
from shoplens.reviews.aspects import AspectExtractor, clause_sentiment_from_ratings
from shoplens.text import detect_lang


def score(predicted: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """Precision/recall/F1 of (review_id, aspect) pairs; polarity accuracy on the pairs found correctly."""
    keys = ["review_id", "aspect"]
    matched = predicted.merge(truth, on=keys, suffixes=("", "_true"))
    precision = len(matched) / max(len(predicted), 1)
    recall = len(matched) / max(len(truth), 1)
    return {"precision": round(precision, 4), "recall": round(recall, 4),
            "f1": round(2 * precision * recall / max(precision + recall, 1e-12), 4),
            "polarity_accuracy": round(float((matched["polarity"] == matched["polarity_true"]).mean()), 4)
            if len(matched) else 0.0}


def run(quick: bool = False, data=None, seed: int = 0) -> BenchResult:
    """`data` is unused (the simulator is the data); kept so every suite takes the same arguments."""
    with Stopwatch() as total:
        market = marketplace(n_users=1000 if quick else 6000, n_items=500, seed=seed)
        reviews = market.tables["reviews"]
        truth = market.truth.review_aspects[["review_id", "aspect", "polarity"]].drop_duplicates(["review_id", "aspect"])
        texts = reviews["text"].tolist()
        language = pd.Series([detect_lang(t) for t in texts], index=reviews["review_id"])

        rows, metrics = [], {}
        sources = {"opinion lexicon": None,
                   "clause model trained on ratings": clause_sentiment_from_ratings(texts, reviews["rating"])}
        for source, sentiment in sources.items():
            with Stopwatch() as sw:
                extractor = AspectExtractor(sentiment=sentiment).fit(texts)
                mentions = extractor.extract_many(texts)
            predicted = pd.DataFrame(
                [{"review_id": rid, "aspect": m.aspect, "polarity": m.polarity}
                 for rid, found in zip(reviews["review_id"], mentions) for m in found],
                columns=["review_id", "aspect", "polarity"],
            ).drop_duplicates(["review_id", "aspect"])
            for lang in ("all", "zh", "en"):
                ids = language.index if lang == "all" else language.index[language == lang]
                result = score(predicted[predicted["review_id"].isin(ids)], truth[truth["review_id"].isin(ids)])
                rows.append({"polarity source": source, "language": lang, **result,
                             "reviews/s": round(len(texts) / sw.seconds) if lang == "all" else ""})
                metrics[f"{'lexicon' if sentiment is None else 'model'}_{lang}"] = result
        metrics["learnt_terms"] = len(extractor.learnt_terms)
        metrics["n_reviews"] = len(reviews)
        metrics["n_true_pairs"] = len(truth)
    return BenchResult(
        suite="aspects", dataset=f"marketplace simulator (seed {seed}, {len(reviews)} reviews, zh+en)",
        protocol="(review, aspect) precision/recall vs simulator truth; polarity accuracy on found pairs; "
                 "vocabulary fitted on texts only; seed list written with simulator aspect names visible",
        metrics=metrics, seconds=total.seconds, rows=rows)
