"""Faithfulness checks: pure functions comparing a generated text with the source it was written from.

Small models invent model numbers, capacities and brands. Every draft is checked against its source:
- numbers: every number in the output (with its unit: 256GB = 256 GB = 256 gb, 1.5L = 1.5 l, 500毫升 = 500ml,
  55寸 = 55英寸 = 55 inch) occurs in the source;
- latin: every Latin/alphanumeric token (model numbers, brands, "Mate 10 Pro") occurs in the source;
  in "names" mode only tokens that look like names (a digit, an inner capital, all capitals, or a capital
  inside a sentence) are checked, for English prose such as replies, where ordinary words must be allowed;
- brands: the item's own brand appears (when required) and no other catalogue brand absent from the source does;
- attributes: no value of an attribute key that contradicts the item's own value (another colour, size...);
- support: for summaries, each sentence's share of content units (CJK characters, Latin words) found in the source.
The checker never calls a model: a small model as its own judge was at chance.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

# unit spellings -> one canonical unit; longest spellings first so 千克 is not read as 克
UNIT_ALIASES = {
    "gb": "gb", "tb": "tb", "mb": "mb", "kb": "kb", "ghz": "ghz", "mhz": "mhz", "hz": "hz",
    "mah": "mah", "kg": "kg", "mg": "mg", "g": "g", "ml": "ml", "l": "l", "cm": "cm", "mm": "mm", "m": "m",
    "km": "km", "w": "w", "kw": "kw", "v": "v", "a": "a", "inch": "inch", "inches": "inch", "in": "inch",
    "oz": "oz", "lb": "lb", "lbs": "lb", "pcs": "pcs", "pc": "pcs", "%": "%", "mp": "mp", "k": "k", "x": "x",
    "千克": "kg", "公斤": "kg", "毫克": "mg", "克": "g", "斤": "斤", "毫升": "ml", "升": "l", "英寸": "inch",
    "寸": "inch", "厘米": "cm", "公分": "cm", "毫米": "mm", "米": "m", "千米": "km", "公里": "km", "瓦": "w",
    "伏": "v", "毫安": "mah", "毫安时": "mah", "片": "pcs", "个": "pcs", "件": "pcs", "支": "pcs", "包": "pcs",
    "袋": "pcs", "盒": "pcs", "瓶": "pcs", "寸屏": "inch",
}
_UNITS = sorted(UNIT_ALIASES, key=len, reverse=True)
_UNIT_RE = "|".join(re.escape(u) for u in _UNITS)
# a number (1,000 / 1.5 / 256), then optional spaces and a unit; a Latin unit must end the Latin run
_NUMBER = re.compile(rf"(?<![0-9.])(\d+(?:,\d{{3}})*(?:\.\d+)?)(?:\s*({_UNIT_RE})(?![a-z]))?")
_LATIN_RUN = re.compile(r"[a-z0-9]+(?:[-'’+&.][a-z0-9]+)*")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_SENTENCE = re.compile(r"[^。！？!?；;\n]+(?:[。！？!?；;\n]|$)|[^.]+(?:\.(?=\s|$)|$)")
ALWAYS_ALLOWED = frozenset("a an and the of for with in on to by from or is are it this that as at".split())


def normalise(text: str) -> str:
    """Full-width -> half-width (NFKC), lower case, one space between words."""
    return " ".join(unicodedata.normalize("NFKC", str(text)).lower().split())


def _number_value(raw: str) -> str:
    value = float(raw.replace(",", ""))
    return f"{value:g}" if value != int(value) else str(int(value))


def quantities(text: str) -> list[tuple[str, str | None, str]]:
    """(value, canonical unit or None, as written) for every number in `text` that is not part of a Latin
    token such as a model number (those are checked as tokens)."""
    norm = normalise(text)
    found = []
    for m in _NUMBER.finditer(norm):
        before = norm[m.start() - 1] if m.start() else " "
        after = norm[m.end()] if m.end() < len(norm) else " "
        if (before.isascii() and before.isalpha()) or (m.group(2) is None and after.isascii() and after.isalpha()):
            continue  # inside a Latin run: mate10, x200s
        unit = UNIT_ALIASES[m.group(2)] if m.group(2) else None
        found.append((_number_value(m.group(1)), unit, m.group(0).strip()))
    return found


def _source_quantities(text: str) -> tuple[set[tuple[str, str | None]], set[str]]:
    """The source is read generously: (value, unit) pairs, and every digit run anywhere as a bare value."""
    pairs = {(v, u) for v, u, _ in quantities(text)}
    values = {_number_value(d) for d in re.findall(r"\d+(?:,\d{3})*(?:\.\d+)?", normalise(text))}
    return pairs, values | {v for v, _ in pairs}


_KEPT = re.compile(r"[0-9a-z\u4e00-\u9fff]")


def _compact(text: str) -> str:
    return "".join(_KEPT.findall(normalise(text)))


@dataclass(frozen=True)
class Indexed:
    """A source with punctuation and spaces removed, remembering where its words started and ended, so that
    "USB-C" matches "usb c" and "Mate10" matches "Mate 10" without "anker" matching inside "brandanker"."""
    compact: str
    starts: frozenset
    ends: frozenset

    @classmethod
    def of(cls, text: str) -> "Indexed":
        chars, starts, ends, gap = [], set(), set(), True
        for ch in normalise(text):
            if _KEPT.match(ch):
                if gap:
                    starts.add(len(chars))
                chars.append(ch)
                gap = False
            elif not gap:
                ends.add(len(chars))
                gap = True
        ends.add(len(chars))
        return cls("".join(chars), frozenset(starts), frozenset(ends))


def _latin_letter(ch: str) -> bool:
    return ch.isascii() and ch.isalpha()


def _occurs(token: str, source: "Indexed | str") -> bool:
    """`token` occurs in the source not glued to other Latin letters: "mate" occurs in "mate10", "pro" in
    "15pro", "anker" in "brand: anker", but "sony" does not occur in "sonya"."""
    source = source if isinstance(source, Indexed) else Indexed.of(source)
    needle, text = _compact(token), source.compact
    if not needle:
        return True
    for m in re.finditer(re.escape(needle), text):
        before = text[m.start() - 1] if m.start() else ""
        after = text[m.end()] if m.end() < len(text) else ""
        left = m.start() in source.starts or not (_latin_letter(needle[0]) and _latin_letter(before))
        right = m.end() in source.ends or not (_latin_letter(needle[-1]) and _latin_letter(after))
        if left and right:
            return True
    return False


def latin_tokens(text: str, mode: str = "all") -> list[str]:
    """Latin/alphanumeric tokens of `text` that must be supported, as written. Tokens that are quantities
    (256gb, 1.5l) are left to the number check. mode "names": only name-like tokens."""
    if mode not in ("all", "names"):
        raise ValueError(f"mode must be 'all' or 'names', got {mode!r}")
    original = unicodedata.normalize("NFKC", str(text))
    tokens = []
    for m in re.finditer(r"[A-Za-z0-9]+(?:[-'’+&.][A-Za-z0-9]+)*", original):
        token = m.group(0)
        if not re.search(r"[A-Za-z]", token) or _NUMBER.fullmatch(token.lower()):
            continue
        if token.lower() in ALWAYS_ALLOWED:
            continue
        if mode == "names" and not _looks_like_name(token, original[:m.start()]):
            continue
        tokens.append(token)
    return tokens


def _looks_like_name(token: str, before: str) -> bool:
    if re.search(r"\d", token) or re.search(r"[A-Z]", token[1:]):
        return True  # X200, iPhone, USB
    starts_sentence = not before.strip() or before.rstrip()[-1] in ".!?。！？:：\n"
    return token[0].isupper() and not starts_sentence


@dataclass
class Check:
    name: str
    passed: bool
    problems: list[str] = field(default_factory=list)  # what is unsupported, in the output's own spelling
    score: float | None = None

    def to_dict(self) -> dict:
        out = {"name": self.name, "passed": self.passed, "problems": self.problems}
        return out if self.score is None else {**out, "score": round(self.score, 4)}


def check_numbers(output: str, source: str) -> Check:
    pairs, values = _source_quantities(source)
    problems = []
    for value, unit, written in quantities(output):
        supported = ((value, unit) in pairs or (value, None) in pairs) if unit else value in values
        if not supported:
            problems.append(written)
    return Check("numbers", not problems, problems)


def check_latin(output: str, source: str, mode: str = "all") -> Check:
    indexed = Indexed.of(source)
    problems = [t for t in latin_tokens(output, mode) if not _occurs(t, indexed)]
    return Check("latin", not problems, problems)


def _mentions(text_norm: str, name: str) -> bool:
    name = normalise(name)
    if not name:
        return False
    if _CJK.search(name) and not re.search(r"[a-z0-9]", name):
        return name in text_norm
    return _occurs(name, text_norm)


def check_names(output: str, source: str, names, label: str, own: str | None = None) -> list[str]:
    """Names from a closed list (catalogue brands, category names) that the output mentions and the source
    does not; a name that is part of `own` (e.g. "Sony" in "Sony Music") is not counted."""
    out, src, own_n = normalise(output), normalise(source), normalise(own or "")
    problems = []
    for name in dict.fromkeys(names):
        name_n = normalise(name)
        if not name_n or name_n == own_n or (own_n and name_n in own_n):
            continue
        if _mentions(out, name) and not _mentions(src, name):
            problems.append(f"{label} {name}")
    return problems


def check_brands(output: str, source: str, brand: str | None = None, catalogue_brands=(),
                 require_brand: bool = True) -> Check:
    """The item's brand appears (if `require_brand` and it has one); no catalogue brand appears that the source
    does not mention."""
    problems = []
    spellings = [b for b in re.split(r"\s*/\s*", brand or "") if b]  # Taobao's "Laneige/兰芝": either will do
    if brand and require_brand and not any(_mentions(normalise(output), b) for b in spellings):
        problems.append(f"missing brand {brand}")
    problems += check_names(output, source, catalogue_brands, "other brand", own=brand)
    return Check("brands", not problems, problems)


def check_categories(output: str, source: str, catalogue_categories=()) -> Check:
    """No category of the catalogue that the source does not hold (for narratives: only the profile's)."""
    problems = check_names(output, source, catalogue_categories, "category")
    return Check("categories", not problems, problems)


GENERIC_VALUES = frozenset(["其他", "其它", "其他品牌", "other", "others", "无", "否", "是", "通用", "常规", "见描述",
                            "none", "n/a", "不详"])


def check_attributes(output: str, item_attributes: dict[str, str], vocabulary: dict[str, set[str]],
                     source: str = "") -> Check:
    """Values from the catalogue's attribute vocabulary ({key: values}) that the output names and the source
    does not: for a key the item has, another value contradicts it (another colour, size or material); for a key
    it lacks, the value is unsupported (an origin "韩国" the item never states). Values shorter than two
    characters and generic ones (其他, 通用 ...) are not looked for."""
    out, src = normalise(output), normalise(source)
    problems = []
    for key, values in vocabulary.items():
        own = item_attributes.get(key)
        own_n = normalise(own or "")
        for value in sorted(values):
            value_n = normalise(value)
            if len(value_n) < 2 or value_n in GENERIC_VALUES or value_n == own_n or value_n in own_n \
                    or value_n in src or not _mentions(out, value):
                continue
            problems.append(f"{key}: {value} (the item's is {own})" if own else f"{key}: {value} (not the item's)")
    return Check("attributes", not problems, problems)


def content_units(text: str) -> list[str]:
    """CJK characters and Latin words (not the always-allowed function words)."""
    norm = normalise(text)
    return _CJK.findall(norm) + [w for w in _LATIN_RUN.findall(norm) if w not in ALWAYS_ALLOWED]


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(str(text)) if s.strip()]


