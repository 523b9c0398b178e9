"""Keyword retrieval with bm25s over shoplens tokens (jieba for Chinese, word tokens for English).

    index = KeywordIndex().fit(texts)                   # one text per row
    rows, scores = index.search("cordless drill", k=10)
    index.scores("cordless drill")                       # every row's BM25 score (for re-ranking)

English tokens are reduced by a stemmer: "s" (default), Harman's S-stemmer (plural endings only: "drills" ->
"drill", "batteries" -> "battery"), the light stemmer that loses the least precision on product titles, where
"-ing"/"-ed" words are often names ("ceiling", "coated"); or "snowball", the Snowball English stemmer from
PyStemmer ("lighting" -> "light", "galvanized" -> "galvan"), which matches more word forms. The relevance bench
reports both.

Typo tolerance: a second bm25s index over character 3-grams of each row's short text (title). It is only
consulted for queries with a word the word index has never seen ("cordles drill"), so typo-free queries pay
nothing for it.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

from shoplens.text import STOPWORDS, char_ngrams, tokenize

_LATIN_WORD = re.compile(r"^[a-z]+$")
STEMMERS = ("s", "snowball")


def s_stem(token: str) -> str:
    """Harman's S-stemmer for lowercase Latin words; anything else is returned unchanged."""
    if len(token) < 4 or not _LATIN_WORD.match(token):
        return token
    if token.endswith("ies") and not token.endswith(("eies", "aies")):
        return token[:-3] + "y"
    if token.endswith("es") and not token.endswith(("aes", "ees", "oes")):
        return token[:-1]
    if token.endswith("s") and not token.endswith(("us", "ss")):
        return token[:-1]
    return token


@lru_cache(maxsize=200_000)
def snowball_stem(token: str) -> str:
    """Snowball (Porter 2) English stem of a lowercase Latin word; anything else is returned unchanged."""
    return _snowball().stemWord(token) if _LATIN_WORD.match(token) else token


@lru_cache(maxsize=1)
def _snowball():
    return Stemmer.Stemmer("english")


def keyword_tokens(text: str | None, stemmer: str = "s") -> list[str]:
    """What the word index stores and matches: shoplens tokens, stopwords dropped, stemmed (see STEMMERS)."""
    if stemmer not in STEMMERS:
        raise ValueError(f"stemmer must be one of {STEMMERS}, got {stemmer!r}")
    stem = s_stem if stemmer == "s" else snowball_stem
    return [stem(token) for token in tokenize(text, stopwords=STOPWORDS)]


def ngram_tokens(text: str | None) -> list[str]:
    return char_ngrams(text, n_min=3, n_max=3)


class _Bm25Field:
    """One bm25s index over a list of token lists (rows without tokens get no postings)."""

    def __init__(self, k1: float, b: float):
        self.k1, self.b = k1, b
        self.model: bm25s.BM25 | None = None
        self.n_rows = 0

    def fit(self, token_lists: list[list[str]]) -> "_Bm25Field":
        self.n_rows = len(token_lists)
        self.model = bm25s.BM25(k1=self.k1, b=self.b)
        if self.n_rows:
            self.model.index(token_lists, show_progress=False)
        return self

    def knows(self, token: str) -> bool:
        return self.model is not None and self.n_rows > 0 and token in self.model.vocab_dict

    def scores(self, tokens: list[str]) -> np.ndarray:
        known = [token for token in tokens if self.knows(token)]
        if not known:  # bm25s refuses a query with no known token
            return np.zeros(self.n_rows, dtype=np.float32)
        return np.asarray(self.model.get_scores(known), dtype=np.float32)

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        (path / "rows.json").write_text(json.dumps({"n_rows": self.n_rows, "k1": self.k1, "b": self.b}))
        if self.n_rows:
            self.model.save(str(path), allow_pickle=False, show_progress=False)

    @classmethod
    def load(cls, path: Path) -> "_Bm25Field":
        meta = json.loads((path / "rows.json").read_text())
        field = cls(meta["k1"], meta["b"])
        field.n_rows = meta["n_rows"]
        field.model = bm25s.BM25.load(str(path), allow_pickle=False, show_progress=False) if field.n_rows else None
        return field


