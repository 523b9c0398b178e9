"""Generation tasks, each a `batch -> batch` callable: a list of source records in, a list of (text, Checks)
out, so a task runs in a plain loop or under `shoplens.scale.map_batches`.

Every draft is written under a JSON schema (validated with pydantic), checked against its own source record
(`checks.FactChecker`), and on a failed check handled by `on_fail`:
- "regenerate" (default): try again (sampled, another seed) up to `retries` times, then fall back to a
  template built only from the source (status "fallback");
- "mark": keep the first draft, status "failed" (the checks say what is wrong);
- "reject": no text, status "rejected".
Nothing that failed a check is ever returned with status "ok".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Callable

from pydantic import BaseModel, Field, ValidationError, create_model

from shoplens.generate.backends import Generator
from shoplens.generate.checks import (GENERIC_VALUES, Check, Checks, FactChecker, check_brands, check_not_copied,
                                      normalise)

ON_FAIL = ("regenerate", "mark", "reject")
GENERATED_MARK = {"zh": "（AI 生成草稿）", "en": " [AI-generated draft]"}
_CJK = re.compile(r"[\u4e00-\u9fff]")
Result = tuple[str, Checks]


def language(text: str) -> str:
    """"zh" when the text holds at least as many Han characters as Latin words (and some Han), else "en"."""
    han = len(_CJK.findall(str(text)))
    return "zh" if han and han >= len(re.findall(r"[A-Za-z]+", str(text))) else "en"


def _output_model(key: str, max_chars: int) -> type[BaseModel]:
    return create_model(f"{key.title()}Output", **{key: (str, Field(min_length=1, max_length=max_chars))})


@dataclass
class Drafter:
    """The shared loop: prompt -> schema-constrained draft -> checks -> regenerate / fallback / mark / reject."""
    generator: Generator
    on_fail: str = "regenerate"
    retries: int = 1
    max_tokens: int = 96

    def __post_init__(self):
        if self.on_fail not in ON_FAIL:
            raise ValueError(f"on_fail must be one of {', '.join(ON_FAIL)}, got {self.on_fail!r}")
        if self.retries < 0:
            raise ValueError(f"retries must be >= 0, got {self.retries}")

    def draft(self, messages: list[dict], key: str, max_chars: int, check: Callable[[str], list[Check]],
              fallback: Callable[[], str] | None, seed: int = 0, repair: Callable[[str], str] | None = None) -> Result:
        # the schema allows a little over the limit so a long draft is caught by the length check, not cut
        schema = _output_model(key, max_chars * 2).model_json_schema()
        attempts = 1 + (self.retries if self.on_fail == "regenerate" else 0)
        first = None
        for attempt in range(attempts):
            raw = self.generator.generate(messages, schema=schema, max_tokens=self.max_tokens,
                                          temperature=0.0 if attempt == 0 else 0.7, seed=seed + attempt)
            text, results = self.parse(raw, key, max_chars * 2)
            if text and repair is not None:  # a deterministic fix from the source, e.g. the missing brand
                text = repair(text)
            results = results or check(text)
            first = first or (text, results)
            if all(c.passed for c in results):
                return text, Checks(results, "ok" if attempt == 0 else "regenerated", attempt + 1)
        if self.on_fail == "mark":
            return first[0], Checks(first[1], "failed", attempts)
        rejected = Checks(first[1]).problems()
        if self.on_fail == "regenerate" and fallback is not None:
            text = fallback()
            return text, Checks(check(text), "fallback", attempts, rejected)
        return "", Checks(first[1], "rejected", attempts, rejected)

    @staticmethod
    def parse(raw: str, key: str, max_chars: int) -> tuple[str, list[Check]]:
        """The draft's text, or "" with a failed `format` check when the output is not the schema's JSON
        (e.g. cut off by max_tokens)."""
        model = _output_model(key, max_chars)
        try:
            return getattr(model.model_validate_json(raw), key).strip(), []
        except ValidationError:
            try:  # over-long but well-formed: keep the text, the length check reports it
                value = json.loads(raw).get(key)
                if isinstance(value, str) and value.strip():
                    return value.strip(), []
            except (json.JSONDecodeError, AttributeError):
                pass
            return "", [Check("format", False, [f"not the {key!r} JSON: {' '.join(raw.split())[:80]}"])]


def attribute_pairs(record: dict) -> list[tuple[str, str]]:
    """A record's attributes as (key, value) pairs: `attributes` (a dict, a list of pairs, or EcomGPT's
    `k#:#v#;#k#:#v` text), else its brand/category/description/price/title fields."""
    attributes = record.get("attributes")
    if isinstance(attributes, str):
        pairs = [tuple(p.split("#:#", 1)) for p in attributes.split("#;#") if "#:#" in p]
    elif isinstance(attributes, dict):
        pairs = list(attributes.items())
    elif attributes:
        pairs = [tuple(p) for p in attributes]
    else:
        pairs = [(k, record[k]) for k in ("brand", "category", "title", "description", "price")
                 if record.get(k) not in (None, "") and record.get(k) == record.get(k)]
    return [(str(k).strip(), str(v).strip()) for k, v in pairs if str(v).strip()]


BRAND_KEYS = ("品牌", "brand")


def record_brand(record: dict, pairs: list[tuple[str, str]]) -> str | None:
    """The item's brand; a placeholder such as 其他品牌 or other/其他 is no brand."""
    brand = record.get("brand")
    if not (isinstance(brand, str) and brand.strip()):
        brand = next((v for k, v in pairs if k.lower() in BRAND_KEYS), None)
    if brand is None or all(normalise(b) in GENERIC_VALUES for b in brand.split("/")):
        return None
    return brand.strip()