def check_support(output: str, source: str, threshold: float = 0.6) -> Check:
    """Each sentence's share of content units found in the source; the check holds when every sentence's
    share reaches `threshold`. `score` is the weakest sentence's share."""
    src_units = set(content_units(source))
    src_indexed = Indexed.of(source)
    problems, weakest = [], 1.0
    for sentence in sentences(output):
        units = content_units(sentence)
        if not units:
            continue
        share = sum(u in src_units or _occurs(u, src_indexed) for u in units) / len(units)
        weakest = min(weakest, share)
        if share < threshold:
            problems.append(f"{share:.0%} supported: {sentence}")
    return Check("support", not problems, problems, score=weakest)


def _bigrams(text: str) -> set[str]:
    compact = _compact(text)
    return {compact[i:i + 2] for i in range(len(compact) - 1)}


def check_not_copied(output: str, source: str, examples=(), max_share: float = 0.3) -> Check:
    """Small models parrot their few-shot examples: the share of the output's character bigrams that occur in
    an example's text and not in the source must stay under `max_share`."""
    own, src = _bigrams(output), _bigrams(source)
    problems = []
    for example in examples:
        leaked = (own & _bigrams(example)) - src
        if own and len(leaked) / len(own) > max_share:
            problems.append(f"{len(leaked) / len(own):.0%} copied from the example {example}")
    return Check("not_copied", not problems, problems)


