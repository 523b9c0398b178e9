"""`shoplens bench generate`: Chinese product titles from attributes with a local LLM, and the faithfulness
checker as a classifier.

Titles (EcomGPT held-out `ZH-OpenBG_Align-Generate-title_generate`, 250 Taobao items, attributes -> real title):
rows 0-29 are the development rows (prompt wording and the few-shot examples come only from them); the scored
sample is the next `n` rows (30 .. 30+n-1), never used for development. Per model, in one run: character
ROUGE-L F1 against the real title (whitespace removed, lower case), the share of first drafts passing every
check and of final outputs (after a regeneration and the template fallback), unsupported numbers and Latin
tokens in first drafts and final outputs, brand present, tokens/s, seconds per item, load seconds, peak RSS.
Peer baseline on the same rows: brand + attribute values concatenated to 30 characters (the fallback template).

Checker (`ZH-OpenBG_Align-CLS-title_attribute_matching`, 500 title/attribute pairs): the rule checks (numbers,
Latin tokens, brand) and the support score (share of the title's characters and words found in the attributes)
as match / not-match classifiers; the support threshold is chosen on rows 0-249 and scored on rows 250-499,
against the majority class.
"""

from __future__ import annotations

import os
import resource
import time

import numpy as np
import pandas as pd

from shoplens.bench.harness import BenchResult, Stopwatch
from shoplens.generate.checks import check_brands, check_latin, check_numbers, check_support
from shoplens.generate.tasks import Drafter, TitleTask, attribute_pairs, record_brand, template_title

DATASET = "ecomgpt-heldout-zh-en"
TITLES = "ZH-OpenBG_Align-Generate-title_generate"
MATCHING = "ZH-OpenBG_Align-CLS-title_attribute_matching"
DEV_ROWS = 30
MAX_CHARS = 30


def rouge_l(candidate: str, reference: str) -> float:
    """Character ROUGE-L F1 (longest common subsequence), whitespace removed, lower case."""
    a, b = "".join(str(candidate).lower().split()), "".join(str(reference).lower().split())
    if not a or not b:
        return 0.0
    previous = [0] * (len(b) + 1)
    for ch in a:
        current = [0]
        for j, other in enumerate(b, 1):
            current.append(previous[j - 1] + 1 if ch == other else max(previous[j], current[j - 1]))
        previous = current
    lcs = previous[-1]
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(a), lcs / len(b)
    return 2 * precision * recall / (precision + recall)


def _faithfulness(text: str, record: dict) -> dict:
    pairs = attribute_pairs(record)
    source = "\n".join(f"{k}: {v}" for k, v in pairs)
    brand = record_brand(record, pairs)
    return {"unsupported_numbers": len(check_numbers(text, source).problems),
            "unsupported_latin": len(check_latin(text, source).problems),
            "brand_present": None if not brand else check_brands(text, source, brand).passed}


def _vocabulary(records: list[dict]) -> tuple[tuple, dict]:
    """Catalogue brands and {attribute key: values} from the attributes of all 250 items (inputs only)."""
    brands, vocabulary = set(), {}
    for record in records:
        pairs = attribute_pairs(record)
        brand = record_brand(record, pairs)
        if brand:
            brands.update(b for b in brand.split("/") if len(b) >= 2)
        for key, value in pairs:
            if key in ("颜色分类", "颜色", "材质", "面料", "适用季节", "产地", "国家/地区", "款式"):
                vocabulary.setdefault(key, set()).add(value)
    return tuple(sorted(brands)), vocabulary


def _summary(rows: pd.DataFrame, prefix: str) -> dict:
    brand = rows[f"{prefix}brand_present"].dropna()
    return {"rouge_l": round(float(rows[f"{prefix}rouge_l"].mean()), 4),
            "unsupported_numbers": int(rows[f"{prefix}unsupported_numbers"].sum()),
            "unsupported_latin": int(rows[f"{prefix}unsupported_latin"].sum()),
            "brand_present": round(float(brand.astype(bool).mean()), 4) if len(brand) else None}


