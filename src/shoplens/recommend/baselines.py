"""Baselines every sequence model must beat: popularity, item-kNN, ALS and BPR (via `implicit`).

All take the same input as the sequence models (per-user item-index sequences) and score
from a history, so one evaluation path serves all of them.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from shoplens.recommend.base import RecommenderBase


def user_item_matrix(sequences, n_items: int) -> sp.csr_matrix:
    """Binary [n_users, n_items] CSR matrix (repeats count once)."""
    rows = np.repeat(np.arange(len(sequences)), [len(s) for s in sequences])
    cols = np.concatenate([np.asarray(s, dtype=np.int64) for s in sequences]) if len(sequences) else np.array([], np.int64)
    matrix = sp.csr_matrix((np.ones(len(cols), np.float32), (rows, cols)), shape=(len(sequences), n_items))
    matrix.data[:] = 1.0  # duplicates were summed
    return matrix


def _n_items(sequences, n_items):
    return int(n_items or 1 + max(int(np.max(s)) for s in sequences if len(s)))


class Popularity(RecommenderBase):
    """Everyone gets the most interacted items."""

    def fit(self, sequences, n_items=None, **kw):
        self.n_items = _n_items(sequences, n_items)
        self.counts_ = np.bincount(np.concatenate(sequences), minlength=self.n_items).astype(np.float32)
        return self

    def score(self, histories, users=None, times=None, actions=None):
        return np.broadcast_to(self.counts_, (len(histories), self.n_items)).copy()

    def similar_items(self, item, k=10):
        top = [i for i in np.argsort(-self.counts_, kind="stable")[: k + 1] if i != item][:k]
        return np.array(top), self.counts_[top]

    def _state(self):
        return {"counts": self.counts_}, {}

    def _set_state(self, tensors, extra):
        self.counts_ = tensors["counts"]


class ItemKNN(RecommenderBase):
    """score(item | history) = sum over history items h of cosine(h, item), where
    cosine(i, j) = co-occurrence(i, j) / sqrt(count(i) * count(j)), keeping each item's top neighbours."""

    def __init__(self, n_neighbors: int = 100, shrinkage: float = 0.0):
        self.n_neighbors, self.shrinkage = n_neighbors, shrinkage

    def fit(self, sequences, n_items=None, **kw):
        self.n_items = _n_items(sequences, n_items)
        users_items = user_item_matrix(sequences, self.n_items)
        cooccurrence = (users_items.T @ users_items).tocsr().astype(np.float32)
        counts = np.asarray(users_items.sum(0)).ravel()
        cooccurrence.setdiag(0)
        cooccurrence.eliminate_zeros()
        rows, cols = cooccurrence.nonzero()
        cosine = cooccurrence.data / (np.sqrt(counts[rows] * counts[cols]) + self.shrinkage)
        similarity = sp.csr_matrix((cosine, (rows, cols)), shape=cooccurrence.shape)
        self.similarity_ = _keep_top_per_row(similarity, self.n_neighbors)
        return self

    def score(self, histories, users=None, times=None, actions=None):
        return np.asarray((user_item_matrix(histories, self.n_items) @ self.similarity_).todense(), dtype=np.float32)

    def similar_items(self, item, k=10):
        """The item's nearest neighbours by co-occurrence cosine."""
        row = self.similarity_.getrow(item)
        top = np.argsort(-row.data, kind="stable")[:k]
        return row.indices[top].astype(np.int64), row.data[top]

    def _state(self):
        s = self.similarity_
        return {"data": s.data, "indices": s.indices.astype(np.int64), "indptr": s.indptr.astype(np.int64)}, {}

    def _set_state(self, tensors, extra):
        self.similarity_ = sp.csr_matrix((tensors["data"], tensors["indices"], tensors["indptr"]),
                                         shape=(self.n_items, self.n_items))


def _keep_top_per_row(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    rows, cols, vals = [], [], []
    for r in range(matrix.shape[0]):
        start, end = matrix.indptr[r], matrix.indptr[r + 1]
        if end == start:
            continue
        keep = np.argsort(-matrix.data[start:end], kind="stable")[:k] + start
        rows.append(np.full(len(keep), r))
        cols.append(matrix.indices[keep])
        vals.append(matrix.data[keep])
    if not rows:
        return sp.csr_matrix(matrix.shape, dtype=np.float32)
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=matrix.shape)


