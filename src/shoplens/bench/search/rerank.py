"""`shoplens bench search --part rerank`: the relevance bench's hybrid with a cross-encoder re-ranker fused in.

Same data and metric as `--part relevance` (Home Depot, each query's labelled candidates re-ranked, NDCG@10
with gain = relevance - 1, lift over the random order). One fitting step, given tuning and scored queries:
the tuning queries are cut into FOLDS seeded folds; `CrossEncoderReranker` trains on all folds but the first
and keeps the epoch with the best NDCG@10 on the first (the held fold); the cross-encoder's weight in its fusion
with the weighted hybrid (min-max scaled scores, `fuse(..., "weighted")`) is the WEIGHTED_GRID value with the
best NDCG@10 on the held fold too; the hybrid's own keyword weight is tuned on all the tuning queries. Then the
scored queries are scored once.

Protocols: "split" (default) — the relevance bench's split, a seeded 30% of the queries tune and the other 70%
are scored. "cross-fit" — every query is scored once, out of fold: the queries are cut into `cross_fit_folds`
seeded folds, and for each the step above runs with the other folds as its tuning queries (each cross-encoder
trains on ~60% of all queries instead of ~22%; `cross_fit_folds` trainings: meant for a GPU, `device="cuda"`).

The trained models are saved under `model_dir`; a rerun with the same parameters loads them instead of training.
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
    best_keyword_weight,
    cached_encoder,
    lift,
    split_queries,
)
from shoplens.search.hybrid import fuse
from shoplens.search.keyword import KeywordIndex
from shoplens.search.rerank import CONFIG_FILE, CrossEncoderReranker

FOLDS = 4
PROTOCOLS = ("split", "cross-fit")
HELD = "held "  # score-key prefix for a fitting step's held fold
DEFAULT_MODEL_DIR = "/tmp/shoplens-search-rerank-model"


def rerank(data=None, quick: bool = False, encoder: str = "minilm", cache: str | Path = DEFAULT_CACHE, seed: int = 0,
           tune_share: float = 0.3, epochs: int = 8, model_dir: str | Path = DEFAULT_MODEL_DIR,
           threads: int | None = None, protocol: str = "split", cross_fit_folds: int = 5,
           device: str = "cpu") -> BenchResult:
    """epochs: the cross-encoder's training epochs (the best one on the held fold is kept). quick: a slice
    (120 tuning and 200 evaluation queries, 1 epoch, 32-token pairs) that checks the pipeline, nothing more."""
    import torch

    from shoplens.datasets import load

    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
    started = time.perf_counter()
    if threads:
        torch.set_num_threads(threads)
    all_pairs = load("homedepot-search-relevance", root=data).tables["relevance"]
    tune_queries, eval_queries = split_queries(np.array(sorted(all_pairs["query"].unique())), seed, tune_share)
    params = {"epochs": epochs, "random_state": seed}
    if quick:
        tune_queries, eval_queries = tune_queries[:120], eval_queries[:200]
        params |= {"epochs": 1, "max_tokens": 32}
    used = np.concatenate([tune_queries, eval_queries])
    pairs = all_pairs[all_pairs["query"].isin(used)]
    table = _hybrid_table(all_pairs, pairs, used, encoder, cache, seed, progress=not quick)

    if protocol == "split":
        steps = [("", tune_queries, eval_queries)]
    else:  # every query scored once, by the step whose tuning queries are the other folds
        fold_of = np.random.default_rng(seed).permutation(len(used)) % cross_fit_folds
        steps = [(f"fold-{k}", used[fold_of != k], used[fold_of == k]) for k in range(cross_fit_folds)]
    scored, chosen = [], {}
    for name, tuning, scoring in steps:
        chosen[name or "split"], held_queries = _fit_and_score(table, pairs, tuning, scoring, params,
                                                               Path(model_dir) / name, seed, device, verbose=not quick)
        scored += list(scoring)

    rows_out, metrics = [], {}
    splits = [("eval" if protocol == "split" else "all, out of fold", scored, "")]
    if protocol == "split":
        splits.insert(0, ("held fold", held_queries, HELD))
    for split, queries, prefix in splits:
        random = table.random(queries)
        for name, key in (("bm25+typo", "bm25+typo"), (f"dense-{encoder}", "dense"),
                          (f"hybrid-weighted ({encoder})", prefix + "hybrid"), ("cross-encoder", prefix + "cross"),
                          (f"hybrid-weighted ({encoder}) + cross-encoder", prefix + "hybrid+cross")):
            ndcg = table.ndcg(queries, lambda s, key=key: s[key])
            rows_out.append({"method": name, "queries": f"{split} ({len(table.rankable(queries))})", "ndcg@10": ndcg,
                             "random": random, "lift": lift(ndcg, random)})
            metrics[f"{split}/{name}"] = {"ndcg@10": round(ndcg, 4), "lift": round(lift(ndcg, random), 4)}
    scored_split, best = splits[-1][0], f"hybrid-weighted ({encoder}) + cross-encoder"
    metrics["target"] = {"method": best, "queries": scored_split, "lift": metrics[f"{scored_split}/{best}"]["lift"],
                         "ratio_vs_bm25+typo": round(metrics[f"{scored_split}/{best}"]["lift"]
                                                     / metrics[f"{scored_split}/bm25+typo"]["lift"], 3),
                         "required_ratio": 1.5}
    metrics["chosen"] = chosen if protocol == "cross-fit" else chosen["split"]
    metrics["torch_threads"] = torch.get_num_threads()
    description = (f"{len(tune_queries)} tuning / {len(eval_queries)} evaluation queries (seed {seed})"
                   if protocol == "split" else
                   f"cross-fitted over {cross_fit_folds} seeded folds of all {len(used)} queries, each scored once "
                   "by the step tuned on the other folds")
    protocol_text = (f"re-rank each query's labelled candidates, NDCG@10 (gain = relevance - 1), lift over random; "
                     f"{description}; cross-encoder (all-MiniLM-L6-v2 + one-logit head, ListNet) trained on "
                     f"{FOLDS - 1}/{FOLDS} of the tuning queries, its epoch and its fusion weight with the weighted "
                     f"hybrid chosen on the held 1/{FOLDS}; hybrid keyword weight tuned on all the tuning queries; "
                     "scored queries scored once")
    return BenchResult("search-rerank", "homedepot-search-relevance", protocol_text, metrics,
                       baselines={"issue: bm25s+stemming": {"ndcg@10": 0.9254, "random": 0.9119, "lift": 0.15}},
                       seconds=time.perf_counter() - started, rows=rows_out)


def _hybrid_table(all_pairs: pd.DataFrame, pairs: pd.DataFrame, used, encoder: str, cache, seed: int,
                  progress: bool) -> QueryScores:
    """bm25+typo and dense scores of each used query's candidates, over every distinct title of the dataset
    (IDF from the whole catalogue), as in the relevance bench."""
    all_titles = np.array(sorted(all_pairs["title"].unique()))
    title_row = pd.Series(np.arange(len(all_titles)), index=all_titles)
    keyword = KeywordIndex().fit(list(all_titles))
    dense_encoder = cached_encoder(encoder, cache)
    candidate_titles = sorted(pairs["title"].unique())
    title_vectors = dict(zip(candidate_titles, dense_encoder.encode(candidate_titles, kind="passage", batch_size=128,
                                                                    progress=progress)))
    query_vectors = dict(zip(used, dense_encoder.encode(list(used), kind="query", batch_size=128)))
    groups = dict(list(pairs.groupby("query", sort=False)))
    table = QueryScores(seed)
    for query in used:
        group = groups[query]
        table.add(query, group["relevance"].to_numpy() - 1.0,
                  {"bm25+typo": keyword.scores(query)[title_row[group["title"]].to_numpy()],
                   "dense": np.stack([title_vectors[t] for t in group["title"]]) @ query_vectors[query]})
    return table


def _fit_and_score(table: QueryScores, pairs: pd.DataFrame, tune_queries, score_queries, params: dict,
                   model_dir: Path, seed: int, device: str, verbose: bool) -> tuple[dict, list[str]]:
    """One fitting step (module doc): adds "hybrid", "cross" and "hybrid+cross" scores to the table for the
    scored queries, and the same with the HELD prefix for the held fold (whose queries another cross-fitting
    step may score); returns what it chose and the held fold's queries."""
    folds = dict(zip(tune_queries, np.random.default_rng(seed).permutation(len(tune_queries)) % FOLDS))
    fit_pairs = pairs[pairs["query"].map(folds).ge(1)]
    held_pairs = pairs[pairs["query"].map(folds).eq(0)]
    score_pairs = pairs[pairs["query"].isin(set(score_queries))]
    keyword_weight = best_keyword_weight(table, tune_queries, "bm25+typo", "dense")

    reranker, trained = _trained_reranker(fit_pairs, held_pairs, params, model_dir, device, verbose)
    held_scores = reranker.eval_scores_ if trained else reranker.predict(held_pairs["query"], held_pairs["title"])
    if len(held_scores) != len(held_pairs):
        raise RuntimeError("the cross-encoder dropped held-fold pairs with a blank query or title")
    _add_scores(table, held_pairs, held_scores, keyword_weight, prefix=HELD)
    held_queries = list(held_pairs["query"].unique())
    by_weight = {w: table.ndcg(held_queries, lambda s, w=w: fuse(s[HELD + "cross"], s[HELD + "hybrid"], "weighted",
                                                                  keyword_weight=w)) for w in WEIGHTED_GRID}
    cross_weight = max(by_weight, key=by_weight.get)
    _add_scores(table, held_pairs, held_scores, keyword_weight, cross_weight, prefix=HELD)

    score_start = time.perf_counter()
    score_scores = reranker.predict(score_pairs["query"], score_pairs["title"])
    scoring_seconds = time.perf_counter() - score_start
    _add_scores(table, score_pairs, score_scores, keyword_weight, cross_weight)
    chosen = {"hybrid_keyword_weight": keyword_weight, "cross_encoder_weight": cross_weight,
            "held_fold_ndcg@10_by_cross_encoder_weight": {str(w): round(v, 4) for w, v in by_weight.items()},
            "best_epoch": reranker.best_epoch_, "history": reranker.history_,
            "cross_encoder": {"params": {k: v for k, v in reranker.get_params().items() if k != "verbose"},
                              "trained_now": trained, "fit_pairs": len(fit_pairs), "held_pairs": len(held_pairs),
                              "scored_pairs": len(score_pairs), "scoring_seconds": round(scoring_seconds, 1),
                              "scored_pairs_per_second": round(len(score_pairs) / max(scoring_seconds, 1e-9), 1)}}
    return chosen, held_queries