def titles(generator, n: int = 30, split: str = "scored", shots: int = 2, data=None) -> tuple[dict, list[dict]]:
    """Generate and score titles on the chosen rows; returns (metrics, per-row table)."""
    from shoplens.datasets.public import load

    examples = load(DATASET, data, subset=TITLES)["examples"]
    if split not in ("dev", "scored"):
        raise ValueError(f"split must be dev or scored, got {split!r}")
    if shots > DEV_ROWS:
        raise ValueError(f"at most {DEV_ROWS} few-shot examples (they come from the development rows)")
    start = 0 if split == "dev" else DEV_ROWS
    stop = DEV_ROWS if split == "dev" else len(examples)
    if not 1 <= n <= stop - start:
        raise ValueError(f"n must be between 1 and {stop - start} for the {split} rows")
    rows = examples.iloc[start:start + n]
    records = [{"attributes": a} for a in rows["input"]]
    brands, vocabulary = _vocabulary([{"attributes": a} for a in examples["input"]])
    shown = [("\n".join(f"{k}: {v}" for k, v in attribute_pairs({"attributes": a})), t)
             for a, t in zip(examples["input"].iloc[:shots], examples["output"].iloc[:shots])]
    first_drafts: list[str] = []

    class FirstDraft:  # records each record's first draft, before checks act on it
        def __init__(self, inner):
            self.inner, self.name, self.usage = inner, inner.name, inner.usage

        def generate(self, messages, **kw):
            text = self.inner.generate(messages, **kw)
            if kw.get("temperature", 0.0) == 0.0:
                first_drafts.append(text)
            return text

    task = TitleTask(Drafter(FirstDraft(generator), max_tokens=64), max_chars=MAX_CHARS, lang="zh",
                     catalogue_brands=brands, vocabulary=vocabulary, examples=shown)
    load_before = os.getloadavg()[0]  # the machine is shared: tokens/s depends on what else runs
    load_start = time.perf_counter()
    generator.generate("你好", max_tokens=1)  # load the model outside the timed generation
    load_seconds = time.perf_counter() - load_start
    before = dict(generator.usage)
    with Stopwatch() as sw:
        results = task(records)
    table = []
    for record, reference, raw, (text, checks) in zip(records, rows["output"], first_drafts, results):
        first = Drafter.parse(raw, "title", MAX_CHARS * 2)[0]
        baseline = template_title(attribute_pairs(record), record_brand(record, attribute_pairs(record)),
                                  MAX_CHARS, "zh")
        row = {"reference": reference, "first_draft": first, "output": text, "status": checks.status,
               "passed": checks.passed,
               "problems": "; ".join(checks.problems()), "rejected_draft_problems": "; ".join(checks.rejected),
               "baseline": baseline}
        for prefix, candidate in (("first_", first), ("", text), ("baseline_", baseline)):
            row[f"{prefix}rouge_l"] = rouge_l(candidate, reference)
            row |= {f"{prefix}{k}": v for k, v in _faithfulness(candidate, record).items()}
        table.append(row)
    frame = pd.DataFrame(table)
    tokens = generator.usage["completion_tokens"] - before["completion_tokens"]
    gen_seconds = generator.usage["seconds"] - before["seconds"]
    statuses = frame["status"].value_counts().to_dict()
    metrics = {
        "n": n, "rows": f"{start}..{start + n - 1}", "split": split, "shots": shots, "model": generator.name,
        "final": _summary(frame, ""), "first_draft": _summary(frame, "first_"),
        "baseline": _summary(frame, "baseline_"),
        "first_draft_pass_share": round(statuses.get("ok", 0) / n, 4),
        "final_pass_share": round(float(frame["passed"].mean()), 4),
        "statuses": {k: int(v) for k, v in statuses.items()},
        "tokens_per_second": round(tokens / gen_seconds, 2) if gen_seconds else None,
        "completion_tokens": int(tokens), "requests": int(generator.usage["requests"] - before["requests"]),
        "seconds": round(sw.seconds, 2), "seconds_per_item": round(sw.seconds / n, 2),
        "load_seconds": round(load_seconds, 2), "threads": getattr(generator, "threads", None),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "load_average_1min": {"start": round(load_before, 2), "end": round(os.getloadavg()[0], 2),
                              "cores": os.cpu_count()},
    }
    return metrics, table


EN_DATASET = "bigbasket-descriptions"
EN_SAMPLE, EN_MAX_CHARS, EN_DESCRIPTION_CHARS = 500, 80, 600


def word_rouge_l(candidate: str, reference: str) -> float:
    """Word ROUGE-L F1 (lower case, words of letters and digits)."""
    import re

    words = lambda text: re.findall(r"[a-z0-9]+", str(text).lower())  # noqa: E731
    a, b = words(candidate), words(reference)
    if not a or not b:
        return 0.0
    previous = [0] * (len(b) + 1)
    for w in a:
        current = [0]
        for j, other in enumerate(b, 1):
            current.append(previous[j - 1] + 1 if w == other else max(previous[j], current[j - 1]))
        previous = current
    lcs = previous[-1]
    return 0.0 if lcs == 0 else 2 * lcs / (len(a) + len(b))