def template_title(pairs: list[tuple[str, str]], brand: str | None, max_chars: int, lang: str) -> str:
    """Brand + whole attribute values in order while they fit in `max_chars` (the peer baseline; faithful by
    construction: a value is never cut, so no number is cut into another)."""
    values = [brand] if brand else []
    values += [v for k, v in pairs if v != brand and k.lower() not in ("description", "描述")
               and not all(normalise(part) in GENERIC_VALUES for part in v.split("/"))]
    text = ""
    for value in dict.fromkeys(values):  # zh: no spaces, except between two Latin/digit ends (K40 256GB)
        glue = lang != "zh" or (text[-1:].isascii() and text[-1:].isalnum() and value[:1].isascii()
                                and value[:1].isalnum())
        joined = text + (" " if text and glue else "") + value
        if len(joined) > max_chars:
            if not text:  # even the first value is too long: its first words
                text = value[:max_chars].rsplit(" ", 1)[0] if " " in value[:max_chars] else value[:max_chars]
            continue
        text = joined
    return text.strip()


def with_brand(title: str, brand: str | None, lang: str) -> str:
    """The title with the item's brand in front when it names none of the brand's spellings."""
    if not brand or not check_brands(title, "", brand, require_brand=True).problems:
        return title
    return f"{brand}{'' if lang == 'zh' else ' '}{title}"


