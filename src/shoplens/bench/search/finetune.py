"""The relevance bench's fine-tuned dense encoder: configuration chosen by k-fold CV inside the tuning split
(`select_finetune`), then fitted on all of it (`fine_tune`)."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from shoplens.bench.search.scoring import QueryScores, best_keyword_weight
from shoplens.search.hybrid import fuse
from shoplens.search.keyword import KeywordIndex

# Two ways to teach the dense encoder the judged pairs: "full" (MiniLM's own weights, `SearchTunedMiniLM`; on
# the query side only, as FULL_FIXED: 1.5-2.5 minutes per epoch here, where both sides, re-embedding every title,
# measured 10-46 s per step of 8 queries, over an hour per epoch on this busy 2-core box) and "adapter" (a linear
# map learnt on frozen MiniLM vectors, `EmbeddingAdapter`: 10-60 s a fit here, chosen by k-fold CV in every run).
ADAPTER_GRID = [{"side": "query", "loss": "ranking", "epochs": 3}, {"side": "query", "loss": "cosine", "epochs": 3},
                {"side": "both", "loss": "cosine", "epochs": 3},
                {"side": "both", "loss": "ranking", "epochs": 3, "in_batch_negatives": False}]
ADAPTER_FIXED = {"lr": 1e-3, "batch_queries": 32}
FULL_GRID = [{"loss": "ranking"}, {"loss": "cosine"}, {"loss": "ranking", "lr": 2e-5}]
FULL_FIXED = {"side": "query", "epochs": 1, "lr": 1e-4, "batch_queries": 32, "max_titles": 16}
FULL_DEFAULT = {**FULL_FIXED, **FULL_GRID[2]}  # what select_finetune chose on Home Depot (seed 0)
FINETUNE_FOLDS = 3


def _tuning_pairs(pairs: pd.DataFrame, queries) -> pd.DataFrame:
    return pairs[pairs["query"].isin(set(queries))]


def _tuned_model(kind: str, params: dict, seed: int, base, progress: bool):
    from shoplens.search.adapter import EmbeddingAdapter
    from shoplens.search.finetune import SearchTunedMiniLM

    if kind == "adapter":
        return EmbeddingAdapter(base=base.key, **params, random_state=seed).use_encoder(base)
    model = SearchTunedMiniLM(**params, random_state=seed, progress=progress)
    return model.use_encoder(base) if base is not None else model


class VectorLookup:
    """An Encoder over vectors already computed by `encoder`, registered as `key` (texts it was not given are
    encoded by it)."""

    def __init__(self, encoder, key: str, texts, vectors):
        self.encoder, self.key, self.name, self.dim = encoder, key, encoder.name, encoder.dim
        self.known = dict(zip(texts, vectors))

    def encode(self, texts, kind="passage", batch_size: int = 64, progress: bool = False) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.known]
        if missing:
            self.known.update(zip(missing, self.encoder.encode(missing, kind=kind, batch_size=batch_size)))
        return np.stack([self.known[t] for t in texts]) if len(texts) else np.zeros((0, self.dim), np.float32)


def select_finetune(table: QueryScores, pairs: pd.DataFrame, tune_queries, kind: str = "adapter", seed: int = 0,
                    grid=None, folds: int = FINETUNE_FOLDS, base=None, keyword: str = "bm25+typo",
                    progress: bool = False) -> dict:
    """Choose the fine-tuning configuration by `folds`-fold cross-validation over the rankable tuning queries:
    each `grid` entry is fitted on the other folds' judged pairs and scores each held-out query's candidates;
    reported: NDCG@10 of dense alone and of weighted fusion with `keyword` (weight best over WEIGHTED_GRID), over
    all tuning queries. The off-the-shelf encoder (`table`'s "dense") is given for reference. Chosen: the best
    weighted-fusion NDCG (the hybrid is what ships). `base`: the encoder an adapter reads."""
    grid, fixed = (grid or ADAPTER_GRID, ADAPTER_FIXED) if kind == "adapter" else (grid or FULL_GRID, FULL_FIXED)
    queries = np.array(table.rankable(tune_queries))
    fold_of = np.random.default_rng(seed + 1).permutation(len(queries)) % folds

    def scored(score_key: str) -> dict:
        best = best_keyword_weight(table, queries, keyword, score_key)
        weighted = table.ndcg(queries, lambda s: fuse(s[keyword], s[score_key], "weighted", keyword_weight=best))
        return {"dense_ndcg@10": round(table.ndcg(queries, lambda s: s[score_key]), 4),
                "weighted_ndcg@10": round(weighted, 4), "keyword_weight": best}

    results = {"off-the-shelf": scored("dense")}
    for params in grid:
        seconds = 0.0
        for fold in range(folds):
            held, fit_pairs = queries[fold_of == fold], _tuning_pairs(pairs, queries[fold_of != fold])
            started = time.perf_counter()
            model = _tuned_model(kind, {**fixed, **params}, seed, base, progress).fit(
                fit_pairs["query"], fit_pairs["title"], fit_pairs["relevance"])
            seconds += time.perf_counter() - started
            held_titles = list(dict.fromkeys(t for q in held for t in table.titles[q]))
            title_vectors = dict(zip(held_titles, model.encode(held_titles, kind="passage", batch_size=128)))
            for query, vector in zip(held, model.encode(list(held), kind="query", batch_size=128)):
                table.scores[query]["dense-cv"] = np.stack([title_vectors[t] for t in table.titles[query]]) @ vector
        results[json.dumps(params)] = {**scored("dense-cv"), "fit_seconds_per_fold": round(seconds / folds, 1)}
    for query in queries:
        table.scores[query].pop("dense-cv", None)
    chosen = max((k for k in results if k != "off-the-shelf"), key=lambda k: results[k]["weighted_ndcg@10"])
    return {"kind": kind, "chosen": {**fixed, **json.loads(chosen)}, "folds": folds, "queries": len(queries),
            "seed": seed, "cv": results}


def selection_table(groups: dict, tune_queries, title_row: pd.Series, keyword: KeywordIndex,
                     title_vectors: np.ndarray, query_vectors: dict, seed: int) -> QueryScores:
    """The tuning queries' candidates with their bm25+typo and off-the-shelf dense scores (for select_finetune)."""
    table = QueryScores(seed)
    for query in tune_queries:
        group = groups[query]
        rows = title_row[group["title"]].to_numpy()
        table.add(query, group["relevance"].to_numpy() - 1,
                  {"bm25+typo": keyword.scores(query)[rows], "dense": title_vectors[rows] @ query_vectors[query]},
                  titles=group["title"].to_numpy())
    return table


def fine_tune(kind: str, pairs: pd.DataFrame, tune_queries, selection, folder, seed: int, progress: bool,
               selection_table, base):
    """The adapter or fine-tuned MiniLM fitted on every judged pair of the tuning queries, saved to `folder`;
    its configuration chosen by `select_finetune` (always for the adapter; for "full" when `selection` is "run")
    or read from a JSON it wrote (`selection` a path); and the record of it all."""
    if isinstance(selection, (str, Path)) and str(selection) != "run":
        selection = json.loads(Path(selection).read_text())
        if (selection.get("seed"), selection.get("kind")) != (seed, kind):
            raise ValueError(f"the selection file is for {selection.get('kind')} with seed {selection.get('seed')}")
    elif kind == "adapter" or selection == "run":
        selection = select_finetune(selection_table(), pairs, tune_queries, kind, seed, base=base, progress=progress)
    params = selection["chosen"] if selection else FULL_DEFAULT
    tune_pairs = _tuning_pairs(pairs, tune_queries)
    started = time.perf_counter()
    model = _tuned_model(kind, params, seed, base, progress).fit(
        tune_pairs["query"], tune_pairs["title"], tune_pairs["relevance"])
    seconds = time.perf_counter() - started
    folder = model.save(folder or tempfile.mkdtemp(prefix=f"shoplens-search-{kind}-"))
    return model, {"kind": kind, "params": {k: v for k, v in model.get_params().items() if k != "progress"},
                   "epochs": model.epochs, "fit_seconds": round(seconds, 1),
                   "seconds_per_epoch": round(seconds / max(model.epochs, 1), 2), "pairs": model.n_pairs_,
                   "queries": model.n_queries_, "steps": len(model.losses_), "encoder_name": model.name,
                   "saved_to": str(folder), "selection": selection or "FULL_DEFAULT (no selection run)"}