def english_titles(generator, n: int = 30, shots: int = 2, data=None) -> tuple[dict, list[dict]]:
    """BigBasket: brand + category + description (first 600 characters) -> the product's title. A fixed
    sample of 500 products (seed 0) is the test sample, scored on its first n; the few-shot examples are the
    first products outside it. Word ROUGE-L F1; baseline: the leaf category as the title."""
    from shoplens.datasets.public import load

    items = load(EN_DATASET, data)["items"].dropna(subset=["title", "brand", "category", "description"])
    order = np.random.default_rng(0).permutation(len(items))
    if not 1 <= n <= EN_SAMPLE:
        raise ValueError(f"n must be between 1 and {EN_SAMPLE} for the English titles")
    test, others = items.iloc[order[:EN_SAMPLE]].head(n), items.iloc[order[EN_SAMPLE:]]

    def record(row) -> dict:
        return {"brand": row["brand"], "category": row["category"],
                "description": str(row["description"])[:EN_DESCRIPTION_CHARS]}

    shown = [("\n".join(f"{k}: {v}" for k, v in attribute_pairs(record(r))), r["title"])
             for _, r in others.head(shots).iterrows()]
    task = TitleTask(Drafter(generator, max_tokens=48), max_chars=EN_MAX_CHARS, lang="en",
                     catalogue_brands=tuple(sorted(items["brand"].astype(str).unique())), examples=shown)
    records = [record(r) for _, r in test.iterrows()]
    before = dict(generator.usage)
    with Stopwatch() as sw:
        results = task(records)
    table = []
    for rec, reference, (text, checks) in zip(records, test["title"], results):
        baseline = rec["category"].split(">")[-1].strip()
        source = "\n".join(f"{k}: {v}" for k, v in attribute_pairs(rec))
        table.append({"reference": reference, "output": text, "status": checks.status, "passed": checks.passed,
                      "rejected_draft_problems": "; ".join(checks.rejected), "baseline": baseline,
                      "rouge_l": word_rouge_l(text, reference), "baseline_rouge_l": word_rouge_l(baseline, reference),
                      "unsupported_numbers": len(check_numbers(text, source).problems)})
    frame = pd.DataFrame(table)
    tokens = generator.usage["completion_tokens"] - before["completion_tokens"]
    gen_seconds = generator.usage["seconds"] - before["seconds"]
    statuses = frame["status"].value_counts().to_dict()
    metrics = {"n": n, "sample": f"first {n} of a seeded (0) sample of {EN_SAMPLE} products", "shots": shots,
               "model": generator.name, "rouge_l": round(float(frame["rouge_l"].mean()), 4),
               "baseline_leaf_category_rouge_l": round(float(frame["baseline_rouge_l"].mean()), 4),
               "first_draft_pass_share": round(statuses.get("ok", 0) / n, 4),
               "statuses": {k: int(v) for k, v in statuses.items()},
               "unsupported_numbers_final": int(frame["unsupported_numbers"].sum()),
               "tokens_per_second": round(tokens / gen_seconds, 2) if gen_seconds else None,
               "seconds": round(sw.seconds, 2), "seconds_per_item": round(sw.seconds / n, 2),
               "load_average_1min_end": round(os.getloadavg()[0], 2)}
    return metrics, table



def checker(data=None) -> dict:
    """The checks as a title/attribute match classifier; support threshold chosen on rows 0-249."""
    from shoplens.datasets.public import load

    examples = load(DATASET, data, subset=MATCHING)["examples"]
    truth = (examples["output"] == "match").to_numpy()
    rules, support = [], []
    for text in examples["input"]:
        title, _, attributes = text.partition(", Attritute: ")
        title = title.removeprefix("Title: ")
        pairs = attribute_pairs({"attributes": attributes})
        source = "\n".join(f"{k}: {v}" for k, v in pairs)
        brand = record_brand({}, pairs)
        rules.append(check_numbers(title, source).passed and check_latin(title, source).passed
                     and check_brands(title, source, brand).passed)
        support.append(check_support(title, source, threshold=0.0).score)
    rules, support = np.array(rules), np.array(support)
    half = len(examples) // 2

    def scores(predicted, rows):
        t, p = truth[rows], predicted[rows]
        tp = int((t & p).sum())
        precision, recall = tp / max(int(p.sum()), 1), tp / max(int(t.sum()), 1)
        return {"accuracy": round(float((t == p).mean()), 4),
                "f1": round(2 * precision * recall / max(precision + recall, 1e-12), 4)}

    validation, test = slice(0, half), slice(half, len(examples))
    threshold = max(np.unique(support[validation]),
                    key=lambda t: ((support[validation] >= t) == truth[validation]).mean())
    majority = truth[validation].mean() >= 0.5
    return {"rows": f"validation 0..{half - 1}, test {half}..{len(examples) - 1}",
            "rules": scores(rules, test), "support_threshold": round(float(threshold), 4),
            "support": scores(support >= threshold, test),
            "rules_and_support": scores(rules & (support >= threshold), test),
            "majority_class": scores(np.full(len(truth), majority), test)}