@dataclass
class TitleTask:
    """Product titles from attributes, zh or en (by the source's script unless `lang` is given).

    catalogue_brands: every brand of the catalogue (a title may name no other); vocabulary: {attribute key:
    values seen in the catalogue} (a title may not name another value of the item's own keys);
    examples: (attributes text, title) pairs shown in the prompt — never from the scored rows."""
    drafter: Drafter
    max_chars: int | None = None
    lang: str | None = None
    catalogue_brands: tuple = ()
    vocabulary: dict = field(default_factory=dict)
    examples: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, records: list[dict]) -> list[Result]:
        return [self.one(r, seed=i) for i, r in enumerate(records)]

    def one(self, record: dict, seed: int = 0) -> Result:
        pairs = attribute_pairs(record)
        source = "\n".join(f"{k}: {v}" for k, v in pairs)
        lang = self.lang or language(source)
        limit = self.max_chars or (30 if lang == "zh" else 80)
        brand = record_brand(record, pairs)
        if lang == "zh":
            instruction = (f"根据商品属性写一个中文商品标题，不超过{limit}个字，以品牌开头。只能使用属性里出现的品牌、型号、"
                           "数字和规格，不要编造属性里没有的信息。只输出 JSON：{\"title\": \"...\"}")
        else:
            instruction = (f"Write one product title of at most {limit} characters from the attributes, starting with "
                           "the brand. Use only brands, model names, numbers and sizes that appear in the attributes; "
                           "invent nothing. Answer with JSON only: {\"title\": \"...\"}")
        messages = [{"role": "system", "content": instruction}]
        for shown, title in self.examples:
            messages += [{"role": "user", "content": shown}, {"role": "assistant", "content": json.dumps(
                {"title": title}, ensure_ascii=False)}]
        messages.append({"role": "user", "content": source})
        checker = FactChecker(latin="all", require_brand=bool(brand), max_chars=limit)
        own = {k: v for k, v in pairs if k in self.vocabulary}
        shown_titles = [title for _, title in self.examples]

        def check(text: str) -> list[Check]:
            results = checker(text, source, brand=brand, catalogue_brands=self.catalogue_brands,
                              item_attributes=own, vocabulary=self.vocabulary)
            return results + ([check_not_copied(text, source, shown_titles)] if shown_titles else [])

        return self.drafter.draft(messages, "title", limit, check, lambda: template_title(pairs, brand, limit, lang),
                                  seed=seed, repair=lambda text: with_brand(text, brand, lang))


def _first_sentences(text: str, max_chars: int) -> str:
    """Whole leading sentences of `text` within max_chars (or the first sentence cut at max_chars)."""
    from shoplens.generate.checks import sentences

    kept = ""
    for sentence in sentences(text):
        if len(kept) + len(sentence) + 1 > max_chars:
            break
        kept = f"{kept} {sentence}".strip() if not _CJK.search(sentence) else kept + sentence
    return kept or str(text).strip()[:max_chars]


@dataclass
class SummaryTask:
    """Short description summaries for listing cards and search snippets; each sentence must be supported
    by the source (`support_threshold` of its content units), fallback: the description's leading sentences."""
    drafter: Drafter
    max_chars: int | None = None
    support_threshold: float = 0.6
    catalogue_brands: tuple = ()

    def __call__(self, records: list[dict]) -> list[Result]:
        return [self.one(r, seed=i) for i, r in enumerate(records)]

    def one(self, record: dict, seed: int = 0) -> Result:
        description = str(record.get("description") or "")
        if not description.strip():
            return "", Checks([Check("source", False, ["no description to summarise"])], "rejected", 0)
        source = "\n".join(str(record[k]) for k in ("title", "brand", "description") if record.get(k))
        lang = language(description)
        limit = self.max_chars or (60 if lang == "zh" else 160)
        if lang == "zh":
            instruction = (f"用一两句话概括商品描述，不超过{limit}个字，只写描述里有的事实，不要添加数字、型号或品牌。"
                           "只输出 JSON：{\"summary\": \"...\"}")
        else:
            instruction = (f"Summarise the product description in one or two sentences, at most {limit} characters. "
                           "State only facts from the description; add no numbers, models or brands. "
                           "Answer with JSON only: {\"summary\": \"...\"}")
        messages = [{"role": "system", "content": instruction}, {"role": "user", "content": source}]
        brand = record.get("brand") or None
        checker = FactChecker(latin="all" if lang == "zh" else "names", support_threshold=self.support_threshold,
                              max_chars=limit)
        check = lambda text: checker(text, source, brand=brand, catalogue_brands=self.catalogue_brands)  # noqa: E731
        return self.drafter.draft(messages, "summary", limit, check,
                                  lambda: _first_sentences(description, limit), seed=seed)


