"""Dense retrieval: unit item vectors from a `shoplens.text` encoder, inner-product search with faiss.

    index = DenseIndex().fit(item_vectors)              # row r of item_vectors is row r of the catalogue
    rows, scores = index.search(query_vector, k=10, mask=None)
    index.add(new_rows, new_vectors); index.remove(rows)  # incremental; removed rows are never returned

Below `ivf_above` rows the faiss index is exact (flat); above it, an IVF index (trained once on the vectors
it is built from, `n_probe` lists searched) keeps a query over 100k+ items within a few milliseconds. A filter
that keeps few rows is answered exactly over those rows; a broad one over-fetches from faiss and filters.
"""

from __future__ import annotations

import json
from pathlib import Path

import faiss
import numpy as np

# A filter keeping at most this many rows is scored exactly (a dot product over the kept rows is cheap).
EXACT_FILTER_ROWS = 20_000


class DenseIndex:
    def __init__(self, ivf_above: int = 50_000, n_lists: int | None = None, n_probe: int = 16):
        self.ivf_above = ivf_above
        self.n_lists = n_lists  # None: about 4 * sqrt(rows)
        self.n_probe = n_probe
        self.vectors = np.zeros((0, 0), dtype=np.float32)  # every row ever added; removed rows stay zero
        self.live = np.zeros(0, dtype=bool)
        self._faiss = None

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def fit(self, vectors: np.ndarray) -> "DenseIndex":
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.live = np.ones(len(self.vectors), dtype=bool)
        self._faiss = self._new_faiss_index(self.vectors)
        self._faiss.add_with_ids(self.vectors, np.arange(len(self.vectors), dtype=np.int64))
        return self

    def _new_faiss_index(self, vectors: np.ndarray):
        n, dim = vectors.shape
        if n <= self.ivf_above:
            return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        n_lists = self.n_lists or int(4 * np.sqrt(n))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, n_lists, faiss.METRIC_INNER_PRODUCT)
        index.train(vectors)
        index.nprobe = self.n_probe
        return index

    def add(self, rows: np.ndarray, vectors: np.ndarray) -> None:
        """Append rows (they must be the next row numbers, in order)."""
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) and rows[0] != len(self.vectors):
            raise ValueError(f"new rows must start at {len(self.vectors)}, got {rows[0]}")
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.vectors = np.concatenate([self.vectors.reshape(-1, vectors.shape[1]), vectors])
        self.live = np.concatenate([self.live, np.ones(len(rows), dtype=bool)])
        if self._faiss is None:
            self._faiss = self._new_faiss_index(self.vectors)
        self._faiss.add_with_ids(vectors, rows)

    def remove(self, rows: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.int64)
        self.live[rows] = False
        self._faiss.remove_ids(rows)

    def scores(self, query_vector: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Cosine of the query with the given rows (exact)."""
        return self.vectors[rows] @ np.asarray(query_vector, dtype=np.float32)

    def search(self, query_vector: np.ndarray, k: int = 10, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (rows, cosine), best first; `mask` (bool per row) keeps rows marked True."""
        query = np.asarray(query_vector, dtype=np.float32).reshape(1, -1)
        if not len(self.vectors) or not np.any(query):
            return np.array([], dtype=np.int64), np.array([], dtype=np.float32)
        if mask is not None:
            kept = np.flatnonzero(mask & self.live)
            if len(kept) <= EXACT_FILTER_ROWS:
                scores = self.vectors[kept] @ query[0]
                order = np.argsort(-scores, kind="stable")[:k]
                return kept[order], scores[order]
        fetch = k if mask is None else 4 * k  # a broad filter drops about a few rows in four
        scores, rows = self._faiss.search(query, min(fetch, int(self.live.sum())) or 1)
        found = rows[0] >= 0
        rows, scores = rows[0][found], scores[0][found]
        if mask is not None:
            keep = mask[rows]
            rows, scores = rows[keep], scores[keep]
        return rows[:k], scores[:k]

    def save(self, path: Path) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        np.save(path / "vectors.npy", self.vectors, allow_pickle=False)
        np.save(path / "live.npy", self.live, allow_pickle=False)
        faiss.write_index(self._faiss, str(path / "faiss.index"))
        (path / "dense.json").write_text(json.dumps(
            {"ivf_above": self.ivf_above, "n_lists": self.n_lists, "n_probe": self.n_probe}))

    @classmethod
    def load(cls, path: Path) -> "DenseIndex":
        path = Path(path)
        index = cls(**json.loads((path / "dense.json").read_text()))
        index.vectors = np.load(path / "vectors.npy", allow_pickle=False)
        index.live = np.load(path / "live.npy", allow_pickle=False)
        index._faiss = faiss.read_index(str(path / "faiss.index"))
        if isinstance(index._faiss, faiss.IndexIVF):
            index._faiss.nprobe = index.n_probe
        return index