def run(generators: list, n: int = 30, split: str = "scored", shots: int = 2, data=None,
        task: str = "zh-titles") -> BenchResult:
    if task == "en-titles":
        return run_english(generators, n=n, shots=shots, data=data)
    if task != "zh-titles":
        raise ValueError(f"task must be zh-titles or en-titles, got {task!r}")
    with Stopwatch() as total:
        metrics, rows = {"checker": checker(data)}, []
        for generator in generators:
            result, table = titles(generator, n=n, split=split, shots=shots, data=data)
            metrics.setdefault("titles", {})[generator.name] = result
            rows.append({"model": generator.name, "rows": result["rows"],
                         "rouge_l": result["final"]["rouge_l"], "first_draft_rouge_l": result["first_draft"]["rouge_l"],
                         "first_pass": result["first_draft_pass_share"], "final_pass": result["final_pass_share"],
                         "unsupported (first: numbers/latin)": f"{result['first_draft']['unsupported_numbers']}/"
                                                                 f"{result['first_draft']['unsupported_latin']}",
                         "unsupported (final)": f"{result['final']['unsupported_numbers']}/"
                                                f"{result['final']['unsupported_latin']}",
                         "tokens/s": result["tokens_per_second"], "s/item": result["seconds_per_item"]})
            metrics.setdefault("drafts", {})[generator.name] = table
        baseline = next(iter(metrics.get("titles", {}).values()), {}).get("baseline")
        check = metrics["checker"]
        rows.append({"model": "checker as classifier (test rows)", "rows": check["rows"],
                     "rouge_l": "", "first_draft_rouge_l": "",
                     "first_pass": f"rules acc {check['rules']['accuracy']}", "final_pass":
                     f"support acc {check['support']['accuracy']}",
                     "unsupported (first: numbers/latin)": f"majority {check['majority_class']['accuracy']}"})
    return BenchResult(
        suite="generate", dataset=f"{DATASET}/{TITLES} (+ {MATCHING} for the checker)",
        protocol=f"zh titles from attributes; rows 0-{DEV_ROWS - 1} for prompt development and the {shots} few-shot "
                 f"examples; scored on the next n={n} rows; greedy, json_schema-constrained, max {MAX_CHARS} chars; "
                 "one sampled regeneration then the template; char ROUGE-L F1 vs the real title",
        metrics=metrics, baselines={"brand+attribute values to 30 chars (same rows)": baseline,
                                    "published (issue 19, 500 rows)": 0.158},
        seconds=total.seconds, rows=rows)


def run_english(generators: list, n: int = 30, shots: int = 2, data=None) -> BenchResult:
    with Stopwatch() as total:
        metrics, rows = {"titles_en": {}, "drafts": {}}, []
        for generator in generators:
            result, table = english_titles(generator, n=n, shots=shots, data=data)
            metrics["titles_en"][generator.name], metrics["drafts"][generator.name] = result, table
            rows.append({"model": generator.name, "word rouge_l": result["rouge_l"],
                         "leaf category baseline": result["baseline_leaf_category_rouge_l"],
                         "first_pass": result["first_draft_pass_share"], "statuses": str(result["statuses"]),
                         "tokens/s": result["tokens_per_second"], "s/item": result["seconds_per_item"]})
    return BenchResult(
        suite="generate", dataset=f"{EN_DATASET} (BigBasket)",
        protocol=f"en titles from brand + category + description[:{EN_DESCRIPTION_CHARS}]; test = first n={n} of a "
                 f"seeded sample of {EN_SAMPLE}; {shots} examples from outside the sample; greedy, json_schema, "
                 f"max {EN_MAX_CHARS} chars; word ROUGE-L F1 vs the real title",
        metrics=metrics, baselines={"leaf category as the title (same rows)": [m["baseline_leaf_category_rouge_l"]
                                                                             for m in metrics["titles_en"].values()],
                                    "issue 19 (15 rows): leaf category": 0.156},
        seconds=total.seconds, rows=rows)
