"""`shoplens bench rec-retrieval`: `recommend()` for one user over a 1M-item catalogue, through faiss.

A SASRec network whose item vectors are a synthetic clustered catalogue (trained weights would not
change the cost) serves one user at a time through `WorkspaceRecommender.recommend(history=...)`:
sequence encoding + IVF search + seen-item filtering + id translation, i.e. what a request costs.
Recall@100 compares the IVF index with exact inner-product search on the same user vectors.
"""

from __future__ import annotations

import time

import faiss
import numpy as np
import torch

from shoplens.bench.harness import BenchResult, Stopwatch
from shoplens.data.vocab import Vocab
from shoplens.recommend import SASRec
from shoplens.recommend.retrieval import synthetic_catalogue
from shoplens.recommend.workspace_models import WorkspaceRecommender


def run(n_items: int = 1_000_000, n_users: int = 500, dim: int = 64, quick: bool = False, seed: int = 0) -> BenchResult:
    if quick:
        n_items, n_users = 200_000, 100
    torch.set_num_threads(1)  # one request on one core: what a server worker gets
    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(seed)
    with Stopwatch() as total:
        model = SASRec(dim=dim, seed=seed)
        model.n_items = n_items
        model.network_ = model._build_network(n_items, None, np.ones(n_items, dtype=bool)).eval()
        with torch.no_grad():
            model.network_.item_embedding.id_embedding.weight[1:] = torch.from_numpy(synthetic_catalogue(n_items, dim, seed=seed))
        recommender = WorkspaceRecommender(None, model, Vocab(), Vocab(f"sku{i}" for i in range(n_items)), "bench")
        histories = [[f"sku{i}" for i in rng.integers(0, n_items, rng.integers(3, 30))] for _ in range(n_users)]
        with Stopwatch() as build:
            faiss.omp_set_num_threads(2)
            recommender.recommend(history=histories[0], k=10)  # builds the IVF index once
            faiss.omp_set_num_threads(1)
        latencies = []
        for history in histories:
            started = time.perf_counter()
            recommender.recommend(history=history, k=10)
            latencies.append((time.perf_counter() - started) * 1000)
        queries = model.last_hidden([recommender.items.lookup(h) for h in histories[:200]]).numpy()
        recall = recommender._index.recall_at_k(queries, 100)
    p50, p99 = np.percentile(latencies, [50, 99])
    metrics = {"p50_ms": round(float(p50), 2), "p99_ms": round(float(p99), 2), "recall@100_vs_exact": round(recall, 4),
               "index_build_s": round(build.seconds, 1), "index": recommender._index.kind, "n_items": n_items}
    return BenchResult(suite="rec-retrieval", dataset=f"synthetic clustered catalogue, {n_items:,} items, d={dim}",
                       protocol=f"recommend(history, k=10) one user at a time, {n_users} users, 1 thread; "
                                "recall@100 of IVF vs exact on the same user vectors; target p99 <= 20 ms",
                       metrics=metrics, seconds=total.seconds, rows=[{"items": f"{n_items:,}", **metrics}])
