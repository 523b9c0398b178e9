"""Fusion of keyword and dense scores, personalisation blend, filters and query hygiene.

Everything here works on the scores of one query's candidate rows, so the search index and the relevance
bench run exactly the same code.

    fused = fuse(keyword_scores, dense_scores, method="rrf", rrf_k=60)
    fused = fuse(keyword_scores, dense_scores, method="weighted", keyword_weight=0.4)
    final = blend_personal(fused, personal_scores, personal_weight=0.3)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from shoplens.text.encoders import prepare_text

FUSION_METHODS = ("rrf", "weighted")
FILTER_FIELDS = ("category", "price", "brand")
MAX_QUERY_CHARS = 256  # longer "queries" are pasted documents; their head says what is wanted


def ranks(scores: np.ndarray) -> np.ndarray:
    """1-based rank of each score (1 = highest); equal scores share the best rank of their group."""
    return rankdata(-np.asarray(scores, dtype=np.float64), method="min").astype(np.int64)


def min_max(scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64)
    if not len(scores):
        return scores
    low, high = scores.min(), scores.max()
    return (scores - low) / (high - low) if high > low else np.zeros_like(scores)


def fuse(keyword_scores: np.ndarray, dense_scores: np.ndarray, method: str = "rrf", rrf_k: float = 60.0,
         keyword_weight: float = 0.5) -> np.ndarray:
    """One score per candidate from its keyword (BM25) and dense (cosine) scores.

    rrf: keyword_weight / (rrf_k + keyword rank) + (1 - keyword_weight) / (rrf_k + dense rank) — scale-free,
    so it needs no calibration; a candidate with BM25 score 0 gets no keyword term. weighted: keyword_weight * minmax(BM25) + (1 - keyword_weight) * minmax(cosine),
    both over the candidates — uses how far apart scores are, not only their order.
    """
    if method not in FUSION_METHODS:
        raise ValueError(f"fusion method must be one of {FUSION_METHODS}, got {method!r}")
    if method == "rrf":
        # A candidate without any query word has no keyword rank: it gains nothing from that list.
        keyword_part = np.where(np.asarray(keyword_scores) > 0, keyword_weight / (rrf_k + ranks(keyword_scores)), 0.0)
        return keyword_part + (1 - keyword_weight) / (rrf_k + ranks(dense_scores))
    return keyword_weight * min_max(keyword_scores) + (1 - keyword_weight) * min_max(dense_scores)


def blend_personal(scores: np.ndarray, personal_scores: np.ndarray, personal_weight: float = 0.3) -> np.ndarray:
    """minmax(scores) + personal_weight * minmax(personal): the query decides, the user's interests break
    near-ties. Candidates the user model cannot score (NaN) get its lowest value."""
    personal = np.asarray(personal_scores, dtype=np.float64)
    if not len(personal) or np.isnan(personal).all():
        return np.asarray(scores, dtype=np.float64)
    personal = np.where(np.isnan(personal), np.nanmin(personal), personal)
    return min_max(scores) + personal_weight * min_max(personal)


def clean_query(query: object) -> tuple[str, list[str]]:
    """(query as searched, notes): control characters dropped, whitespace collapsed, cut to MAX_QUERY_CHARS."""
    if query is not None and not isinstance(query, str):
        raise TypeError(f"query must be a string, got {type(query).__name__}")
    raw = " ".join((query or "").split())
    text = prepare_text(query, MAX_QUERY_CHARS)
    notes = []
    if len(raw) > MAX_QUERY_CHARS:
        notes.append(f"query cut from {len(raw):,} to {MAX_QUERY_CHARS} characters")
    return text, notes


@dataclass
class Filters:
    """category: a path prefix ("家居 > 厨房" keeps "家居 > 厨房 > 锅具"); price: (low, high), either may be
    None, inclusive; brand: brand names (any of them, case-insensitive)."""

    category: str | None = None
    price: tuple[float | None, float | None] | None = None
    brand: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, filters: "Filters | dict | list[str] | str | None") -> "Filters":
        """From a Filters, a dict {"category": ..., "price": (lo, hi) or "10..100", "brand": name or list},
        or strings as the CLI takes them: "category=家居 > 厨房", "price=10..100", "price<=50", "brand=a|b"."""
        if filters is None or isinstance(filters, Filters):
            return filters or cls()
        if isinstance(filters, str):
            filters = [filters]
        if isinstance(filters, list):
            filters = dict(_parse_expression(expression) for expression in filters)
        unknown = sorted(set(filters) - set(FILTER_FIELDS))
        if unknown:
            raise ValueError(f"unknown filter field {unknown[0]!r}; filters exist for {', '.join(FILTER_FIELDS)}")
        price = filters.get("price")
        if isinstance(price, str):
            price = _parse_range(price)
        brand = filters.get("brand") or []
        return cls(category=filters.get("category") or None, price=price,
                   brand=[brand] if isinstance(brand, str) else list(brand))

    def __bool__(self) -> bool:
        return bool(self.category or self.price or self.brand)

    def mask(self, catalogue: pd.DataFrame) -> np.ndarray:
        """Bool per catalogue row: True where the row passes every filter."""
        keep = np.ones(len(catalogue), dtype=bool)
        if self.category:
            prefix = _path_key(self.category)
            paths = catalogue["category"].fillna("").map(_path_key)
            keep &= paths.str.startswith(prefix).to_numpy()
        if self.price:
            low, high = self.price
            price = pd.to_numeric(catalogue["price"], errors="coerce").to_numpy(dtype=np.float64)
            keep &= ~np.isnan(price)
            if low is not None:
                keep &= price >= low
            if high is not None:
                keep &= price <= high
        if self.brand:
            wanted = {name.strip().lower() for name in self.brand}
            keep &= catalogue["brand"].fillna("").str.lower().isin(wanted).to_numpy()
        return keep

    def describe(self) -> str:
        parts = []
        if self.category:
            parts.append(f"category starts with {self.category!r}")
        if self.price:
            parts.append(f"price in [{self.price[0]}, {self.price[1]}]")
        if self.brand:
            parts.append(f"brand in {self.brand}")
        return " and ".join(parts)


def _path_key(path: str) -> str:
    """A category path compared segment by segment: whitespace around '>' and case do not matter."""
    return ">".join(part.strip().lower() for part in str(path).split(">"))


_COMPARISON = re.compile(r"^\s*(\w+)\s*(<=|>=|=)\s*(.*?)\s*$", re.S)


def _parse_expression(expression: str) -> tuple[str, object]:
    match = _COMPARISON.match(expression)
    if not match:
        raise ValueError(f"cannot read filter {expression!r}; write field=value, e.g. price=10..100 or brand=acme")
    name, operator, value = match.group(1).lower(), match.group(2), match.group(3)
    if name not in FILTER_FIELDS:
        raise ValueError(f"unknown filter field {name!r}; filters exist for {', '.join(FILTER_FIELDS)}")
    if name == "price":
        if operator == "=":
            return name, _parse_range(value)
        bound = _parse_number(value)
        return name, (bound, None) if operator == ">=" else (None, bound)
    if operator != "=":
        raise ValueError(f"{name} filters take '=', got {operator!r}")
    return name, value.split("|") if name == "brand" else value


def _parse_range(text: str) -> tuple[float | None, float | None]:
    if ".." not in text:
        value = _parse_number(text)
        return value, value
    low, high = text.split("..", 1)
    return (_parse_number(low) if low.strip() else None, _parse_number(high) if high.strip() else None)


def _parse_number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"price bound {text!r} is not a number") from None