class KeywordIndex:
    """BM25 over full item texts plus a character-3-gram BM25 over short texts for typo tolerance.

    k1, b: BM25 parameters of the word index. typo_tolerance: consult the 3-gram index for queries with an
    unknown word. ngram_weight: how much a 3-gram score counts next to a word score (both max-normalised).
    stemmer: "s" or "snowball" (see the module docstring).
    """

    def __init__(self, k1: float = 1.2, b: float = 0.75, typo_tolerance: bool = True, ngram_weight: float = 0.5,
                 stemmer: str = "s"):
        if stemmer not in STEMMERS:
            raise ValueError(f"stemmer must be one of {STEMMERS}, got {stemmer!r}")
        self.k1, self.b, self.stemmer = k1, b, stemmer
        self.typo_tolerance = typo_tolerance
        self.ngram_weight = ngram_weight
        self.words = _Bm25Field(k1, b)
        self.ngrams = _Bm25Field(k1=1.2, b=0.75)

    @property
    def n_rows(self) -> int:
        return self.words.n_rows

    def fit(self, texts: list[str], short_texts: list[str] | None = None) -> "KeywordIndex":
        """texts: what the word index reads (title, brand, category, description); short_texts: what the
        3-gram index reads (titles; default the same texts)."""
        self.words.fit([keyword_tokens(text, self.stemmer) for text in texts])
        if self.typo_tolerance:
            self.ngrams.fit([ngram_tokens(text) for text in (short_texts if short_texts is not None else texts)])
        return self

    def has_unknown_word(self, query: str) -> bool:
        return any(not self.words.knows(token) for token in keyword_tokens(query, self.stemmer))

    def scores(self, query: str, use_ngrams: bool | None = None) -> np.ndarray:
        """A score for every row. use_ngrams: None = only when the query has an unknown word."""
        word_scores = self.words.scores(keyword_tokens(query, self.stemmer))
        if use_ngrams is None:
            use_ngrams = self.typo_tolerance and self.has_unknown_word(query)
        if not (use_ngrams and self.ngrams.n_rows):
            return word_scores
        ngram_scores = self.ngrams.scores(ngram_tokens(query))
        # Each part is divided by its best score so neither scale dominates the other.
        return _max_normalised(word_scores) + self.ngram_weight * _max_normalised(ngram_scores)

    def search(self, query: str, k: int = 10, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (rows, scores) with a positive score; `mask` (bool per row) keeps rows marked True."""
        scores = self.scores(query)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        return top_k(scores, k)

    def save(self, path: Path) -> None:
        path = Path(path)
        self.words.save(path / "words")
        if self.typo_tolerance:
            self.ngrams.save(path / "ngrams")
        (path / "keyword.json").write_text(json.dumps(
            {"k1": self.k1, "b": self.b, "typo_tolerance": self.typo_tolerance, "ngram_weight": self.ngram_weight,
             "stemmer": self.stemmer}))

    @classmethod
    def load(cls, path: Path) -> "KeywordIndex":
        path = Path(path)
        index = cls(**json.loads((path / "keyword.json").read_text()))
        index.words = _Bm25Field.load(path / "words")
        if index.typo_tolerance:
            index.ngrams = _Bm25Field.load(path / "ngrams")
        return index


def _max_normalised(scores: np.ndarray) -> np.ndarray:
    best = float(scores.max()) if len(scores) else 0.0
    return scores / best if best > 0 else scores


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the k highest positive scores, best first."""
    positive = np.flatnonzero(scores > 0)
    if len(positive) > k:
        positive = positive[np.argpartition(-scores[positive], k - 1)[:k]]
    order = positive[np.argsort(-scores[positive], kind="stable")]
    return order, scores[order]
