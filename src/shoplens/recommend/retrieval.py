"""Top-k retrieval over item vectors with faiss (maximum inner product).

Exact (IndexFlatIP) when the catalogue is small; IVF (inverted lists, `nprobe` lists searched)
or HNSW (graph) when it is large. `recall_at_k` measures what the approximation loses
against exact search on the same queries.
"""

from __future__ import annotations

import time

import faiss
import numpy as np


class ItemIndex:
    def __init__(self, vectors: np.ndarray, exact_below: int = 100_000, kind: str = "ivf", nlist: int | None = None,
                 nprobe: int = 32, hnsw_m: int = 32, ef_search: int = 128, seed: int = 0):
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.n_items, dim = vectors.shape
        self.exact = faiss.IndexFlatIP(dim)
        self.exact.add(vectors)
        if self.n_items < exact_below:
            self.kind, self.index = "exact", self.exact
        elif kind == "hnsw":
            self.kind, self.index = "hnsw", faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
            self.index.hnsw.efSearch = ef_search
            self.index.add(vectors)
        elif kind == "ivf":
            nlist = nlist or int(4 * np.sqrt(self.n_items))  # the usual rule of thumb
            self.kind, self.quantizer = "ivf", faiss.IndexFlatIP(dim)
            self.index = faiss.IndexIVFFlat(self.quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
            sample = np.random.default_rng(seed).choice(self.n_items, min(self.n_items, 40 * nlist), replace=False)
            self.index.train(vectors[sample])
            self.index.add(vectors)
            self.index.nprobe = nprobe
        else:
            raise ValueError(f"kind must be 'ivf' or 'hnsw', got {kind!r}")

    def search(self, queries: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """([n, k] scores, [n, k] item indices), best first."""
        return self.index.search(np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32), k)

    def recall_at_k(self, queries: np.ndarray, k: int = 100) -> float:
        """Mean share of the exact top-k that the index returns."""
        _, approx = self.search(queries, k)
        _, exact = self.exact.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        return float(np.mean([len(set(a) & set(e)) / k for a, e in zip(approx.tolist(), exact.tolist())]))


def synthetic_catalogue(n_items: int, dim: int = 64, n_clusters: int = 1000, seed: int = 0) -> np.ndarray:
    """Clustered unit vectors: like real item embeddings, unlike uniform noise (on which no ANN index works)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_clusters, dim)).astype(np.float32)
    vectors = centres[rng.integers(0, n_clusters, n_items)] + 0.5 * rng.standard_normal((n_items, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def latency_benchmark(n_items: int = 1_000_000, dim: int = 64, n_queries: int = 500, k: int = 10,
                      kind: str = "ivf", seed: int = 0) -> dict:
    """Build an index over a synthetic catalogue; one query at a time (as `recommend()` does): p50/p99 ms,
    and recall@100 against exact search."""
    faiss.omp_set_num_threads(2)
    vectors = synthetic_catalogue(n_items, dim, seed=seed)
    started = time.perf_counter()
    index = ItemIndex(vectors, exact_below=0, kind=kind, seed=seed)
    build_seconds = time.perf_counter() - started
    faiss.omp_set_num_threads(1)  # one query at a time: threads only add scheduling jitter to the tail
    rng = np.random.default_rng(seed + 1)
    queries = vectors[rng.integers(0, n_items, n_queries)] + 0.1 * rng.standard_normal((n_queries, dim)).astype(np.float32)
    latencies = []
    for q in queries:
        t = time.perf_counter()
        index.search(q[None], k)
        latencies.append((time.perf_counter() - t) * 1000)
    return {"n_items": n_items, "dim": dim, "kind": index.kind, "build_seconds": round(build_seconds, 1),
            "p50_ms": float(np.percentile(latencies, 50)), "p99_ms": float(np.percentile(latencies, 99)),
            "recall@100": index.recall_at_k(queries[:100], 100)}
