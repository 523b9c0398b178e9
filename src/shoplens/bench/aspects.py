"""`shoplens bench aspects`: aspect extraction and aspect polarity on the marketplace simulator, where the
true (aspect, polarity) pairs of every generated review are known; `--part labelled`: on hand-labelled real
Chinese review clauses (bench/labels/aspect-clauses-zh.csv).

Protocol: simulate a marketplace (seeded); fit the `AspectExtractor` vocabulary on the review texts alone
(no truth); match predicted (review, aspect) pairs to the truth: precision, recall, F1, overall and per
language; polarity accuracy on the correctly found pairs, for the opinion lexicon and for a clause model
trained on the same reviews with star ratings as labels. Caveat: the seed aspect list was written with the
simulator's aspect names visible, so these numbers are an optimistic bound for real shops.

Labelled part: 324 real clauses that name an aspect (+ 35 naming only a brand or the product), labelled by
hand before tuning, split into a tuning and a held-out half by a hash of the review id. For every stratum
(source x category) the vocabulary is fitted on up to 2,000 of its reviews (seeded, texts only) and the clause
model is trained on them with the corpus's review labels as ratings (5 / 1), the labelled reviews left out.
Metrics per half: aspect recall (the labelled aspect among the clause's mentions), polarity accuracy and
macro-F1 over +1/-1/0 on the clauses whose aspect was found, clause polarity over all aspect clauses, and how
often a brand or product name in the clause (`non_aspects`) is reported as an aspect.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
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


def run(quick: bool = False, data=None, seed: int = 0, part: str = "simulator") -> BenchResult:
    """part "simulator" (`data` unused: the simulator is the data) or "labelled" (real clauses, read from `data`)."""
    if part == "labelled":
        return run_labelled(quick=quick, data=data, seed=seed)
    if part != "simulator":
        raise ValueError(f"unknown part {part!r}; expected simulator or labelled")
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


FIT_REVIEWS = 2000  # per stratum, for the vocabulary and the clause model


def macro_f1(true, predicted, classes=(1, -1, 0)) -> float:
    """Mean F1 over `classes` (a class never predicted nor true counts 0, so a binary model pays for 0)."""
    true, predicted = np.asarray(true), np.asarray(predicted)
    scores = []
    for c in classes:
        tp = np.sum((predicted == c) & (true == c))
        denominator = np.sum(predicted == c) + np.sum(true == c)
        scores.append(2 * tp / denominator if denominator else 0.0)
    return float(np.mean(scores))


def _stratum_extractors(corpus: pd.DataFrame, labelled: pd.DataFrame, seed: int, fit_reviews: int):
    """(source, category) -> fitted extractor, per polarity source; see the module docstring."""
    labelled_ids = set(zip(labelled["source"], labelled["file"], labelled["row_id"]))
    fitted = {}
    for (source, category), _ in labelled.groupby(["source", "category"]):
        stratum = corpus[(corpus["source"] == source) & (corpus["category"] == category) & corpus["text"].notna()]
        stratum = stratum.sample(min(fit_reviews, len(stratum)), random_state=seed)
        texts = stratum["text"].tolist()
        held = [(s, f, r) in labelled_ids for s, f, r in zip(stratum["source"], stratum["file"], stratum["row_id"])]
        train = stratum[~np.asarray(held)]
        sentiment = clause_sentiment_from_ratings(train["text"].tolist(), np.where(train["label"] == 1, 5, 1))
        fitted[(source, category)] = {name: AspectExtractor(sentiment=model).fit(texts)
                                      for name, model in (("lexicon", None), ("model", sentiment))}
    return fitted


def score_labelled(labelled: pd.DataFrame, mentions: list[list]) -> dict:
    """Metrics of one set of labelled clauses and the mentions found in each; see the module docstring."""
    with_aspect = (labelled["aspect"] != "none").to_numpy()
    found, true_found, predicted_found = [], [], []
    brand_rows = brand_hits = 0
    for row, clause_mentions, has_aspect in zip(labelled.itertuples(), mentions, with_aspect):
        by_aspect = {m.aspect: m for m in clause_mentions}
        names = [n for n in str(row.non_aspects).split(";") if n]
        if names:
            brand_rows += 1
            brand_hits += any(n.lower() in (m.term, m.aspect) for n in names for m in clause_mentions)
        if not has_aspect:
            continue
        hit = by_aspect.get(row.aspect)
        found.append(hit is not None)
        if hit is not None:
            true_found.append(row.polarity)
            predicted_found.append(hit.polarity)
    true_found, predicted_found = np.asarray(true_found), np.asarray(predicted_found)
    return {
        "n": int(with_aspect.sum()),
        "aspect_recall": round(float(np.mean(found)), 4),
        "n_found": int(len(true_found)),
        "polarity_accuracy_found": round(float(np.mean(true_found == predicted_found)), 4) if len(true_found) else 0.0,
        "macro_f1_found": round(macro_f1(true_found, predicted_found), 4),
        "n_brand_clauses": brand_rows,
        "brand_as_aspect": round(brand_hits / max(brand_rows, 1), 4),
    }


def run_labelled(quick: bool = False, data=None, seed: int = 0) -> BenchResult:
    """The labelled real clauses (module docstring). quick: 300 reviews per stratum for fitting, not 2,000."""
    with Stopwatch() as total:
        labelled = labelled_clauses(data)
        corpus = corpus_reviews(data)
        fitted = _stratum_extractors(corpus, labelled, seed, 300 if quick else FIT_REVIEWS)
        rows, metrics = [], {}
        for source in ("lexicon", "model"):
            mentions = [None] * len(labelled)
            clause_polarity = np.zeros(len(labelled), dtype=int)
            for key, group in labelled.groupby(["source", "category"]):
                extractor = fitted[key][source]
                for position, found in zip(group.index, extractor.extract_many(group["clause"].tolist())):
                    mentions[position] = found
                for position, polarity in zip(group.index, extractor.clause_polarities(group["clause"].tolist())):
                    clause_polarity[position] = polarity
            for half in ("tuning", "held-out", "all"):
                chosen = labelled.index if half == "all" else labelled.index[labelled["half"] == half]
                part = labelled.loc[chosen]
                result = score_labelled(part, [mentions[i] for i in chosen])
                aspect_rows = part["aspect"] != "none"
                true, predicted = part.loc[aspect_rows, "polarity"], clause_polarity[chosen][aspect_rows.to_numpy()]
                result["clause_polarity_accuracy"] = round(float(np.mean(true.to_numpy() == predicted)), 4)
                result["clause_macro_f1"] = round(macro_f1(true, predicted), 4)
                metrics[f"{source}_{half}"] = result
                rows.append({"polarity source": source, "half": half, **result})
        metrics["n_labelled"] = int(len(labelled))
        on_purpose = labelled["pick"].str.startswith("hard") & (labelled["aspect"] != "none")
        metrics["n_picked_on_purpose"] = int(on_purpose.sum())
    return BenchResult(
        suite="aspects", dataset=f"hand-labelled Chinese review clauses ({len(labelled)}: "
                                 "online-shopping-10cats, chnsenticorp-htl-all, chnsenticorp)",
        protocol="labelled aspect among the clause's mentions; polarity on found clauses (+1/-1/0, macro-F1); "
                 "vocabulary and clause model fitted per stratum on up to 2,000 reviews (labelled ones left out "
                 "of the model); tuning / held-out halves by a hash of the review id",
        metrics=metrics, seconds=total.seconds, rows=rows)
