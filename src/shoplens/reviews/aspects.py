"""Aspect-level sentiment: which product aspects a review talks about, and how it feels about each.

    extractor = AspectExtractor().fit(review_texts)        # learns extra aspect terms from the corpus
    extractor.extract("电池续航很长，但是屏幕偏暗。")
    -> [Mention(aspect='battery', term='电池', polarity=1, clause='电池续航很长'),
        Mention(aspect='screen', term='屏幕', polarity=-1, clause='屏幕偏暗')]

A review is cut into clauses at punctuation and contrast words (但是, 不过, but, however ...), because one
sentence often praises one aspect and blames another. An aspect is found in a clause when one of its terms
occurs there; a mention's polarity is that of the part of the clause holding its term (parts split at spaces
and 、), or the clause's.

Aspect terms: a seed list of generic e-commerce aspects (`SEED_ASPECTS`, zh + en), extended by `fit`: common
nouns frequent in the corpus's clauses (jieba part-of-speech for Chinese, "the/my/this <word>" for English) join
the seed aspect whose term they contain ("电池容量" -> battery) or become aspects of their own ("房间"). Brands
never become aspects: jieba's proper nouns (nz, nr, ns, nt) are not candidates, a shop's catalogue brands are
masked (`brands=`), and words for the product itself (`NOT_ASPECTS`: 手机, 酒店, 苹果 ...) are skipped.

Clause polarity: an opinion lexicon read at clause level (`lexicon_score`: a negator scopes over the next
opinion word, 没有/无 + a flaw noun such as 噪音 or 色差 is praise, what follows a contrast marker carries the
clause, degree words weigh double and 有点/偏/太 + a neutral word is a complaint); with a `SentimentClassifier`
(trained on the shop's own reviews with ratings as labels: `clause_sentiment_from_ratings`) its score is
added to the lexicon's. Measured on hand-labelled real clauses: `shoplens bench aspects --part labelled`.
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
    "quality": ("质量", "做工", "品质", "用料", "質量", "质感", "次品", "quality", "build", "made"),
    "price": ("价格", "性价比", "价钱", "价位", "房价", "價格", "便宜", "实惠", "划算", "价廉", "降价", "不贵", "太贵",
              "很贵", "有点贵", "偏贵", "price", "value", "overpriced", "expensive"),
    "shipping": ("物流", "快递", "发货", "送货", "到货", "配送", "送达", "shipping", "delivery", "arrived", "ship"),
    "packaging": ("包装", "盒子", "盒盒", "packaging", "package", "packaged", "box"),
    "service": ("客服", "售后", "服务", "服務", "卖家", "商家", "店家", "老板", "态度", "service", "seller", "support"),
    "size": ("尺码", "码数", "尺寸", "大小", "个头", "个子", "偏大", "偏小", "size", "sizing", "fit", "fits"),
    "fabric": ("面料", "布料", "材质", "起毛", "起球", "掉毛", "fabric", "material"),
    "battery": ("电池", "续航", "电量", "充电", "掉电", "待机", "耗电", "battery", "charge"),
    "sound": ("音质", "声音", "低音", "音效", "sound", "audio", "bass"),
    "screen": ("屏幕", "显示", "画面", "屏", "screen", "display", "pixels"),
    "noise": ("噪音", "噪声", "杂音", "noise", "noisy", "quiet", "quietly", "loud"),
    "effect": ("效果", "头皮屑", "去屑", "去油", "控油", "effect", "results"),
    "scent": ("气味", "香味", "留香", "异味", "香气", "scent", "smell", "smells"),
    "taste": ("口味", "口感", "好吃", "好喝", "难吃", "味道", "酸味", "甜味", "taste", "tastes", "flavor", "delicious"),
    "freshness": ("新鲜", "保质期", "过期", "腐烂", "烂了", "fresh", "expiry"),
    "content": ("内容", "故事", "情节", "作者", "content", "story"),
    "printing": ("印刷", "纸张", "排版", "错别字", "装订", "printing", "paper", "typos"),
}

# Nouns that are the product, the shop or no aspect at all: never learnt as aspects (brands are kept out by
# part of speech and by the catalogue's brand list).
NOT_ASPECTS = frozenset(
    "东西 商品 产品 宝贝 物品 货 货物 京东 淘宝 天猫 商城 网店 店铺 网上 手机 电脑 笔记本 本本 平板 机器 机子 酒店 宾馆 "
    "饭店 衣服 裤子 鞋子 书 书籍 本书 水果 苹果 牛奶 洗发水 热水器 感觉 大家 结果 时间 时候 一点 有点 朋友 客人 孩子 "
    "全部 免费 问题 垃圾 评价 评论 好评 差评 下次 以后 东东 样子 情况 地方 原因 理由 方面 总体".split()
)

# Clause boundaries: punctuation, and contrast words that turn the opinion around.
_CLAUSE_BREAK = re.compile(
    r"[，。！？；,.!?;\n~～…]+|(?:但是|不过|可是|然而|但|却)|\b(?:but|however|although|though|yet)\b",
    re.IGNORECASE,
)
_POSITIVE_WORDS = (
    "great good love loves perfect fast excellent nice comfortable soft fresh clear quick friendly accurate "
    "delicious beautiful happy recommend best sturdy solid quiet"
).split()
_NEGATIVE_WORDS = (
    "poor bad slow broke broken terrible disappointed disappointing cheap thin rude late damaged worst "
    "awful flimsy mediocre small large noisy returned return"
).split()

# Chinese clause polarity: the clause is read left to right as a sequence of lexicon entries (longest match
# first), so a negator scopes over the next opinion word of its clause, not only the two characters before it.
# Kinds: + / - opinion words; "flaw" nouns (噪音, 色差, 问题) are negative unless negated (没有噪音 is praise);
# negators; degree words (很, 非常: double weight); "reservation" degrees (有点, 偏, 太 + a word with no polarity
# of its own: 有点厚, 偏小, 太低 are complaints); size words (小/少 negative, but positive after a flaw noun:
# 噪音小; 够大 is praise); level words (高/低: inverted after price nouns); contrast markers (可惜, 只是, 就是: what follows
# carries the clause); "skip" entries shadow words that start with a negator but negate nothing (不同, 不得不).
_ZH_LEXICON: dict[str, tuple[str, int]] = {}
for _kind, _value, _words in (
    ("opinion", 1, "好 棒 满意 喜欢 快 快速 迅速 及时 准时 值 值得 实惠 便宜 划算 超值 优惠 舒服 舒适 清晰 清楚 新鲜 精美 "
                   "精致 给力 耐用 安静 推荐 完美 漂亮 好看 好吃 好喝 好用 合适 合身 柔软 严实 干净 整洁 方便 便捷 丰富 "
                   "流畅 热情 周到 贴心 细致 细心 耐心 专业 结实 厚实 牢固 大方 靓丽 时尚 新颖 独特 强 强大 强劲 稳定 顺利 "
                   "靠谱 正品 正宗 行货 香 香甜 甜 浓郁 清香 可口 赞 爽 惊喜 齐全 宽敞 明亮 温馨 优雅 幽雅 人性化 信赖 放心 "
                   "好评 负责 近 均匀 清凉 可以的 挺好 还行 还可以 不错 不贵 不卡 没得比 没得说 没的说 没话说 无可挑剔 "
                   "物美价廉 经济实惠 物超所值 不少 很快 高效 优秀 一流 满分 开心 愉快 划得来 到位 深刻 实用 精彩 受益 "
                   "新装 全新 崭新 尚可 还好 符合 也可以 都可以"),
    ("opinion", -1, "差 慢 坏 破 贵 失望 糟糕 垃圾 退货 难 粗糙 刺鼻 一般 烂 假 假货 山寨 脏 旧 陈旧 简陋 残旧 吵 麻烦 "
                    "卡顿 很卡 有点卡 会卡 死机 恶心 难吃 难看 难闻 难用 后悔 上当 被骗 坑 差劲 不值 投诉 敷衍 冷淡 无语 "
                    "郁闷 生气 气死 发霉 变质 过期 漏 掉色 褪色 起球 起毛 掉毛 开线 划伤 划痕 失败 错 弱 耻辱 无耻 抵制 "
                    "恐怖 缺失 不足 遗憾 噩梦 恶梦 破损 变形 漏水 不行 不咋地 不怎么样 一般般 不如 降价 远 偏远 臭 "
                    "硬 僵硬 闷 潮 差评 骗 忽悠 欺骗 不理 推诿 推委 拒载 丢 弄丢 不愿意 悲哀 悲催 伤不起 不敢 洒"),
    ("flaw", -1, "噪音 噪声 杂音 异味 怪味 色差 问题 毛病 瑕疵 线头 缺点 缺陷 污渍 蚊子 发热 发烫 错别字 头皮屑 bug"),
    ("negator", 0, "不 没 没有 无 未 别 不太 不够 不是 并不 并没有 毫无 从不 从没 绝不 木有"),
    ("degree", 2, "很 非常 特别 十分 相当 超 超级 极 极其 真 真的 挺 蛮 最 更 巨 贼 好几"),
    ("reservation", 2, "有点 有些 有一点 略 略微 稍 稍微 偏 过于 太"),
    ("enough", 1, "够 足够"),
    ("size", -1, "小 少 短 薄 窄"),
    ("size", 0, "大 多 长 厚"),
    ("level", 1, "高"),
    ("level", -1, "低"),
    ("contrast", 0, "可惜 只是 就是 倒是 不过"),
    ("skip", 0, "不同 不仅 不但 不管 不论 无论 不断 不得不 不能不 不由 无线网 无线上网 没想到 不知 不知道 差不多 "
                "好几 好像 好多 大家 大小 多少 长短 小时 小孩 小朋友 硬盘 硬件 硬币 高速 高清 不用 卡槽 差距"),
):
    for _word in _words.split():
        _ZH_LEXICON[_word] = (_kind, _value)
_ZH_LONGEST = max(map(len, _ZH_LEXICON))
_PRICE_NOUNS = ("价格", "价钱", "价位", "房价", "收费", "费用", "售价", "报价")
_QUESTION = re.compile(r"(吗|么|怎样|怎么样|如何|是否|[？?])\s*$|怎样|怎么样|如何")
_SEGMENT_BREAK = re.compile(r"[\s、]+")
_LEADING_MODIFIERS = re.compile(
    "(?:" + "|".join(sorted((w for w, (k, _) in _ZH_LEXICON.items() if k in ("negator", "degree", "reservation")),
                            key=len, reverse=True)) + "|几乎|基本|完全|一点|什么|任何|也|都|还)*$"
)


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
    """+1 / -1 / 0 of a clause from the opinion lexicon (negation, contrast and degree words included)."""
    return int(np.sign(lexicon_score(clause)))


def lexicon_score(clause: str) -> float:
    """Signed opinion strength of a clause: the Chinese reading (`_zh_score`) plus the English words."""
    lowered = clause.lower()
    return _zh_score(lowered) + _en_score(lowered)


def _zh_entries(text: str) -> list[tuple[str, int, str, int]]:
    """(kind, value, word, position) of the lexicon entries of `text`, longest match first, left to right."""
    entries, i = [], 0
    while i < len(text):
        for length in range(min(_ZH_LONGEST, len(text) - i), 0, -1):
            word = text[i : i + length]
            if word in _ZH_LEXICON:
                entries.append((*_ZH_LEXICON[word], word, i))
                i += length
                break
        else:
            i += 1
    return entries


def _zh_score(text: str) -> float:
    """See `_ZH_LEXICON`. Opinions after a contrast marker replace those before it; with no opinion at all, an
    unused negator or reservation leans negative ("没有配套的皮套", "有点厚"), unless the clause is a question."""
    before, score = 0.0, 0.0
    negators, weight, reserved, unused, contrast, enough = 0, 1, False, False, False, False
    flaw = 0  # weight of a flaw noun whose sign waits for a size word (噪音很小 / 噪音大), else counts -1
    entries = _zh_entries(text)
    for index, (kind, value, word, position) in enumerate(entries):
        following = entries[index + 1] if index + 1 < len(entries) else None
        if word == "好" and following and following[3] == position + 1 and following[0] in ("size", "level", "opinion"):
            kind, value = "degree", 2  # 好小, 好快: 好 as "very"
        if kind == "skip":
            continue
        if kind == "contrast":
            before, score, contrast = before + score - flaw, 0.0, True
            flaw = 0
            continue
        if kind == "negator":
            negators, unused = negators + 1, True
            continue
        if kind in ("degree", "reservation"):
            weight = max(weight, value)
            reserved = reserved or kind == "reservation"
            unused = unused or kind == "reservation"
            continue
        if kind == "enough":
            enough = True
            continue
        if kind == "flaw" and negators % 2 == 0:
            score, flaw = score - flaw, max(weight, 1)
            negators, weight, reserved, unused, enough = 0, 1, False, False, False
            continue
        sign = value
        if kind == "size" and flaw:
            sign, weight, flaw = (1 if value < 0 else -1), max(weight, flaw), 0  # 噪音小 good, 噪音大 bad
        elif kind == "level" and any(noun in text[:position] for noun in _PRICE_NOUNS):
            sign = -value  # 价格高 is bad, 价格低 good (性价比高 stays good)
        if sign == 0 and (reserved or enough):
            sign = -1 if reserved else 1  # 太大, 有点长 are complaints; 够大 is praise
        if sign == 0:
            continue
        if negators % 2 == 1:
            sign = -sign
        score += sign * weight
        negators, weight, reserved, unused, enough = 0, 1, False, False, False
    score -= flaw
    if score == 0 and before != 0:
        score = before
    if score == 0 and (unused or contrast and text.startswith(("可惜", "只是"))) and not _QUESTION.search(text):
        score = -0.5
    return score


def _zh_words_in(text: str) -> list[str]:
    return [word for _, _, word, _ in _zh_entries(text)]


def _en_score(lowered: str) -> float:
    """English opinion words, a negator (not, no, never, n't) shortly before flipping one."""
    if not re.search("[a-z]", lowered):
        return 0.0
    words = set(tokenize(lowered))
    score = 0.0
    for vocabulary, sign in ((_POSITIVE_WORDS, 1), (_NEGATIVE_WORDS, -1)):
        for word in vocabulary:
            if word in words:
                score += -sign if _negated_en(lowered, word) else sign
    if score == 0 and words & {"not", "no", "never", "dont", "didn't", "doesn't", "isn't"}:
        score = -0.5  # "not worth it": a bare negation leans negative
    return score


def _negated_en(clause: str, word: str) -> bool:
    position = clause.find(word)
    before = clause[max(0, position - 12) : position]
    return bool(re.search(r"\b(?:not|no|never|don't|didn't|doesn't|isn't|wasn't)\s+(?:\w+\s+)?$", before))


class AspectExtractor:
    """Aspect terms (seed + learnt from a corpus) and clause polarity; see the module docstring.

    brands: names never taken for aspects (a shop's catalogue brands: `brands_of(items)`); they are also
    masked in a clause before its terms are matched. sentiment: a fitted SentimentClassifier; it decides a
    clause where the lexicon finds no opinion, when its positive probability p is confident
    (|2p - 1| >= model_band), else the clause has no opinion (0). Trained on whole reviews, it reads short
    clauses worse than the lexicon (bench aspects --part labelled), hence second place."""

    def __init__(
        self,
        seed_aspects: dict[str, tuple[str, ...]] | None = None,
        min_count: int = 20,
        max_new_aspects: int = 60,
        learn_new_aspects: bool = True,
        sentiment=None,
        brands: Iterable[str] = (),
        model_band: float = 0.8,
    ):
        self.seed_aspects = seed_aspects if seed_aspects is not None else SEED_ASPECTS
        self.min_count = min_count
        self.max_new_aspects = max_new_aspects
        self.learn_new_aspects = learn_new_aspects
        self.sentiment = sentiment  # a fitted SentimentClassifier, or None for the lexicon
        self.brands = brands
        self.model_band = model_band
        self.terms_ = self._seed_terms()
        self.brands_ = _brand_names(brands)

    def _seed_terms(self) -> dict[str, str]:
        return {term.lower(): aspect for aspect, terms in self.seed_aspects.items() for term in terms}

    def fit(self, texts: Iterable[object]) -> AspectExtractor:
        """Learn aspect terms from a corpus: frequent common nouns attach to a seed aspect or found new ones;
        proper nouns (brands, people, places), the shop's brands and words for the product itself are left out."""
        self.terms_ = self._seed_terms()
        self.brands_ = _brand_names(self.brands)
        counts = Counter()
        for text in texts:
            for clause in split_clauses(text):
                counts.update(set(_noun_candidates(self._masked(clause.lower()))))
        new_aspects = 0
        for term, count in counts.most_common():
            if count < self.min_count:
                break
            if term in self.terms_ or term in STOPWORDS or term in NOT_ASPECTS or len(term) < 2:
                continue
            if any(brand in term or term in brand for brand in self.brands_):
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
        """Mentions of every text. A mention takes the polarity of the words from its term to the end of the
        part of its clause that holds it (parts split at spaces and 、: "配送快 客服态度差"), else of that part,
        else of the clause: "强劲...而造成电池不耐用" is about the battery's 不耐用, not the CPU's 强劲."""
        found: list[list[tuple[str, str, tuple[str, ...]]]] = []
        for text in texts:
            mentions = []
            for clause in split_clauses(text):
                mentions += [(aspect, term, _readings(clause, term)) for aspect, term in self._aspects_in(clause)]
            found.append(mentions)
        pieces = sorted({piece for mentions in found for _, _, readings in mentions for piece in readings})
        polarity = dict(zip(pieces, self.clause_polarities(pieces)))
        return [[Mention(a, t, next((polarity[r] for r in readings if polarity[r]), 0), readings[-1])
                 for a, t, readings in mentions] for mentions in found]

    def _masked(self, lowered: str) -> str:
        for brand in self.brands_:
            lowered = lowered.replace(brand, " ")
        return lowered

    def _aspects_in(self, clause: str) -> list[tuple[str, str]]:
        lowered = self._masked(clause.lower())
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
        """+1 / -1 / 0 of each clause: the lexicon's sign; where it is 0, the model's when confident."""
        polarity = np.sign([lexicon_score(c) for c in clauses]).astype(int)
        silent = np.flatnonzero(polarity == 0)
        if self.sentiment is not None and len(silent):
            margin = 2 * self.sentiment.predict_proba([clauses[i] for i in silent])[:, 1] - 1
            polarity[silent] = np.where(np.abs(margin) >= self.model_band, np.sign(margin), 0)
        return polarity.tolist()


def _readings(clause: str, term: str) -> tuple[str, ...]:
    """What a mention's polarity is read from, narrowest first: the words from `term` to the end of the part
    of `clause` that holds it (parts split at spaces and 、), that part, the clause itself (always last)."""
    if term.isascii():
        return (clause,)
    lowered = clause.lower()
    part = next((p for p in _SEGMENT_BREAK.split(lowered) if term in p), lowered)
    start = part.find(term)
    start -= len(_LEADING_MODIFIERS.search(part[:start]).group())  # keep 几乎没有 of 几乎没有噪音
    return tuple(dict.fromkeys((part[start:], part, clause)))


def _brand_names(brands: Iterable[str]) -> list[str]:
    """Lower-cased brand names of two or more characters, longest first (so 蒙牛 is masked before 牛)."""
    names = {str(b).strip().lower() for b in brands if isinstance(b, str) and len(str(b).strip()) >= 2}
    return sorted(names, key=len, reverse=True)


def brands_of(items) -> list[str]:
    """The distinct brands of a catalogue: its `brand` column and any `brand_*` one (e.g. brand_zh); []
    without a catalogue."""
    columns = [c for c in getattr(items, "columns", ()) if c == "brand" or str(c).startswith("brand_")]
    return sorted({b for c in columns for b in items[c].dropna().astype(str) if b.strip()})


def _noun_candidates(clause: str) -> list[str]:
    """Common nouns of a clause: jieba part-of-speech n / vn for Chinese (not nz, nr, ns, nt: brands, people,
    places, organisations), the word after a determiner for English."""
    from jieba import posseg

    lowered = clause.lower()
    nouns = []
    if re.search("[\u4e00-\u9fff]", lowered):
        nouns += [w.word for w in posseg.lcut(lowered) if w.flag in ("n", "vn") and not w.word.isascii()]
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
