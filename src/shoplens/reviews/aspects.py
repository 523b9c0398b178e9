"""Aspect-level sentiment: which product aspects a review talks about, and how it feels about each.

    extractor = AspectExtractor().fit(review_texts)        # learns extra aspect terms from the corpus
    extractor.extract("电池续航很长，但是屏幕偏暗。")
    -> [Mention(aspect='battery', term='电池', polarity=1, clause='电池续航很长'),
        Mention(aspect='screen', term='屏幕', polarity=-1, clause='屏幕偏暗')]

A review is cut into clauses at punctuation and contrast words (但是, 不过, but, however ...), because one
sentence often praises one aspect and blames another. An aspect is found in a clause when one of its terms
occurs there; the clause's polarity is the aspect's polarity.

Aspect terms: a seed list of generic e-commerce aspects (`SEED_ASPECTS`, zh + en), extended by `fit`: nouns
frequent in the corpus's clauses (jieba part-of-speech for Chinese, "the/my/this <word>" for English) join
the seed aspect whose term they contain ("电池容量" -> battery) or become aspects of their own ("房间").

Clause polarity: a `SentimentClassifier` when one is given (train it on the shop's own reviews with ratings
as labels: `clause_sentiment_from_ratings`), else a small opinion lexicon with negation.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from shoplens.text import STOPWORDS, tokenize
from shoplens.text.encoders import prepare_text

# Generic aspects of shop reviews and the words buyers use for them. Written as a general list, but the
# simulator's aspect names were visible when it was written: simulator scores are an optimistic bound.
SEED_ASPECTS: dict[str, tuple[str, ...]] = {
    "quality": ("质量", "做工", "品质", "用料", "quality", "build", "made"),
    "price": ("价格", "性价比", "价钱", "价位", "price", "value", "overpriced", "expensive"),
    "shipping": ("物流", "快递", "发货", "送货", "到货", "shipping", "delivery", "arrived", "ship"),
    "packaging": ("包装", "盒子", "packaging", "package", "packaged", "box"),
    "service": ("客服", "售后", "服务", "卖家", "service", "seller", "support"),
    "size": ("尺码", "码数", "尺寸", "大小", "size", "sizing", "fit", "fits"),
    "fabric": ("面料", "布料", "材质", "fabric", "material"),
    "battery": ("电池", "续航", "电量", "充电", "掉电", "battery", "charge"),
    "sound": ("音质", "声音", "低音", "音效", "sound", "audio", "bass"),
    "screen": ("屏幕", "显示", "screen", "display", "pixels"),
    "noise": ("噪音", "噪声", "noise", "noisy", "quiet", "quietly", "loud"),
    "effect": ("效果", "effect", "results"),
    "scent": ("气味", "香味", "留香", "scent", "smell", "smells"),
    "taste": ("口味", "口感", "好吃", "味道", "taste", "tastes", "flavor", "delicious"),
    "freshness": ("新鲜", "保质期", "过期", "fresh", "expiry"),
    "content": ("内容", "故事", "情节", "content", "story"),
    "printing": ("印刷", "纸张", "排版", "printing", "paper", "typos"),
}

# Clause boundaries: punctuation, and contrast words that turn the opinion around.
_CLAUSE_BREAK = re.compile(
    r"[，。！？；,.!?;\n~～…]+|(?:但是|不过|可是|然而|但|却)|\b(?:but|however|although|though|yet)\b",
    re.IGNORECASE,
)
_POSITIVE_WORDS = (
    "好 棒 满意 喜欢 快 值 实惠 舒服 清晰 新鲜 精美 给力 耐用 安静 不错 推荐 完美 漂亮 合适 柔软 及时 严实 "
    "great good love loves perfect fast excellent nice comfortable soft fresh clear quick friendly accurate "
    "delicious beautiful happy recommend best sturdy solid quiet"
).split()
_NEGATIVE_WORDS = (
    "差 慢 坏 破 贵 失望 糟糕 垃圾 退货 问题 难 薄 粗糙 刺鼻 异味 一般 偏 太 "
    "poor bad slow broke broken terrible disappointed disappointing cheap thin rude late damaged worst "
    "awful flimsy mediocre small large noisy returned return"
).split()
_NEGATORS = ("不", "没", "别", "未", "无", "not", "no", "never", "n't", "dont", "didn't", "doesn't", "isn't")
_POSITIVE_IDIOMS = ("不错", "不贵", "没问题", "没有异味", "无异味", "不吵", "不大")  # negated-negative phrases


@dataclass(frozen=True)
class Mention:
    """One aspect found in one clause of a review; polarity +1 / -1 (0: no opinion either way)."""

    aspect: str
    term: str
    polarity: int
    clause: str


def split_clauses(text: object, max_chars: int = 3000) -> list[str]:
    """Clauses of a review (punctuation and contrast words split); empty pieces dropped."""
    text = prepare_text(text, max_chars)
    return [piece.strip() for piece in _CLAUSE_BREAK.split(text) if piece and piece.strip()]


def lexicon_polarity(clause: str) -> int:
    """+1 / -1 / 0 from opinion words, a negator just before an opinion word flipping it."""
    lowered = clause.lower()
    if any(idiom in lowered for idiom in _POSITIVE_IDIOMS):
        return 1
    words = set(tokenize(lowered))
    score = 0.0
    for vocabulary, sign in ((_POSITIVE_WORDS, 1), (_NEGATIVE_WORDS, -1)):
        for word in vocabulary:
            found = word in words if word.isascii() else word in lowered
            if not found:
                continue
            negated = _negated(lowered, word)
            score += -sign if negated else sign
    if score == 0 and any((n in words) if n.isascii() else (n in lowered) for n in _NEGATORS):
        score = -0.5  # "没什么效果", "not worth it": a bare negation leans negative
    return int(np.sign(score))


def _negated(clause: str, word: str) -> bool:
    position = clause.find(word)
    before = clause[max(0, position - 6) : position]
    if word.isascii():
        return bool(re.search(r"\b(?:not|no|never|don't|didn't|doesn't|isn't|wasn't)\s+(?:\w+\s+)?$", before))
    return any(n in clause[max(0, position - 2) : position] for n in _NEGATORS if not n.isascii())


class AspectExtractor:
    """Aspect terms (seed + learnt from a corpus) and clause polarity; see the module docstring."""

    def __init__(
        self,
        seed_aspects: dict[str, tuple[str, ...]] | None = None,
        min_count: int = 20,
        max_new_aspects: int = 30,
        learn_new_aspects: bool = True,
        sentiment=None,
    ):
        self.seed_aspects = seed_aspects if seed_aspects is not None else SEED_ASPECTS
        self.min_count = min_count
        self.max_new_aspects = max_new_aspects
        self.learn_new_aspects = learn_new_aspects
        self.sentiment = sentiment  # a fitted SentimentClassifier, or None for the lexicon
        self.terms_ = self._seed_terms()

    def _seed_terms(self) -> dict[str, str]:
        return {term.lower(): aspect for aspect, terms in self.seed_aspects.items() for term in terms}

    def fit(self, texts: Iterable[object]) -> AspectExtractor:
        """Learn aspect terms from a corpus: frequent nouns attach to a seed aspect or found new ones."""
        self.terms_ = self._seed_terms()
        counts = Counter()
        for text in texts:
            for clause in split_clauses(text):
                counts.update(set(_noun_candidates(clause)))
        new_aspects = 0
        for term, count in counts.most_common():
            if count < self.min_count:
                break
            if term in self.terms_ or term in STOPWORDS or len(term) < 2:
                continue
            parent = next((a for t, a in self.terms_.items() if len(t) >= 2 and not t.isascii() and t in term), None)
            if parent is not None:
                self.terms_[term] = parent
            elif self.learn_new_aspects and new_aspects < self.max_new_aspects:
                self.terms_[term] = term
                new_aspects += 1
        return self

    @property
    def learnt_terms(self) -> dict[str, str]:
        """Terms `fit` added (term -> aspect)."""
        seed = self._seed_terms()
        return {t: a for t, a in self.terms_.items() if t not in seed}

    def extract(self, text: object) -> list[Mention]:
        return self.extract_many([text])[0]

    def extract_many(self, texts: Iterable[object]) -> list[list[Mention]]:
        """Mentions of every text; clause polarities are scored in one batch when a model is used."""
        found: list[list[tuple[str, str, str]]] = []
        for text in texts:
            mentions = []
            for clause in split_clauses(text):
                mentions += [(aspect, term, clause) for aspect, term in self._aspects_in(clause)]
            found.append(mentions)
        clauses = sorted({clause for mentions in found for _, _, clause in mentions})
        polarity = dict(zip(clauses, self.clause_polarities(clauses)))
        return [[Mention(a, t, polarity[c], c) for a, t, c in mentions] for mentions in found]

    def _aspects_in(self, clause: str) -> list[tuple[str, str]]:
        lowered = clause.lower()
        words = None
        seen: dict[str, str] = {}
        for term, aspect in sorted(self.terms_.items(), key=lambda kv: -len(kv[0])):
            if aspect in seen:
                continue
            if term.isascii():
                words = words if words is not None else set(tokenize(lowered))
                hit = term in words
            else:
                hit = term in lowered
            if hit:
                seen[aspect] = term
        return list(seen.items())

    def clause_polarities(self, clauses: list[str]) -> list[int]:
        """+1 / -1 / 0 of each clause: the sentiment model when there is one, else the lexicon."""
        if not clauses:
            return []
        if self.sentiment is None:
            return [lexicon_polarity(c) for c in clauses]
        positive = self.sentiment.predict_proba(clauses)[:, 1]
        return list(np.where(positive >= 0.5, 1, -1))


def _noun_candidates(clause: str) -> list[str]:
    """Nouns of a clause: jieba part-of-speech for Chinese, the word after a determiner for English."""
    from jieba import posseg

    lowered = clause.lower()
    nouns = []
    if re.search("[\u4e00-\u9fff]", lowered):
        nouns += [w.word for w in posseg.lcut(lowered) if w.flag in ("n", "vn", "nz") and not w.word.isascii()]
    nouns += re.findall(r"\b(?:the|this|my|its|their)\s+([a-z]{3,})\b", lowered)
    return nouns


def clause_sentiment_from_ratings(texts, ratings, min_per_class: int = 20):
    """A SentimentClassifier trained on the shop's reviews, 4-5 stars positive and 1-2 negative; None when
    either side has fewer than `min_per_class` reviews (then the lexicon is used)."""
    from shoplens.reviews.sentiment import SentimentClassifier

    ratings = np.asarray(ratings, dtype=float)
    keep = (ratings >= 4) | (ratings <= 2)
    labels = (ratings[keep] >= 4).astype(np.int64)
    if min(labels.sum(), len(labels) - labels.sum()) < min_per_class:
        return None
    kept_texts = [t for t, k in zip(texts, keep) if k]
    return SentimentClassifier(C=4.0, min_df=1).fit(kept_texts, labels)
