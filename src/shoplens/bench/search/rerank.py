"""`shoplens bench search --part rerank`: the relevance bench's hybrid with a cross-encoder re-ranker fused in.

Same data, split and metric as `--part relevance` (Home Depot, each query's labelled candidates re-ranked,
NDCG@10 with gain = relevance - 1, lift over the random order; seeded 30% of the queries tune, 70% evaluate).
Inside the tuning split, queries are cut into FOLDS seeded folds: `CrossEncoderReranker` trains on all folds
but the first and keeps the epoch with the best NDCG@10 on the first (the held fold); the weight of the
cross-encoder in its fusion with the weighted hybrid (min-max scaled scores, `fuse(..., "weighted")`) is the
WEIGHTED_GRID value with the best NDCG@10 on the held fold too. The hybrid's own keyword weight is tuned on the
whole tuning split, as in `--part relevance`. The evaluation queries are scored once, at the end.

The trained model is saved in `model_dir`; a rerun with the same parameters loads it instead of training.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from shoplens.bench.harness import BenchResult
from shoplens.bench.search.scoring import (
    DEFAULT_CACHE,
    WEIGHTED_GRID,
    QueryScores,
    cached_encoder,
    lift,
    split_queries,
)
from shoplens.search.hybrid import fuse
from shoplens.search.keyword import KeywordIndex
from shoplens.search.rerank import CONFIG_FILE, CrossEncoderReranker

FOLDS = 4
DEFAULT_MODEL_DIR = "/tmp/shoplens-search-rerank-model"


def rerank(data=None, quick: bool = False, encoder: str = "minilm", cache: str | Path = DEFAULT_CACHE, seed: int = 0,
           tune_share: float = 0.3, epochs: int = 8, model_dir: str | Path = DEFAULT_MODEL_DIR,
           threads: int | None = None) -> BenchResult:
    """epochs: the cross-encoder's training epochs (the best one on the held fold is kept). quick: a slice
    (120 tuning and 200 evaluation queries, 1 epoch, 32-token pairs) that checks the pipeline, nothing more."""
    import torch

    from shoplens.datasets import load

    started = time.perf_counter()
    if threads:
        torch.set_num_threads(threads)
    pairs = load("homedepot-search-relevance", root=data).tables["relevance"]
    tune_queries, eval_queries = split_queries(np.array(sorted(pairs["query"].unique())), seed, tune_share)
    params = {"epochs": epochs, "random_state": seed}
    if quick:
        tune_queries, eval_queries = tune_queries[:120], eval_queries[:200]
        params |= {"epochs": 1, "max_tokens": 32}
    used = np.concatenate([tune_queries, eval_queries])
    pairs = pairs[pairs["query"].isin(used)]
    folds = dict(zip(tune_queries, np.random.default_rng(seed).permutation(len(tune_queries)) % FOLDS))
    fit_pairs = pairs[pairs["query"].map(folds).ge(1)]
    held_pairs = pairs[pairs["query"].map(folds).eq(0)]
    eval_pairs = pairs[pairs["query"].isin(set(eval_queries))]

    # The hybrid: bm25+typo and dense over every distinct title (IDF from the whole catalogue), as in relevance.
    all_titles = np.array(sorted(load("homedepot-search-relevance", root=data).tables["relevance"]["title"].unique()))
    title_row = pd.Series(np.arange(len(all_titles)), index=all_titles)
    keyword = KeywordIndex().fit(list(all_titles))
    dense_encoder = cached_encoder(encoder, cache)
    groups = dict(list(pairs.groupby("query", sort=False)))
    candidate_titles = sorted(pairs["title"].unique())
    title_vectors = dict(zip(candidate_titles, dense_encoder.encode(candidate_titles, kind="passage", batch_size=128,
                                                                    progress=not quick)))
    query_vectors = dict(zip(used, dense_encoder.encode(list(used), kind="query", batch_size=128)))
    table = QueryScores(seed)
    for query in used:
        group = groups[query]
        rows = title_row[group["title"]].to_numpy()
        table.add(query, group["relevance"].to_numpy() - 1.0,
                  {"bm25+typo": keyword.scores(query)[rows],
                   "dense": np.stack([title_vectors[t] for t in group["title"]]) @ query_vectors[query]})
    keyword_weight = max(WEIGHTED_GRID, key=lambda w: table.ndcg(tune_queries, lambda s: fuse(
        s["bm25+typo"], s["dense"], "weighted", keyword_weight=w)))

    reranker, trained = _trained_reranker(fit_pairs, held_pairs, params, Path(model_dir), verbose=not quick)
    held_scores = reranker.eval_scores_ if trained else reranker.predict(held_pairs["query"], held_pairs["title"])
    if len(held_scores) != len(held_pairs):
        raise RuntimeError("the cross-encoder dropped held-fold pairs with a blank query or title")
    _add_scores(table, held_pairs, held_scores)

    def hybrid(s):
        return fuse(s["bm25+typo"], s["dense"], "weighted", keyword_weight=keyword_weight)

    held_queries = list(held_pairs["query"].unique())
    by_weight = {w: table.ndcg(held_queries, lambda s, w=w: fuse(s["cross"], hybrid(s), "weighted", keyword_weight=w))
                 for w in WEIGHTED_GRID}
    cross_weight = max(by_weight, key=by_weight.get)

    score_start = time.perf_counter()
    _add_scores(table, eval_pairs, reranker.predict(eval_pairs["query"], eval_pairs["title"]))
    scoring_seconds = time.perf_counter() - score_start

    methods = {"bm25+typo": lambda s: s["bm25+typo"], f"dense-{encoder}": lambda s: s["dense"],
               f"hybrid-weighted ({encoder})": hybrid, "cross-encoder": lambda s: s["cross"],
               f"hybrid-weighted ({encoder}) + cross-encoder": lambda s: fuse(s["cross"], hybrid(s), "weighted",
                                                                               keyword_weight=cross_weight)}
    rows_out, metrics = [], {}
    for split, queries in (("held fold", held_queries), ("eval", eval_queries)):
        random = table.random(queries)
        for name, score_fn in methods.items():
            ndcg = table.ndcg(queries, score_fn)
            rows_out.append({"method": name, "queries": f"{split} ({len(table.rankable(queries))})", "ndcg@10": ndcg,
                             "random": random, "lift": lift(ndcg, random)})
            metrics[f"{split}/{name}"] = {"ndcg@10": round(ndcg, 4), "lift": round(lift(ndcg, random), 4)}
    best = f"hybrid-weighted ({encoder}) + cross-encoder"
    metrics["target"] = {"method": best, "lift": metrics[f"eval/{best}"]["lift"],
                         "ratio_vs_bm25+typo": round(metrics[f"eval/{best}"]["lift"] / metrics["eval/bm25+typo"]["lift"], 3),
                         "required_ratio": 1.5}
    metrics["chosen"] = {"hybrid_keyword_weight": keyword_weight, "cross_encoder_weight": cross_weight,
                         "held_fold_ndcg@10_by_cross_encoder_weight": {str(w): round(v, 4) for w, v in by_weight.items()},
                         "best_epoch": reranker.best_epoch_, "history": reranker.history_}
    metrics["cross_encoder"] = {"params": {k: v for k, v in reranker.get_params().items() if k != "verbose"},
                                "trained_now": trained, "fit_pairs": len(fit_pairs), "held_pairs": len(held_pairs),
                                "eval_pairs": len(eval_pairs), "eval_scoring_seconds": round(scoring_seconds, 1),
                                "eval_pairs_per_second": round(len(eval_pairs) / max(scoring_seconds, 1e-9), 1),
                                "torch_threads": torch.get_num_threads()}
    protocol = (f"re-rank each query's labelled candidates, NDCG@10 (gain = relevance - 1), lift over random; "
                f"{len(tune_queries)} tuning / {len(eval_queries)} evaluation queries (seed {seed}); cross-encoder "
                f"(all-MiniLM-L6-v2 + one-logit head, ListNet) trained on {FOLDS - 1}/{FOLDS} of the tuning queries, "
                f"its epoch and its fusion weight with the weighted hybrid chosen on the held {1}/{FOLDS}; "
                f"hybrid keyword weight tuned on the whole tuning split; evaluation queries scored once")
    return BenchResult("search-rerank", "homedepot-search-relevance", protocol, metrics,
                       baselines={"issue: bm25s+stemming": {"ndcg@10": 0.9254, "random": 0.9119, "lift": 0.15}},
                       seconds=time.perf_counter() - started, rows=rows_out)


def _trained_reranker(fit_pairs: pd.DataFrame, held_pairs: pd.DataFrame, params: dict, model_dir: Path,
                      verbose: bool) -> tuple[CrossEncoderReranker, bool]:
    """The model saved in `model_dir` if it was trained with `params` on exactly these pairs, else a new one
    (then saved there). Returns (model, trained now)."""
    fingerprint = {"params": params, "fit_pairs": len(fit_pairs), "held_pairs": len(held_pairs),
                   "fit_queries_hash": int(pd.util.hash_pandas_object(fit_pairs["query"], index=False).sum() % 2**61)}
    stamp = model_dir / "bench_fingerprint.json"
    if (model_dir / CONFIG_FILE).exists() and stamp.exists() and json.loads(stamp.read_text()) == fingerprint:
        return CrossEncoderReranker.load(model_dir), False
    reranker = CrossEncoderReranker(**params, verbose=verbose).fit(
        fit_pairs["query"], fit_pairs["title"], fit_pairs["relevance"],
        eval_set=(held_pairs["query"], held_pairs["title"], held_pairs["relevance"]))
    reranker.save(model_dir)
    stamp.write_text(json.dumps(fingerprint))
    return reranker, True


def _add_scores(table: QueryScores, pairs: pd.DataFrame, scores: np.ndarray) -> None:
    """Each query's cross-encoder scores, in its candidates' order (pairs keep the dataset's order per query)."""
    for query, rows in pairs.groupby("query", sort=False).indices.items():
        table.scores[query]["cross"] = np.asarray(scores)[rows]