def _trained_reranker(fit_pairs: pd.DataFrame, held_pairs: pd.DataFrame, params: dict, model_dir: Path,
                      device: str, verbose: bool) -> tuple[CrossEncoderReranker, bool]:
    """The model saved in `model_dir` if it was trained with `params` on exactly these pairs, else a new one
    (then saved there). Returns (model, trained now)."""
    fingerprint = {"params": params, "fit_pairs": len(fit_pairs), "held_pairs": len(held_pairs),
                   "fit_queries_hash": int(pd.util.hash_pandas_object(fit_pairs["query"], index=False).sum() % 2**61)}
    stamp = model_dir / "bench_fingerprint.json"
    if (model_dir / CONFIG_FILE).exists() and stamp.exists() and json.loads(stamp.read_text()) == fingerprint:
        return CrossEncoderReranker.load(model_dir), False
    reranker = CrossEncoderReranker(**params, device=device, verbose=verbose).fit(
        fit_pairs["query"], fit_pairs["title"], fit_pairs["relevance"],
        eval_set=(held_pairs["query"], held_pairs["title"], held_pairs["relevance"]))
    reranker.save(model_dir)
    stamp.write_text(json.dumps(fingerprint))
    return reranker, True


def _add_scores(table: QueryScores, pairs: pd.DataFrame, cross: np.ndarray, keyword_weight: float,
                cross_weight: float | None = None, prefix: str = "") -> None:
    """Per query of `pairs` (in its candidates' order, as the dataset lists them), under keys starting with
    `prefix`: the cross-encoder's scores, the weighted hybrid with `keyword_weight`, and, given `cross_weight`,
    their fusion."""
    for query, rows in pairs.groupby("query", sort=False).indices.items():
        scores = table.scores[query]
        scores[prefix + "cross"] = np.asarray(cross)[rows]
        scores[prefix + "hybrid"] = fuse(scores["bm25+typo"], scores["dense"], "weighted", keyword_weight=keyword_weight)
        if cross_weight is not None:
            scores[prefix + "hybrid+cross"] = fuse(scores[prefix + "cross"], scores[prefix + "hybrid"], "weighted",
                                                   keyword_weight=cross_weight)
