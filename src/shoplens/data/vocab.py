"""Extensible id <-> index maps.

External ids are strings; models use dense indices 0..n-1. New ids are appended, never
renumbered, so a model trained on the first n ids still addresses them correctly after
the vocabulary grows (a new user or item gets index n, n+1, ...).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd


class Vocab:
    def __init__(self, ids: Iterable = ()):
        self._ids: list[str] = []
        self._index: dict[str, int] = {}
        self.add(ids)

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, external_id) -> bool:
        return str(external_id) in self._index

    def __eq__(self, other) -> bool:
        return isinstance(other, Vocab) and self._ids == other._ids

    def add(self, ids: Iterable) -> np.ndarray:
        """Append the ids not yet known (in first-seen order); return the index of every id given."""
        ids = _as_strings(ids)
        for external_id in pd.unique(np.asarray(ids, dtype=object)) if len(ids) else ():
            if external_id not in self._index:
                self._index[external_id] = len(self._ids)
                self._ids.append(external_id)
        return self.lookup(ids)

    def lookup(self, ids: Iterable, unknown: int = -1) -> np.ndarray:
        """Indices of `ids`; ids not in the vocabulary map to `unknown`."""
        get = self._index.get
        return np.fromiter((get(i, unknown) for i in _as_strings(ids)), dtype=np.int64)

    def index(self, external_id) -> int:
        try:
            return self._index[str(external_id)]
        except KeyError:
            raise KeyError(f"unknown id {external_id!r}") from None

    def ids(self, indices: Iterable[int] | None = None) -> list[str]:
        """External ids, all of them or those at `indices`."""
        if indices is None:
            return list(self._ids)
        return [self._ids[i] for i in indices]

    def to_dict(self) -> dict:
        return {"ids": self._ids}

    @classmethod
    def from_dict(cls, d: dict) -> "Vocab":
        return cls(d["ids"])

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False))

    @classmethod
    def load(cls, path: str | Path) -> "Vocab":
        return cls.from_dict(json.loads(Path(path).read_text()))


def _as_strings(ids: Iterable) -> list[str]:
    if isinstance(ids, (str, bytes)):
        raise TypeError("pass a sequence of ids, not a single string")
    return [str(i) for i in ids]