def check_not_empty(output: str) -> Check:
    return Check("not_empty", bool(str(output).strip()), [] if str(output).strip() else ["empty output"])


def check_length(output: str, max_chars: int) -> Check:
    n = len(str(output).strip())
    return Check("length", n <= max_chars, [] if n <= max_chars else [f"{n} characters > {max_chars}"])


@dataclass
class Checks:
    """The checks of one draft and what was done about a failure: status is "ok" (first draft passed),
    "regenerated" (a later draft passed), "fallback" (a template was used), "failed" (kept, marked) or
    "rejected" (no text)."""
    results: list[Check]
    status: str | None = None  # None: "ok" when every check passed, else "failed"
    attempts: int = 1
    rejected: list[str] = field(default_factory=list)  # the problems of the model's draft that was not used

    def __post_init__(self):
        if self.status is None:
            self.status = "ok" if self.passed else "failed"

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.results)

    @property
    def failed(self) -> list[str]:
        return [c.name for c in self.results if not c.passed]

    def problems(self) -> list[str]:
        return [f"{c.name}: {p}" for c in self.results for p in c.problems]

    def to_dict(self) -> dict:
        return {"passed": self.passed, "status": self.status, "attempts": self.attempts, "failed": self.failed,
                "checks": [c.to_dict() for c in self.results], "rejected_draft_problems": self.rejected}


@dataclass
class FactChecker:
    """Which checks a task runs. `latin`: "all" (titles, zh text) or "names" (English prose)."""
    latin: str = "all"
    brands: bool = True
    require_brand: bool = False
    support_threshold: float | None = None
    max_chars: int | None = None

    def __call__(self, output: str, source: str, *, brand: str | None = None, catalogue_brands=(),
                 catalogue_categories=(), item_attributes: dict | None = None,
                 vocabulary: dict | None = None) -> list[Check]:
        results = [check_not_empty(output), check_numbers(output, source), check_latin(output, source, self.latin)]
        if self.brands:
            results.append(check_brands(output, source, brand, catalogue_brands, self.require_brand))
        if catalogue_categories:
            results.append(check_categories(output, source, catalogue_categories))
        if vocabulary:
            results.append(check_attributes(output, item_attributes or {}, vocabulary, source))
        if self.support_threshold is not None:
            results.append(check_support(output, source, self.support_threshold))
        if self.max_chars is not None:
            results.append(check_length(output, self.max_chars))
        return results
