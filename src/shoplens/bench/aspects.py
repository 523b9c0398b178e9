"""`shoplens bench aspects`: aspect extraction and aspect polarity on the marketplace simulator, where the
true (aspect, polarity) pairs of every generated review are known.

Protocol: simulate a marketplace (seeded); fit the `AspectExtractor` vocabulary on the review texts alone
(no truth); match predicted (review, aspect) pairs to the truth: precision, recall, F1, overall and per
language; polarity accuracy on the correctly found pairs, for the opinion lexicon and for a clause model
trained on the same reviews with star ratings as labels. Caveat: the seed aspect list was written with the
simulator's aspect names visible, so these numbers are an optimistic bound for real shops.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from shoplens.bench.harness import BenchResult, Stopwatch
from shoplens.datasets.synthetic import marketplace
from shoplens.reviews.aspects import AspectExtractor, clause_sentiment_from_ratings
from shoplens.text import detect_lang

LABELS = Path(__file__).resolve().parents[3] / "bench" / "labels" / "aspect-clauses-zh.csv"
# source -> (folder under $SHOPLENS_DATA, files); row ids are the project readers' review_id
CORPORA = {
    "chnsenticorp": ("chnsenticorp", ("train.tsv", "dev.tsv", "test.tsv")),
    "chnsenticorp-htl-all": ("chnsenticorp-htl-all", ("ChnSentiCorp_htl_all.csv",)),
    "online-shopping-10cats": ("online-shopping-10cats", ("online_shopping_10_cats.csv.gz",)),
}


def clause_sha1(clause: str) -> str:
    return hashlib.sha1(clause.encode("utf-8")).hexdigest()


def corpus_reviews(data=None) -> pd.DataFrame:
    """The three shared Chinese review corpora as one frame: source, file, row_id, category, label, text.
    row_id is the project reader's review_id ("train-12" for ChnSentiCorp's TSVs, the 0-based data row of the
    CSVs). Raises FileNotFoundError naming the missing file."""
    from shoplens.config import data_root
    from shoplens.datasets.formats import read_chnsenticorp_tsv, read_label_text_csv

    root = Path(data) if data is not None else data_root()
    parts = []
    for source, (folder, files) in CORPORA.items():
        for name in files:
            path = root / folder / name
            if not path.is_file():
                raise FileNotFoundError(f"{path} is missing: put the {folder} dataset under $SHOPLENS_DATA")
            reader = read_chnsenticorp_tsv if name.endswith(".tsv") else read_label_text_csv
            reviews = reader(path).tables["reviews"]
            parts.append(pd.DataFrame({
                "source": source, "file": name, "row_id": reviews["review_id"].astype(str),
                "category": reviews["cat"].astype(str) if "cat" in reviews else "",
                "label": reviews["label"], "text": reviews["text"]}))
    return pd.concat(parts, ignore_index=True)


def labelled_half(source: str, file: str, row_id: str) -> str:
    """"tuning" or "held-out", fixed by a hash of the review's id (so both clauses of one review fall together);
    decided before any tuning, and never by the labels."""
    digest = hashlib.sha1(f"{source}/{file}/{row_id}".encode()).hexdigest()
    return "tuning" if int(digest[:8], 16) % 2 == 0 else "held-out"


def labelled_clauses(data=None, labels=LABELS) -> pd.DataFrame:
    """The hand-labelled clauses (bench/labels/aspect-clauses-zh.csv: ids, sha1 and labels, no texts) with
    each clause's text re-derived from the shared corpora by (source, file, row_id, clause_index) with
    `split_clauses`. Raises ValueError listing the rows whose text no longer hashes to the recorded sha1
    (the data or the clause splitter changed). Adds `half`: tuning or held-out (`labelled_half`)."""
    from shoplens.reviews.aspects import split_clauses

    table = pd.read_csv(labels, comment="#", dtype={"row_id": str, "clause_index": int, "polarity": int},
                        keep_default_na=False)
    corpus = corpus_reviews(data).set_index(["source", "file", "row_id"])
    texts, reviews, categories, drifted = [], [], [], []
    for row in table.itertuples():
        review = corpus.loc[(row.source, row.file, row.row_id)]
        clauses = split_clauses(review["text"])
        clause = clauses[row.clause_index] if row.clause_index < len(clauses) else ""
        if clause_sha1(clause) != row.sha1:
            drifted.append(f"{row.source}/{row.file} row {row.row_id} clause {row.clause_index}")
        texts.append(clause)
        reviews.append(review["text"])
        categories.append(review["category"])
    if drifted:
        raise ValueError(f"{len(drifted)} labelled clauses no longer match their sha1: " + "; ".join(drifted[:5]))
    halves = [labelled_half(r.source, r.file, r.row_id) for r in table.itertuples()]
    return table.assign(clause=texts, review=reviews, category=categories, half=halves)


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