REPLY_TEMPLATES = {
    ("zh", True): "感谢您的评价和支持，欢迎再次光临！",
    ("zh", False): "非常抱歉给您带来不好的体验，我们会认真改进，请联系客服为您处理。",
    ("en", True): "Thank you for your review and your support. We hope to see you again!",
    ("en", False): "We are sorry about your experience. We will look into it; please contact our support team.",
}


@dataclass
class ReplyTask:
    """A merchant's reply to a review: thanks, or an apology for a low rating, addressing what the review
    raised; it may name no number, model or brand the review and item do not hold."""
    drafter: Drafter
    max_chars: int | None = None
    catalogue_brands: tuple = ()

    def __call__(self, records: list[dict]) -> list[Result]:
        return [self.one(r, seed=i) for i, r in enumerate(records)]

    def one(self, record: dict, seed: int = 0) -> Result:
        text = str(record.get("text") or "")
        rating = record.get("rating")
        positive = rating is None or rating != rating or float(rating) >= 3
        lang = language(text) if text.strip() else "zh"
        limit = self.max_chars or (80 if lang == "zh" else 240)
        source = "\n".join(str(record[k]) for k in ("title", "brand", "text") if record.get(k))
        stars = "" if rating is None or rating != rating else f"{int(rating)}/5"
        if lang == "zh":
            tone = "感谢顾客" if positive else "向顾客道歉并说明会如何改进"
            instruction = (f"你是店铺客服。针对顾客评价写一条回复（{tone}），回应评价提到的问题，不超过{limit}个字。"
                           "不要承诺具体金额或日期，不要提评价里没有的数字、型号或品牌。只输出 JSON：{\"reply\": \"...\"}")
        else:
            tone = "thank the customer" if positive else "apologise and say how it will be put right"
            instruction = (f"You are the shop's customer service. Reply to the review ({tone}), addressing what it "
                           f"raises, in at most {limit} characters. Promise no amounts or dates; name no number, "
                           "model or brand the review does not. Answer with JSON only: {\"reply\": \"...\"}")
        messages = [{"role": "system", "content": instruction},
                    {"role": "user", "content": f"{stars} {source}".strip()}]
        checker = FactChecker(latin="all" if lang == "zh" else "names", max_chars=limit)
        check = lambda reply: checker(reply, f"{stars}\n{source}", brand=record.get("brand") or None,  # noqa: E731
                                      catalogue_brands=self.catalogue_brands)
        return self.drafter.draft(messages, "reply", limit, check,
                                  lambda: REPLY_TEMPLATES[(lang, positive)], seed=seed)


@dataclass
class ReviewDraftTask:
    """A review draft from a buyer's own notes, always marked as generated (GENERATED_MARK is appended);
    fallback: the buyer's notes themselves."""
    drafter: Drafter
    max_chars: int | None = None
    catalogue_brands: tuple = ()

    def __call__(self, records: list[dict]) -> list[Result]:
        return [self.one(r, seed=i) for i, r in enumerate(records)]

    def one(self, record: dict, seed: int = 0) -> Result:
        notes = str(record.get("notes") or "").strip()
        if not notes:
            return "", Checks([Check("source", False, ["no buyer notes to draft from"])], "rejected", 0)
        lang = language(notes + str(record.get("title") or ""))
        limit = self.max_chars or (120 if lang == "zh" else 300)
        rating = record.get("rating")
        stars = f"{int(rating)}/5" if rating is not None else ""
        parts = (str(record.get("title") or ""), str(record.get("brand") or ""), stars, notes)
        source = "\n".join(x for x in parts if x)
        if lang == "zh":
            instruction = (f"根据买家的要点写一条商品评价草稿，不超过{limit}个字，只写要点里的内容。只输出 JSON：{{\"review\": \"...\"}}")
        else:
            instruction = (f"Write a product review draft from the buyer's notes, at most {limit} characters, saying "
                           "only what the notes say. Answer with JSON only: {\"review\": \"...\"}")
        messages = [{"role": "system", "content": instruction}, {"role": "user", "content": source}]
        checker = FactChecker(latin="all" if lang == "zh" else "names", max_chars=limit)
        check = lambda text: checker(text, source, brand=record.get("brand") or None,  # noqa: E731
                                     catalogue_brands=self.catalogue_brands)
        text, checks = self.drafter.draft(messages, "review", limit, check, lambda: notes[:limit], seed=seed)
        return (text + GENERATED_MARK[lang] if text else text), checks


