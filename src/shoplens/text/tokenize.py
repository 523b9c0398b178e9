"""Tokenisation for Chinese and English catalogues: jieba for Chinese runs, a small word tokenizer for the rest.

    tokenize("小米Redmi Buds 4 无线蓝牙耳机 50 ml")
    -> ['小米', 'redmi', 'buds', '4', '无线', '蓝牙', '耳机', '50ml']

Text is NFKC-normalised first (full-width "ＡＢＣ１２３" becomes "abc123", as Chinese shops often write it) and
lowercased. It is then split into runs of Han characters and runs of everything else; Han runs go to jieba, the
others to a word regex that keeps numbers with their units ("50ml", "1.5l"), decimals and model numbers
("rtx4090") whole. Dictionary words written in both scripts ("T恤", "U盘", "SIM卡") are kept whole too.
Emoji, punctuation and control characters only separate tokens.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from collections.abc import Collection
from typing import Literal

from shoplens.text.encoders import as_text

Lang = Literal["zh", "en", "mixed", "unknown"]

# CJK unified ideographs: basic block, extension A, compatibility block, extensions B-F.
_HAN_CHARS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
_HAN_CHAR = re.compile(f"[{_HAN_CHARS}]")
_HAN_RUNS = re.compile(f"([{_HAN_CHARS}]+)")  # a capturing split: Han runs land at odd positions
_LATIN_LETTERS = "a-zA-Z\u00c0-\u024f"
_LATIN_LETTER = re.compile(f"[{_LATIN_LETTERS}]")
# A Latin word for `detect_lang`; letters glued to a number ("50ml", "4k") are a unit, not English.
_LATIN_WORD = re.compile(f"(?<![0-9{_LATIN_LETTERS}])[{_LATIN_LETTERS}]+")
# Letters/digits, joined across an inner apostrophe or dot: "don't", "1.5l", "e.g"; "usb-c" splits at the hyphen.
_WORD = re.compile(r"[^\W_]+(?:['.][^\W_]+)*")
# "50 ml" and "50ml" should be the same token; only units that cannot be an ordinary word after a number.
_NUMBER_SPACE_UNIT = re.compile(
    r"(\d)\s+(ml|l|g|kg|mg|cm|mm|km|gb|tb|mb|mah|w|kw|v|hz|ghz|oz|lb|lbs|pcs)\b"
)

# When one script has no more than this share of all units (a Han character or a Latin word each),
# `detect_lang` calls the text by the majority script: "小米 Redmi 无线蓝牙耳机" is Chinese with a brand name.
MIXED_MIN_SHARE = 0.2

STOPWORDS: frozenset[str] = frozenset(
    "a an the and or of for with to in on at by is are was were be been it its this that these those from as "
    "的 了 是 在 和 与 及 或 也 就 都 而 着 呢 吧 啊 吗 这 那 个 一个".split()
)


def tokenize(text: str | None, lang: str = "auto", stopwords: Collection[str] | None = None) -> list[str]:
    """Lowercase tokens of `text` in order.

    lang: "auto" or "zh" — Han runs are segmented by jieba (Latin runs always go to the word tokenizer, which
    handles them better than jieba); "en" — jieba is not used and each Han character is its own token.
    stopwords: tokens to drop, e.g. `STOPWORDS` (nothing is dropped by default).
    """
    if lang not in ("auto", "zh", "en"):
        raise ValueError(f"lang must be 'auto', 'zh' or 'en', got {lang!r}")
    text = _normalise(as_text(text))
    tokens: list[str] = []
    for piece, is_compound in _split_compounds(text, use_jieba=lang != "en"):
        if is_compound:
            tokens.append(piece)
            continue
        for i, run in enumerate(_HAN_RUNS.split(piece)):
            if i % 2 == 0:
                tokens += _WORD.findall(_NUMBER_SPACE_UNIT.sub(r"\1\2", run))
            elif lang == "en":
                tokens += run
            else:
                tokens += _jieba().lcut(run)
    if stopwords:
        tokens = [token for token in tokens if token not in stopwords]
    return tokens


def detect_lang(text: str | None) -> Lang:
    """"zh", "en" (any Latin-script text), "mixed", or "unknown" (no Han and no Latin letters: empty, digits,
    emoji, other scripts). A Han character and a Latin word count as one unit each; the smaller script must
    exceed `MIXED_MIN_SHARE` of the units for "mixed"."""
    text = unicodedata.normalize("NFKC", as_text(text))
    han = len(_HAN_CHAR.findall(text))
    latin = len(_LATIN_WORD.findall(text))
    if han == 0 and latin == 0:
        return "unknown"
    if min(han, latin) / (han + latin) > MIXED_MIN_SHARE:
        return "mixed"
    return "zh" if han > latin else "en"


def char_ngrams(text: str | None, n_min: int = 2, n_max: int = 3) -> list[str]:
    """Character n-grams (n_min <= n <= n_max) within each Han run and each Latin/digit word, never across a
    space, punctuation or a script change. A piece shorter than n_min is kept whole, so no text vanishes."""
    if not 1 <= n_min <= n_max:
        raise ValueError(f"need 1 <= n_min <= n_max, got n_min={n_min}, n_max={n_max}")
    grams: list[str] = []
    for run in _HAN_RUNS.split(_normalise(as_text(text))):
        for piece in _WORD.findall(run):
            if len(piece) < n_min:
                grams.append(piece)
                continue
            for n in range(n_min, min(n_max, len(piece)) + 1):
                grams += (piece[i : i + n] for i in range(len(piece) - n + 1))
    return grams


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).replace("\u2019", "'").lower()


def _split_compounds(text: str, use_jieba: bool) -> list[tuple[str, bool]]:
    """`text` as (piece, is_compound) pairs, where compounds are jieba dictionary words written in both
    scripts ("t恤", "u盘", "sim卡", "4s店") that splitting into script runs would tear apart."""
    if not use_jieba or not _HAN_CHAR.search(text):  # every compound has a Han character
        return [(text, False)]
    compounds = _compound_words()
    if compounds is None:
        return [(text, False)]
    return [(piece, i % 2 == 1) for i, piece in enumerate(compounds.split(text)) if piece]


@functools.cache
def _jieba():
    """jieba with its dictionary loaded and its "Building prefix dict..." log silenced (loaded on first use)."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


@functools.cache
def _compound_words() -> re.Pattern[str] | None:
    dictionary = _jieba().dt.FREQ  # word -> frequency; prefixes of words are stored with frequency 0
    words = {
        word.lower()
        for word, frequency in dictionary.items()
        if frequency and _LATIN_LETTER.search(word) and _HAN_CHAR.search(word)
    }
    if not words:
        return None
    alternatives = "|".join(map(re.escape, sorted(words, key=len, reverse=True)))  # longest match first
    # Not inside a longer Latin word: "iphone通话" must not yield the dictionary word "e通".
    return re.compile(f"(?<![a-z0-9])({alternatives})(?![a-z0-9])")
