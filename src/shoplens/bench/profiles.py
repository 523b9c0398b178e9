"""Bench `profiles`: do user profiles and segments recover the simulator's true latent interests?

Protocol: marketplace(n_users, 500 items, 180 days, seed) from `shoplens.datasets.synthetic`. Items are
embedded with the static text encoder from "category | brand | title". Over the whole window:
- interests: per user, `user_interests` (weighted k-means of touched items, k <= 4, clusters < 10% weight
  dropped, named by main leaf category). True interests = leaf categories whose true weight reaches 0.1
  at the start or the end of the window. Interest recall / precision = overlap / true / recovered,
  averaged over users with at least 5 item interactions. Baseline: the leaf categories holding >= 10% of
  the user's intent weight (plain counting, no embeddings).
- clusters: users' taste vectors (`user_taste_vectors`) in k-means with k = number of top-level
  categories; adjusted Rand index against each user's true dominant top-level category (interest weights
  summed per top category at mid-window). Baseline: k-means on each user's share of intent weight per
  observed top-level category.
- RFM segments of the purchasers (sizes only; there is no ground truth for segment names).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from shoplens.bench.harness import BenchResult
from shoplens.customers.features import customer_features
from shoplens.customers.profiles import item_text_vectors, user_interests, weighted_interactions
from shoplens.customers.segments import embedding_clusters, rfm_segments, segment_table, user_taste_vectors

MIN_INTERACTIONS = 5
TRUE_INTEREST_WEIGHT = 0.1


def _overlap(recovered: dict[str, set], truth: dict[str, set]) -> dict:
    users = [u for u in recovered if truth.get(u)]
    hits = [len(recovered[u] & truth[u]) for u in users]
    return {"interest_recall": float(np.mean([h / len(truth[u]) for h, u in zip(hits, users)])),
            "interest_precision": float(np.mean([h / max(len(recovered[u]), 1) for h, u in zip(hits, users)])),
            "users": len(users)}


def run(quick: bool = False, data=None, seed: int = 0, n_users: int | None = None) -> BenchResult:
    """`data` is unused (the suite runs on the simulator); kept for the common bench signature."""
    from shoplens.datasets.synthetic import marketplace

    started = time.perf_counter()
    n_users = n_users or (500 if quick else 2000)
    market = marketplace(n_users=n_users, n_items=500, days=180, seed=seed)
    items, events, truth = market.tables["items"], market.tables["events"], market.truth
    item_vectors = item_text_vectors(items)
    touched = weighted_interactions(events, items)
    touched = touched.assign(user_id=touched["user_id"].astype(str))
    active_users = touched.groupby("user_id").size()
    active_users = active_users[active_users >= MIN_INTERACTIONS].index

    categories = truth.categories["category"].to_numpy()
    weights = np.maximum(truth.interest_start, truth.interest_end)
    true_interests = {u: set(categories[w >= TRUE_INTEREST_WEIGHT]) for u, w in zip(truth.users["user_id"], weights)}

    by_user = dict(tuple(touched[touched["user_id"].isin(active_users)].groupby("user_id")))
    recovered = {u: {i["category"] for i in user_interests(t, item_vectors, 4, seed)} for u, t in by_user.items()}
    counted = {}
    for u, t in by_user.items():
        share = t.groupby("category")["weight"].sum()
        counted[u] = set(share[share / share.sum() >= 0.1].index)

    rows, metrics = [], {}
    for key, name, found in (("embedding_interests", "embedding interests (k-means, k<=4)", recovered),
                             ("category_counting", "category counting baseline", counted)):
        m = _overlap(found, true_interests)
        rows.append({"what": name, **m})
        metrics[key] = m

    # Users' true dominant top-level category, at mid-window.
    top_of = truth.categories["top"].to_numpy()
    mid = truth.interest_weights(truth.start + (truth.end - truth.start) / 2)
    tops = np.unique(top_of)
    dominant = pd.Series(tops[np.stack([mid[:, top_of == t].sum(1) for t in tops], 1).argmax(1)],
                         index=truth.users["user_id"].to_numpy())
    taste = user_taste_vectors(events[events["user_id"].astype(str).isin(active_users)], items, item_vectors)
    labels, descriptions = embedding_clusters(taste, events, items, n_clusters=len(tops), seed=seed)
    top_share = touched[touched["user_id"].isin(taste.index)].assign(top=lambda d: d["category"].str.split(" > ").str[0])
    top_share = top_share.pivot_table(index="user_id", columns="top", values="weight", aggfunc="sum", fill_value=0)
    top_share = top_share.div(top_share.sum(1), axis=0).reindex(taste.index)
    baseline_labels = KMeans(len(tops), n_init=4, random_state=seed).fit_predict(top_share.to_numpy())
    for key, name, found in (("ari.taste_vector_clusters", "taste-vector clusters", labels.to_numpy()),
                             ("ari.top_category_share_clusters", "top-category share clusters baseline", baseline_labels)):
        ari = float(adjusted_rand_score(dominant.reindex(taste.index).to_numpy(), found))
        rows.append({"what": f"{name}: ARI vs true dominant top category", "ari": ari, "users": len(taste)})
        metrics[key] = ari

    purchases = events[events["event"] == "purchase"].drop(columns="event")
    features = customer_features(purchases, truth.end, now=truth.end)
    segments = segment_table(rfm_segments(features), features)
    metrics["rfm_segments"] = segments["customers"].to_dict()
    metrics["cluster_descriptions"] = descriptions[["users", "description", "keywords"]].to_dict("index")
    return BenchResult(
        suite="profiles", dataset=f"simulator marketplace(n_users={n_users}, n_items=500, days=180, seed={seed})",
        protocol=("interests: per-user weighted k-means of static-encoder item vectors vs true interest categories "
                  f"(weight >= {TRUE_INTEREST_WEIGHT}), users with >= {MIN_INTERACTIONS} item events; clusters: "
                  "k-means of taste vectors, ARI vs true dominant top category"),
        metrics=metrics, baselines={"category_counting": metrics["category_counting"],
                                    "ari.top_category_share_clusters": metrics["ari.top_category_share_clusters"]},
        seconds=time.perf_counter() - started, rows=rows)