def profile_facts(profile: dict, lang: str) -> list[str]:
    """The facts a narrative may use: top categories and brands with shares, price band, drift."""
    pct = lambda e: f"{e['name']} {round(100 * e['share'])}%"  # noqa: E731
    zh = lang == "zh"
    facts = []
    if profile.get("categories"):
        facts.append(("常看类目: " if zh else "categories: ") + ", ".join(pct(e) for e in profile["categories"]))
    if profile.get("brands"):
        facts.append(("常看品牌: " if zh else "brands: ") + ", ".join(pct(e) for e in profile["brands"]))
    band = (profile.get("price") or {}).get("band")
    if band:
        facts.append(("价格带: " if zh else "price band: ") + str(band))
    drift = profile.get("drift") or {}
    if drift.get("rising"):
        facts.append(("兴趣上升: " if zh else "rising: ") + ", ".join(drift["rising"]))
    if drift.get("fading"):
        facts.append(("兴趣减弱: " if zh else "fading: ") + ", ".join(drift["fading"]))
    return facts


def _join_within(parts: list[str], sep: str, max_chars: int) -> str:
    """Whole parts joined while they fit in max_chars (at least the first part, cut)."""
    kept = parts[0][:max_chars]
    for part in parts[1:]:
        if len(kept) + len(sep) + len(part) > max_chars:
            break
        kept += sep + part
    return kept


@dataclass
class NarrativeTask:
    """A user's interests in words, from their profile (`shoplens profile`), naming only the categories and
    brands the profile holds; fallback: the profile's facts as one sentence."""
    drafter: Drafter
    lang: str = "zh"
    max_chars: int | None = None
    catalogue_brands: tuple = ()
    catalogue_categories: tuple = ()

    def __call__(self, records: list[dict]) -> list[Result]:
        return [self.one(r, seed=i) for i, r in enumerate(records)]

    def one(self, profile: dict, seed: int = 0) -> Result:
        facts = profile_facts(profile, self.lang)
        if not facts:
            return "", Checks([Check("source", False, ["the profile holds no categories or brands"])], "rejected", 0)
        source = "\n".join(facts)
        limit = self.max_chars or (100 if self.lang == "zh" else 280)
        if self.lang == "zh":
            instruction = (f"根据用户画像，用一两句话描述这位用户的兴趣，不超过{limit}个字。只能提到画像里的类目、品牌和价格带，"
                           "不要推测年龄、性别或其他信息。只输出 JSON：{\"narrative\": \"...\"}")
        else:
            instruction = (f"Describe this user's interests in one or two sentences, at most {limit} characters, from "
                           "the profile. Name only its categories, brands and price band; guess nothing else. "
                           "Answer with JSON only: {\"narrative\": \"...\"}")
        messages = [{"role": "system", "content": instruction}, {"role": "user", "content": source}]
        checker = FactChecker(latin="all" if self.lang == "zh" else "names", max_chars=limit)
        check = lambda text: checker(text, source, catalogue_brands=self.catalogue_brands,  # noqa: E731
                                     catalogue_categories=self.catalogue_categories)
        fallback = lambda: _join_within(facts, "；" if self.lang == "zh" else "; ", limit)  # noqa: E731
        return self.drafter.draft(messages, "narrative", limit, check, fallback, seed=seed)
