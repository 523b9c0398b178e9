"""Keywords of a review set or a product: jieba TF-IDF and TextRank for Chinese, and embedding keyphrases with
maximal marginal relevance (KeyBERT-style) for both languages.

    jieba_keywords(texts, k=10, method="tfidf")     # [(word, weight), ...]; method "textrank" too
    keyphrases(texts, encoder, k=10, diversity=0.5) # [(phrase, relevance), ...]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import numpy as np

from shoplens.text import STOPWORDS, tokenize
from shoplens.text.encoders import prepare_text

# Very long inputs are cut: keywords of the first 20k characters of a product's reviews are its keywords.
MAX_KEYWORD_CHARS = 20_000


def jieba_keywords(texts: Iterable[object], k: int = 10, method: str = "tfidf") -> list[tuple[str, float]]:
    """Top-k words of the joined texts by jieba's TF-IDF (IDF from jieba's general corpus) or TextRank."""
    import jieba.analyse

    if method not in ("tfidf", "textrank"):
        raise ValueError(f"method must be 'tfidf' or 'textrank', got {method!r}")
    joined = prepare_text("\n".join(prepare_text(t, MAX_KEYWORD_CHARS) for t in texts), MAX_KEYWORD_CHARS)
    if not joined:
        return []
    extract = jieba.analyse.extract_tags if method == "tfidf" else jieba.analyse.textrank
    pairs = extract(joined, topK=k, withWeight=True)
    return [(word, float(weight)) for word, weight in pairs if word.lower() not in STOPWORDS]


def candidate_phrases(texts: Iterable[object], max_words: int = 3, min_count: int = 1,
                      max_candidates: int = 300) -> list[str]:
    """Word n-grams (1..max_words) that neither start nor end with a stop word or a number, most frequent first."""
    counts: Counter[str] = Counter()
    for text in texts:
        tokens = tokenize(prepare_text(text, MAX_KEYWORD_CHARS))
        for n in range(1, max_words + 1):
            for i in range(len(tokens) - n + 1):
                gram = tokens[i : i + n]
                if _content_word(gram[0]) and _content_word(gram[-1]):
                    counts[_join(gram)] += 1
    return [phrase for phrase, c in counts.most_common(max_candidates) if c >= min_count]


def keyphrases(texts: Iterable[object], encoder, k: int = 10, diversity: float = 0.5,
               max_words: int = 3) -> list[tuple[str, float]]:
    """KeyBERT-style: candidates closest to the embedding of the texts, picked by maximal marginal relevance
    (each next phrase balances relevance to the texts against similarity to phrases already picked)."""
    texts = [prepare_text(t, MAX_KEYWORD_CHARS) for t in texts]
    candidates = candidate_phrases(texts, max_words=max_words)
    if not candidates:
        return []
    document = encoder.encode(["\n".join(texts)[:MAX_KEYWORD_CHARS]], kind="query")[0]
    vectors = encoder.encode(candidates, kind="passage")
    relevance = vectors @ document
    chosen: list[int] = [int(np.argmax(relevance))]
    while len(chosen) < min(k, len(candidates)):
        redundancy = (vectors @ vectors[chosen].T).max(axis=1)
        score = (1 - diversity) * relevance - diversity * redundancy
        score[chosen] = -np.inf
        chosen.append(int(np.argmax(score)))
    return [(candidates[i], float(relevance[i])) for i in chosen]


def _content_word(token: str) -> bool:
    return len(token) > 1 and token not in STOPWORDS and not token.replace(".", "").isdigit()


def _is_han(token: str) -> bool:
    return all("\u4e00" <= ch <= "\u9fff" for ch in token)


def _join(tokens: list[str]) -> str:
    # Chinese words are written without spaces; Latin words need them.
    out = tokens[0]
    for token in tokens[1:]:
        out += token if (_is_han(token) and _is_han(out[-1])) else f" {token}"
    return out