class _MatrixFactorization(RecommenderBase):
    """Shared by ALS and BPR: item factors Y; a user is scored as u · Y."""

    def item_vectors(self):
        return self.item_factors_

    def _state(self):
        return {"item_factors": self.item_factors_, "user_factors": self.user_factors_}, {}

    def _set_state(self, tensors, extra):
        self.item_factors_, self.user_factors_ = tensors["item_factors"], tensors["user_factors"]

    def _fit_implicit(self, make_model, sequences, n_items):
        from threadpoolctl import threadpool_limits

        self.n_items = _n_items(sequences, n_items)
        with threadpool_limits(1, "blas"):  # implicit parallelises itself; nested BLAS threads slow it down
            model = make_model()
            model.fit(user_item_matrix(sequences, self.n_items), show_progress=False)
        self.item_factors_ = np.asarray(model.item_factors, dtype=np.float32)
        self.user_factors_ = np.asarray(model.user_factors, dtype=np.float32)
        return self


class ALS(_MatrixFactorization):
    """Implicit-feedback ALS (Hu, Koren & Volinsky 2008) via `implicit`. Any history is scored by
    the exact ALS user step (fold-in), so new users and the validation item are used without retraining:
        u = (YᵀY + λI + Σ_h (α - 1) y_h y_hᵀ)⁻¹ Σ_h α y_h"""

    def __init__(self, factors=64, regularization=0.01, alpha=1.0, iterations=15, seed=0):
        self.factors, self.regularization, self.alpha, self.iterations, self.seed = factors, regularization, alpha, iterations, seed

    def fit(self, sequences, n_items=None, **kw):
        from implicit.cpu.als import AlternatingLeastSquares

        return self._fit_implicit(lambda: AlternatingLeastSquares(
            factors=self.factors, regularization=self.regularization, alpha=self.alpha, iterations=self.iterations,
            random_state=self.seed, num_threads=2), sequences, n_items)

    def score(self, histories, users=None, times=None, actions=None):
        Y = self.item_factors_.astype(np.float64)
        gram = Y.T @ Y + self.regularization * np.eye(Y.shape[1])
        user_vectors = np.zeros((len(histories), Y.shape[1]))
        for row, history in enumerate(histories):
            h = Y[np.unique(history)]
            if len(h):
                user_vectors[row] = np.linalg.solve(gram + (self.alpha - 1) * h.T @ h, self.alpha * h.sum(0))
        return (user_vectors @ Y.T).astype(np.float32)


class BPR(_MatrixFactorization):
    """Bayesian Personalised Ranking (Rendle et al. 2009) via `implicit`. Known users use their learned
    factors; a new history is folded in by ridge regression of its items' scores onto 1."""

    def __init__(self, factors=64, learning_rate=0.05, regularization=0.01, iterations=100, seed=0):
        self.factors, self.learning_rate, self.regularization = factors, learning_rate, regularization
        self.iterations, self.seed = iterations, seed

    def fit(self, sequences, n_items=None, **kw):
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        return self._fit_implicit(lambda: BayesianPersonalizedRanking(
            factors=self.factors, learning_rate=self.learning_rate, regularization=self.regularization,
            iterations=self.iterations, random_state=self.seed, num_threads=2), sequences, n_items)

    def score(self, histories, users=None, times=None, actions=None):
        Y = self.item_factors_.astype(np.float64)  # implicit appends an item-bias column (user side = 1)
        if users is not None:
            return (self.user_factors_[np.asarray(users)] @ self.item_factors_.T).astype(np.float32)
        user_vectors = np.zeros((len(histories), Y.shape[1]))
        for row, history in enumerate(histories):
            h = Y[np.unique(history)]
            if len(h):
                user_vectors[row] = np.linalg.solve(h.T @ h + np.eye(Y.shape[1]), h.sum(0))
        return (user_vectors @ Y.T).astype(np.float32)
