"""The small interface every recommender here shares, and safetensors + JSON persistence.

Items and users are dense indices 0..n-1 (external ids live in a `Vocab`, see
workspace_models.py). A history is a time-ordered int64 array of item indices.
Each model implements only `fit`, `score` and the state it saves; recommending, excluding
seen items, filtering and explaining are written once here on top of `score`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
from safetensors.numpy import load_file, save_file
from sklearn.base import BaseEstimator

CONFIG_FILE = "config.json"
TENSORS_FILE = "tensors.safetensors"


@runtime_checkable
class Recommender(Protocol):
    n_items: int

    def fit(self, sequences: Sequence[np.ndarray], n_items: int | None = None, **kw) -> "Recommender": ...

    def score(self, histories: Sequence[np.ndarray], users: np.ndarray | None = None, times=None,
              actions=None) -> np.ndarray:
        """[len(histories), n_items] scores; higher = more likely next. `times` / `actions`: optional per-history
        event times and event-type codes, for the models that read them (HSTU)."""
        ...

    def save(self, path: str | Path) -> None: ...


class RecommenderBase(BaseEstimator):
    """Shared behaviour on top of `score`. Subclasses set `n_items` in fit and implement
    `score`, `_state() -> (tensors, extra_json)` and `_set_state(tensors, extra_json)`."""

    n_items: int = 0

    def recommend(
        self,
        history: np.ndarray,
        k: int = 10,
        exclude_seen: bool = True,
        filter: Callable[[np.ndarray], np.ndarray] | None = None,
        user: int | None = None,
        times: np.ndarray | None = None,
        actions: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (items, scores) for one history. `filter(items) -> bool mask` keeps the items it marks True."""
        history = np.asarray(history, dtype=np.int64)
        users = None if user is None else np.array([user])
        scores = self.score([history], users=users, times=None if times is None else [times],
                            actions=None if actions is None else [actions])[0].astype(np.float64)
        if exclude_seen and len(history):
            scores[history[history < self.n_items]] = -np.inf
        if filter is not None:
            scores[~np.asarray(filter(np.arange(self.n_items)), dtype=bool)] = -np.inf
        k = min(k, int(np.isfinite(scores).sum()))
        top = np.argpartition(-scores, k - 1)[:k] if k else np.array([], dtype=np.int64)
        top = top[np.argsort(-scores[top], kind="stable")]
        return top, scores[top]

    def similar_items(self, item: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Top-k items by cosine similarity of item vectors (the item itself excluded)."""
        vectors = self.item_vectors()
        unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        sims = unit @ unit[item]
        sims[item] = -np.inf
        top = np.argsort(-sims, kind="stable")[:k]
        return top, sims[top]

    def item_vectors(self) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} has no item vectors")

    def explain(self, history: np.ndarray, item: int) -> list[tuple[int, float]]:
        """Which past items drove `item`'s score: the score drop when each one is left out
        (leave-one-out attribution; works for any model). Sorted, largest influence first."""
        history = np.asarray(history, dtype=np.int64)
        variants = [history] + [np.delete(history, i) for i in range(len(history))]
        scores = self.score(variants)[:, item]
        drops = [(int(history[i]), float(scores[0] - scores[i + 1])) for i in range(len(history))]
        return sorted(drops, key=lambda pair: -pair[1])

    # -- persistence: safetensors for arrays, JSON for hyper-parameters and small state --
    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        tensors, extra = self._state()
        config = {"model": type(self).__name__, "params": self.get_params(), "n_items": self.n_items, "state": extra}
        (path / CONFIG_FILE).write_text(json.dumps(config, indent=2))
        save_file({name: np.ascontiguousarray(t) for name, t in tensors.items()}, str(path / TENSORS_FILE))

    @classmethod
    def load(cls, path: str | Path) -> "RecommenderBase":
        path = Path(path)
        config = json.loads((path / CONFIG_FILE).read_text())
        if config["model"] != cls.__name__:
            raise ValueError(f"{path} holds a {config['model']}, not a {cls.__name__}")
        model = cls(**config["params"])
        model.n_items = config["n_items"]
        model._set_state(load_file(str(path / TENSORS_FILE)), config["state"])
        return model

    def _state(self) -> tuple[dict[str, np.ndarray], dict]:
        raise NotImplementedError

    def _set_state(self, tensors: dict[str, np.ndarray], extra: dict) -> None:
        raise NotImplementedError


def load_recommender(path: str | Path) -> RecommenderBase:
    """Load any saved recommender, dispatching on the class name in its config."""
    from shoplens.recommend import MODEL_CLASSES, MODELS

    name = json.loads((Path(path) / CONFIG_FILE).read_text())["model"]
    by_class = {cls: model for model, (_, cls) in MODEL_CLASSES.items()}
    if name not in by_class:
        raise ValueError(f"unknown model class {name!r} in {path}")
    return MODELS[by_class[name]].load(path)


def torch_state(module: "torch.nn.Module") -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}


def load_torch_state(module: "torch.nn.Module", tensors: dict[str, np.ndarray]) -> None:
    import torch

    module.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in tensors.items()})
