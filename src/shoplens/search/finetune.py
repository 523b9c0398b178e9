"""Fine-tuning the English MiniLM (all-MiniLM-L6-v2) on judged (query, title, graded relevance) pairs.

    encoder = SearchTunedMiniLM(epochs=1).fit(queries, titles, grades)   # search judgments or click grades
    encoder.save(folder); encoder = SearchTunedMiniLM.load(folder)       # safetensors + JSON, no pickle
    SearchIndex(encoder="minilm").use_encoder(encoder).fit(items)        # or SearchIndex(encoder=str(folder))

A bi-encoder: queries and titles go through the same network, so the fine-tuned model is a drop-in text
encoder (`shoplens.text.Encoder`) for the dense half of a `SearchIndex`, full retrieval included. Training
batches hold `batch_queries` queries with all their judged titles. Losses (`loss`):
- "ranking": for each query, every pair of titles in the batch whose grades differ should be ordered by
  cosine (a pairwise logistic loss, as CoSENT, at temperature 1/`scale`); titles judged for OTHER queries in
  the batch count as the lowest grade (in-batch negatives), which keeps the space useful for retrieval over
  the whole catalogue, not only for re-ranking judged candidates.
- "cosine": cosine regressed onto the grade scaled to [0, 1] (sentence-transformers' CosineSimilarityLoss).
side="query" trains the network on the query side only: titles keep the base MiniLM's vectors (looked up through
`use_encoder`, e.g. a cached encoder), so a step costs a few short queries and an existing index of MiniLM title
vectors is searched as it is, with no re-embedding of the catalogue (on 2 CPU cores: minutes, not hours).
Grades are any numbers where higher is better (Home Depot's 1-3, ESCI's E/S/C/I mapped to 3/2/1/0, clicks 0/1).
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator
from tqdm.auto import tqdm

from shoplens.text.encoders import (
    BatchedEncoder,
    Encoder,
    check_encode_args,
    get_encoder,
    load_minilm,
    prepare_text,
)
from shoplens.text.schedule import linear_warmup_decay

CONFIG_FILE = "search_tuned_minilm.json"
LOSSES = ("ranking", "cosine")
SIDES = ("both", "query")


def _fingerprint(model) -> str:
    """A short hash of the weights: names the vectors (e.g. in the embedding cache) of exactly this model."""
    digest = hashlib.sha1()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:12]


def judged_pairs(queries, titles, grades, max_chars: int) -> pd.DataFrame:
    """query, title, grade per judged pair; pairs with a blank query or title, or no grade, are dropped."""
    pairs = pd.DataFrame({"query": [prepare_text(q, max_chars) for q in queries],
                          "title": [prepare_text(t, max_chars) for t in titles],
                          "grade": np.asarray(grades, dtype=np.float64)})
    return pairs[(pairs["query"] != "") & (pairs["title"] != "") & pairs["grade"].notna()].reset_index(drop=True)


class SearchTunedMiniLM(BatchedEncoder, BaseEstimator):
    """all-MiniLM-L6-v2 fine-tuned for query -> title relevance; after `fit` (or `load`) it is an `Encoder`.

    epochs, lr (AdamW, linear warm-up over the first 10% of steps then linear decay), batch_queries: queries per
    step (with all their judged titles, at most `max_titles` each, a seeded sample beyond that). loss: see the
    module doc. scale: inverse temperature of the ranking loss. max_chars: texts are cut before tokenising."""

    def __init__(self, loss: str = "ranking", side: str = "both", epochs: int = 1, lr: float = 5e-5,
                 batch_queries: int = 8, max_titles: int = 16, scale: float = 20.0, max_chars: int = 256,
                 device: str = "cpu", random_state: int = 0, progress: bool = False):
        self.loss, self.side, self.epochs, self.lr, self.batch_queries = loss, side, epochs, lr, batch_queries
        self.max_titles, self.scale, self.max_chars, self.device = max_titles, scale, max_chars, device
        self.random_state, self.progress = random_state, progress

    # ------------------------------------------------------------------ Encoder
    @property
    def dim(self) -> int:
        return int(self._fitted().get_embedding_dimension())

    @property
    def name(self) -> str:
        return f"all-MiniLM-L6-v2-search-tuned-{self.fingerprint_}/max{self.max_chars}"

    def _fitted(self):
        if not hasattr(self, "model_"):
            raise RuntimeError("SearchTunedMiniLM is not fitted; call fit(...) or SearchTunedMiniLM.load(folder)")
        return self.model_

    def _embed(self, texts: list[str], kind) -> np.ndarray:
        return self._fitted().encode(texts, batch_size=len(texts), convert_to_numpy=True, show_progress_bar=False)

    _title_encoder: Encoder | None = None

    def use_encoder(self, encoder: Encoder) -> SearchTunedMiniLM:
        """side="query": embed titles with this encoder of the base MiniLM (e.g. a `CachedEncoder`)."""
        self._title_encoder = encoder
        return self

    def _titles(self) -> Encoder:
        if self._title_encoder is None:
            self._title_encoder = get_encoder("minilm")
        return self._title_encoder

    def encode(self, texts, kind="passage", batch_size: int = 64, progress: bool = False) -> np.ndarray:
        if self.side == "query" and kind == "passage":  # titles keep the base model's vectors
            check_encode_args(texts, kind)
            self._fitted()
            return self._titles().encode(texts, kind=kind, batch_size=batch_size, progress=progress)
        return super().encode(texts, kind=kind, batch_size=batch_size, progress=progress)

    # ------------------------------------------------------------------ training
    def fit(self, queries, titles, grades) -> SearchTunedMiniLM:
        """queries, titles, grades: one judged pair per position (higher grade = more relevant)."""
        if self.loss not in LOSSES or self.side not in SIDES:
            raise ValueError(f"loss must be one of {LOSSES} and side one of {SIDES}; got {self.loss!r}, {self.side!r}")
        pairs = judged_pairs(queries, titles, grades, self.max_chars)
        if pairs.empty:
            raise ValueError("no judged pair with a non-blank query and title")
        low, high = pairs["grade"].min(), pairs["grade"].max()
        pairs["target"] = (pairs["grade"] - low) / (high - low) if high > low else 1.0
        groups = [(query, group) for query, group in pairs.groupby("query", sort=False)]
        rng = np.random.default_rng(self.random_state)
        torch.manual_seed(self.random_state)
        self.model_ = load_minilm(None, self.device)
        self.frozen_titles_ = {}
        if self.side == "query":  # only queries go through the network being trained; titles are looked up
            if self._titles().dim != self.model_.get_embedding_dimension():
                raise ValueError(f"side='query' needs the base MiniLM's title vectors, not {self._titles().name}'s")
            unique = list(pairs["title"].unique())
            self.frozen_titles_ = dict(zip(unique, torch.as_tensor(self._titles().encode(unique, kind="passage"))))
        for name, parameter in self.model_.named_parameters():  # the 30k-word embedding table stays as it is:
            parameter.requires_grad_("word_embeddings" not in name)  # half the weights, few of them seen in a batch
        optimiser = torch.optim.AdamW([p for p in self.model_.parameters() if p.requires_grad], lr=self.lr)
        steps = self.epochs * -(-len(groups) // self.batch_queries)
        schedule = linear_warmup_decay(optimiser, steps, 0.1)
        self.model_.train()
        self.losses_ = []
        with tqdm(total=steps, disable=not self.progress, desc="fine-tuning MiniLM", unit="step") as bar:
            for _ in range(self.epochs):
                order = rng.permutation(len(groups))
                for start in range(0, len(order), self.batch_queries):
                    batch = [groups[i] for i in order[start : start + self.batch_queries]]
                    batch = [(q, g.sample(self.max_titles, random_state=int(rng.integers(1 << 31)))
                              if len(g) > self.max_titles else g) for q, g in batch]
                    loss = self._batch_loss(batch)
                    optimiser.zero_grad()
                    loss.backward()
                    optimiser.step()
                    schedule.step()
                    self.losses_.append(float(loss.detach()))
                    bar.update(1)
                    bar.set_postfix(loss=f"{np.mean(self.losses_[-50:]):.3f}")
        self.model_.eval()
        del self.frozen_titles_
        self.n_pairs_, self.n_queries_, self.grade_range_ = len(pairs), len(groups), (float(low), float(high))
        self.fingerprint_ = _fingerprint(self.model_)
        return self

    def _vectors(self, texts: list[str]) -> torch.Tensor:
        features = self.model_.preprocess(texts)
        features = {k: v.to(self.device) if torch.is_tensor(v) else v for k, v in features.items()}
        return torch.nn.functional.normalize(self.model_(features)["sentence_embedding"], dim=-1)

    def _batch_loss(self, batch: list[tuple[str, pd.DataFrame]]) -> torch.Tensor:
        query_vectors = self._vectors([query for query, _ in batch])
        titles = [t for _, group in batch for t in group["title"]]
        title_vectors = (torch.stack([self.frozen_titles_[t] for t in titles]) if self.side == "query"
                         else self._vectors(titles))
        return batch_loss(self.loss, query_vectors, title_vectors, [group["target"].to_numpy() for _, group in batch],
                          self.scale)

    # ------------------------------------------------------------------ persistence
    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self._fitted().save(str(folder / "encoder"))  # sentence-transformers writes safetensors weights
        fitted = {"fingerprint": self.fingerprint_, "n_pairs": self.n_pairs_, "n_queries": self.n_queries_,
                  "grade_range": self.grade_range_}
        (folder / CONFIG_FILE).write_text(json.dumps({"params": self.get_params(), "fitted": fitted}, indent=2))
        return folder

    @classmethod
    def load(cls, folder: str | Path, device: str | None = None) -> SearchTunedMiniLM:
        folder = Path(folder)
        if not (folder / CONFIG_FILE).exists():
            raise FileNotFoundError(f"no fine-tuned search encoder in {folder} ({CONFIG_FILE} missing)")
        config = json.loads((folder / CONFIG_FILE).read_text())
        model = cls(**{**config["params"], **({"device": device} if device else {})})
        model.model_ = load_minilm(str(folder / "encoder"), model.device).eval()
        fitted = config["fitted"]
        model.fingerprint_, model.n_pairs_, model.n_queries_ = fitted["fingerprint"], fitted["n_pairs"], fitted["n_queries"]
        model.grade_range_ = tuple(fitted["grade_range"])
        return model

    @staticmethod
    def is_saved(folder: str | Path) -> bool:
        return (Path(folder) / CONFIG_FILE).is_file()

    def __repr__(self) -> str:
        return BaseEstimator.__repr__(self)


def batch_loss(loss: str, query_vectors: torch.Tensor, title_vectors: torch.Tensor, targets: list[np.ndarray],
               scale: float = 20.0, in_batch_negatives: bool = True) -> torch.Tensor:
    """The loss of one batch: unit query vectors [q, d]; unit title vectors [t, d], the titles of query 0 first,
    then those of query 1, ...; targets: per query, its titles' grades scaled to [0, 1]. See the module doc."""
    owner = np.repeat(np.arange(len(targets)), [len(t) for t in targets])
    targets = torch.as_tensor(np.concatenate(targets), dtype=torch.float32, device=title_vectors.device)
    cosine = query_vectors @ title_vectors.T  # [queries, titles]
    own = torch.as_tensor(owner[None, :] == np.arange(len(query_vectors))[:, None], device=cosine.device)
    if loss == "cosine":
        return torch.nn.functional.mse_loss(cosine[own], targets)
    # Grade of every (query, title) cell: the judged grade for the query's own titles, the lowest grade (0)
    # for the others: they must rank below the query's relevant titles, not below its judged-irrelevant ones.
    labels = torch.where(own, targets[None, :], torch.zeros_like(cosine))
    scores = scale * cosine
    # diff[q, i, j] = s[q, j] - s[q, i], kept where title i should rank above title j for query q.
    diff = scores[:, None, :] - scores[:, :, None]
    should = (labels[:, :, None] > labels[:, None, :]) & own[:, :, None]  # i: one of the query's own titles
    if not in_batch_negatives:  # j too: only the query's own titles are compared
        should &= own[:, None, :]
    diff = torch.where(should, diff, torch.full_like(diff, -1e4)).flatten(1)
    zero = torch.zeros(len(query_vectors), 1, device=diff.device)
    return torch.logsumexp(torch.cat([zero, diff], dim=1), dim=1).mean()


@functools.cache
def _load_tuned(folder: str, modified: float):
    from shoplens.search.adapter import EmbeddingAdapter

    return (EmbeddingAdapter if EmbeddingAdapter.is_saved(folder) else SearchTunedMiniLM).load(folder)


def load_tuned(folder: str | Path):
    """The fine-tuned encoder (`SearchTunedMiniLM`) or embedding adapter (`EmbeddingAdapter`) saved in `folder`,
    loaded once per process (again if the folder was saved anew)."""
    from shoplens.search.adapter import ADAPTER_FILE

    folder = Path(folder).resolve()
    config = folder / (ADAPTER_FILE if (folder / ADAPTER_FILE).is_file() else CONFIG_FILE)
    return _load_tuned(str(folder), config.stat().st_mtime if config.is_file() else 0.0)
