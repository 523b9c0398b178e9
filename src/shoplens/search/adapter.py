"""A linear adapter trained on top of a frozen sentence encoder: query -> title relevance learnt in seconds on a CPU.

    adapter = EmbeddingAdapter(base="minilm").fit(queries, titles, grades)   # search judgments or click grades
    adapter.save(folder); adapter = EmbeddingAdapter.load(folder)           # safetensors + JSON, no pickle
    SearchIndex(encoder=str(folder)).fit(items)                              # or .use_encoder(adapter)

The base encoder (any `shoplens.text` encoder; `use_encoder` passes one in, e.g. a `CachedEncoder` so nothing
is embedded twice) is never changed: the adapter maps its vectors, v -> normalise(v + v A), with A (dim x dim)
starting at zero and learnt on the judged pairs with the losses of `shoplens.search.finetune` (pairwise ranking
within each query plus in-batch negatives, or cosine regression onto the grade). side="query" maps only the
queries, so title vectors stay the base encoder's and an existing index needs no re-embedding; side="both" maps
titles too. Training touches only vectors: 4-20 s an epoch for 15k pairs on a busy 2-core box, where tuning the whole
encoder (`SearchTunedMiniLM`) costs tens of minutes per epoch on two CPU cores.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator

from shoplens.search.finetune import LOSSES, batch_loss
from shoplens.text.encoders import Encoder, as_text, check_encode_args, get_encoder, l2_normalise, prepare_text

ADAPTER_FILE = "embedding_adapter.json"
WEIGHTS_FILE = "adapter.safetensors"
SIDES = ("query", "both")


class EmbeddingAdapter(BaseEstimator):
    """After `fit` (or `load`) an `Encoder`: the base encoder's vectors through a learnt linear map.

    base: the `shoplens.text` encoder name. side: "query" or "both" (see the module doc). loss: "ranking" or
    "cosine". epochs, lr, weight_decay (AdamW; decay pulls the map back towards the identity), batch_queries:
    queries per step, with all their judged titles. scale: inverse temperature of the ranking loss.
    in_batch_negatives: whether the ranking loss also compares a query's titles with other queries' titles."""

    def __init__(self, base: str = "minilm", side: str = "query", loss: str = "ranking", epochs: int = 10,
                 lr: float = 1e-3, weight_decay: float = 0.0, batch_queries: int = 32, scale: float = 20.0,
                 in_batch_negatives: bool = True, random_state: int = 0):
        self.base, self.side, self.loss, self.epochs, self.lr = base, side, loss, epochs, lr
        self.in_batch_negatives = in_batch_negatives
        self.weight_decay, self.batch_queries, self.scale, self.random_state = weight_decay, batch_queries, scale, random_state

    _base_encoder: Encoder | None = None

    def use_encoder(self, encoder: Encoder) -> EmbeddingAdapter:
        """Read base vectors through this encoder (e.g. a `CachedEncoder` over the base model)."""
        self._base_encoder = encoder
        return self

    def _base(self) -> Encoder:
        if self._base_encoder is None:
            self._base_encoder = get_encoder(self.base)
        saved = getattr(self, "base_name_", None)
        if saved and self._base_encoder.name != saved:
            raise ValueError(f"this adapter was trained on {saved} vectors, not {self._base_encoder.name}")
        return self._base_encoder

    # ------------------------------------------------------------------ Encoder
    @property
    def name(self) -> str:
        self._fitted()
        return f"{self.base_name_}+adapter-{self.fingerprint_}"

    @property
    def dim(self) -> int:
        return int(self._fitted().shape[0])

    def _fitted(self) -> np.ndarray:
        if not hasattr(self, "map_"):
            raise RuntimeError("EmbeddingAdapter is not fitted; call fit(...) or EmbeddingAdapter.load(folder)")
        return self.map_

    def encode(self, texts, kind="passage", batch_size: int = 64, progress: bool = False) -> np.ndarray:
        check_encode_args(texts, kind)
        self._fitted()
        vectors = self._base().encode(texts, kind=kind, batch_size=batch_size, progress=progress)
        if kind == "query" or self.side == "both":
            vectors = vectors + vectors @ self.map_  # blank texts: zero rows stay zero
        return l2_normalise(vectors)

    # ------------------------------------------------------------------ training
    def fit(self, queries, titles, grades) -> EmbeddingAdapter:
        """queries, titles, grades: one judged pair per position (higher grade = more relevant)."""
        if self.loss not in LOSSES or self.side not in SIDES:
            raise ValueError(f"loss must be one of {LOSSES} and side one of {SIDES}; got {self.loss!r}, {self.side!r}")
        # Texts go to the base encoder as given (it prepares them itself, and a cache finds them by their text).
        pairs = pd.DataFrame({"query": [as_text(q) for q in queries], "title": [as_text(t) for t in titles],
                              "grade": np.asarray(grades, dtype=np.float64)})
        has_text = {column: pairs[column].map(lambda text: prepare_text(text, 64) != "") for column in ("query", "title")}
        pairs = pairs[has_text["query"] & has_text["title"] & pairs["grade"].notna()]
        if pairs.empty:
            raise ValueError("no judged pair with a non-blank query and title")
        low, high = pairs["grade"].min(), pairs["grade"].max()
        targets = ((pairs["grade"] - low) / (high - low) if high > low else pairs["grade"] * 0 + 1).to_numpy()
        base = self._base()
        query_ids, unique_queries = pd.factorize(pairs["query"])
        title_ids, unique_titles = pd.factorize(pairs["title"])
        query_vectors = torch.as_tensor(base.encode(list(unique_queries), kind="query"))
        title_vectors = torch.as_tensor(base.encode(list(unique_titles), kind="passage"))
        groups = pd.Series(np.arange(len(pairs))).groupby(query_ids).agg(list).tolist()

        torch.manual_seed(self.random_state)
        rng = np.random.default_rng(self.random_state)
        weights = torch.zeros(base.dim, base.dim, requires_grad=True)
        optimiser = torch.optim.AdamW([weights], lr=self.lr, weight_decay=self.weight_decay)
        self.losses_ = []
        for _ in range(self.epochs):
            order = rng.permutation(len(groups))
            for start in range(0, len(order), self.batch_queries):
                batch = [np.asarray(groups[i]) for i in order[start : start + self.batch_queries]]
                rows = np.concatenate(batch)
                queries_in = self._map(query_vectors[query_ids[[b[0] for b in batch]]], weights)
                titles_in = title_vectors[title_ids[rows]]
                if self.side == "both":
                    titles_in = self._map(titles_in, weights)
                loss = batch_loss(self.loss, queries_in, titles_in, [targets[b] for b in batch], self.scale,
                                  self.in_batch_negatives)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                self.losses_.append(float(loss.detach()))
        self.map_ = weights.detach().numpy().astype(np.float32)
        self.base_name_, self.n_pairs_, self.n_queries_ = base.name, len(pairs), len(groups)
        self.fingerprint_ = hashlib.sha1(self.map_.tobytes() + json.dumps(self.get_params()).encode()).hexdigest()[:12]
        return self

    @staticmethod
    def _map(vectors: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.normalize(vectors + vectors @ weights, dim=-1)

    # ------------------------------------------------------------------ persistence
    def save(self, folder: str | Path) -> Path:
        from safetensors.numpy import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_file({"map": self._fitted()}, str(folder / WEIGHTS_FILE))
        fitted = {"base_name": self.base_name_, "fingerprint": self.fingerprint_, "n_pairs": self.n_pairs_,
                  "n_queries": self.n_queries_}
        (folder / ADAPTER_FILE).write_text(json.dumps({"params": self.get_params(), "fitted": fitted}, indent=2))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> EmbeddingAdapter:
        from safetensors.numpy import load_file

        folder = Path(folder)
        if not cls.is_saved(folder):
            raise FileNotFoundError(f"no embedding adapter in {folder} ({ADAPTER_FILE} missing)")
        config = json.loads((folder / ADAPTER_FILE).read_text())
        adapter = cls(**config["params"])
        adapter.map_ = load_file(str(folder / WEIGHTS_FILE))["map"]
        fitted = config["fitted"]
        adapter.base_name_, adapter.fingerprint_ = fitted["base_name"], fitted["fingerprint"]
        adapter.n_pairs_, adapter.n_queries_ = fitted["n_pairs"], fitted["n_queries"]
        return adapter

    @staticmethod
    def is_saved(folder: str | Path) -> bool:
        return (Path(folder) / ADAPTER_FILE).is_file()
