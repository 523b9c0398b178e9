"""Who a user is: what they buy and browse, at what price, when, their several interests and how they drift.

Every interaction counts with a weight by how much intent it shows (`EVENT_WEIGHTS`: a purchase says more
than a view). Interests are MULTIPLE per user (as in MIND): the items a user touched are clustered in
item-embedding space and each cluster is one interest, named by its main category and title keywords.
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans

EVENT_WEIGHTS = {"view": 1.0, "click": 2.0, "favorite": 3.0, "cart": 3.0, "purchase": 5.0}
PRICE_BANDS = ((0.8, "budget"), (1.25, "mid"), (np.inf, "premium"))  # price / category median price


def weighted_interactions(events: pd.DataFrame, items: pd.DataFrame, as_of=None) -> pd.DataFrame:
    """Events that touch an item, joined to its category/brand/title/price, with an intent `weight`."""
    ev = events[events["event"].isin(list(EVENT_WEIGHTS)) & events["item_id"].notna()]
    if as_of is not None:
        ev = ev[pd.to_datetime(ev["ts"]) <= pd.Timestamp(as_of)]
    catalogue = items.set_index("item_id")
    columns = [c for c in ("category", "brand", "title", "price") if c in catalogue]
    ev = ev.join(catalogue[columns], on="item_id")
    return ev.assign(ts=pd.to_datetime(ev["ts"]), weight=ev["event"].map(EVENT_WEIGHTS))


def item_text_vectors(items: pd.DataFrame, encoder="static", fields=("category", "brand", "title")) -> pd.DataFrame:
    """Item embeddings (index item_id): the mean of the L2-normalised embeddings of each text field.
    Embedding fields separately (rather than one joined string) keeps the category's direction shared by
    items whose titles are in different languages."""
    from shoplens.text import get_encoder

    encoder = get_encoder(encoder) if isinstance(encoder, str) else encoder
    fields = [f for f in fields if f in items]
    if not fields:
        raise ValueError(f"items have none of the text fields {fields}")
    total = sum(encoder.encode(items[f].fillna("").astype(str).tolist()) for f in fields)
    norms = np.linalg.norm(total, axis=1, keepdims=True)
    return pd.DataFrame(total / np.where(norms > 0, norms, 1.0), index=items["item_id"].astype(str))


def top_shares(values: pd.Series, weights: pd.Series, k: int = 3) -> list[dict]:
    """The k values with the largest share of the total weight."""
    share = weights.groupby(values.to_numpy()).sum()
    share = (share / share.sum()).nlargest(k)
    return [{"name": str(name), "share": round(float(s), 3)} for name, s in share.items()]


def keywords(titles, k: int = 5) -> list[str]:
    """Most frequent title tokens (shoplens.text tokenizer, stopwords and numbers left out)."""
    counts = Counter(tok for title in titles for tok in title_tokens(title))
    return [tok for tok, _ in counts.most_common(k)]


@lru_cache(maxsize=200_000)
def title_tokens(title: str) -> tuple[str, ...]:
    """Content tokens of one title, cached: catalogues repeat the same titles across many users."""
    from shoplens.text import STOPWORDS, tokenize

    return tuple(tok for tok in tokenize(title, stopwords=STOPWORDS)
                 if len(tok) > 1 and not any(ch.isdigit() for ch in tok))


def user_interests(touched: pd.DataFrame, item_vectors: pd.DataFrame, n_interests: int = 4,
                   seed: int = 0) -> list[dict]:
    """Several interests of one user: weighted k-means of the vectors of the items they touched.
    k is at most `n_interests` and at most the number of distinct item vectors; clusters holding under 10%
    of the weight are dropped as noise."""
    per_item = touched.groupby("item_id").agg(weight=("weight", "sum"), category=("category", "first"),
                                              title=("title", "first"))
    per_item = per_item[per_item.index.astype(str).isin(item_vectors.index)]
    if per_item.empty:
        return []
    per_item["category"] = per_item["category"].fillna("(no category)")  # a catalogue without categories still has interests
    vectors = item_vectors.loc[per_item.index.astype(str)].to_numpy(dtype=np.float64)
    k = min(n_interests, len(np.unique(vectors.round(6), axis=0)))
    labels = (KMeans(k, n_init=3, random_state=seed).fit(vectors, sample_weight=per_item["weight"]).labels_
              if k > 1 else np.zeros(len(per_item), dtype=int))
    # Name each cluster by its main category; clusters with the same name are one interest (the same
    # category in two languages can land in two clusters).
    names = {c: per_item[labels == c].groupby("category")["weight"].sum().idxmax() for c in np.unique(labels)}
    per_item["interest"] = [names[c] for c in labels]
    total = per_item["weight"].sum()
    interests = []
    for category, members in per_item.groupby("interest"):
        share = members["weight"].sum() / total
        if share >= 0.1:
            interests.append({"category": str(category), "share": round(float(share), 3), "items": int(len(members)),
                              "keywords": keywords(members["title"].fillna(""), 5)})
    return sorted(interests, key=lambda i: -i["share"])


def interest_drift(touched: pd.DataFrame, k: int = 2) -> dict:
    """Category mix in the first vs the second half of the user's history (by time): total variation
    distance (0 = same mix, 1 = nothing in common) and the categories that rose and faded most."""
    if len(touched) < 4:
        return {"distance": None, "rising": [], "fading": []}
    ordered = touched.sort_values("ts")
    middle = ordered["ts"].iloc[len(ordered) // 2]
    halves = [ordered[ordered["ts"] < middle], ordered[ordered["ts"] >= middle]]
    mix = [h.groupby("category")["weight"].sum() for h in halves]
    mix = [m / m.sum() if m.sum() > 0 else m for m in mix]
    change = mix[1].sub(mix[0], fill_value=0).sort_values()
    return {"distance": round(float(change.abs().sum() / 2), 3), "since": str(middle),
            "rising": [str(c) for c in change[change > 0].index[::-1][:k]],
            "fading": [str(c) for c in change[change < 0].index[:k]]}


def price_band(touched: pd.DataFrame, items: pd.DataFrame) -> dict | None:
    """Where the user shops within each category's price range: median of price / category median."""
    if "price" not in items or touched["price"].isna().all():
        return None
    category_median = items.groupby("category")["price"].median()
    relative = (touched["price"] / touched["category"].map(category_median)).dropna()
    if relative.empty:
        return None
    ratio = float(relative.median())
    band = next(name for upper, name in PRICE_BANDS if ratio < upper)
    return {"band": band, "relative_to_category_median": round(ratio, 2),
            "median_price_paid_or_viewed": round(float(touched["price"].median()), 2)}


def user_profile(user_id, events: pd.DataFrame, items: pd.DataFrame, *, as_of=None,
                 item_vectors: pd.DataFrame | None = None, n_interests: int = 4, top_k: int = 3,
                 user_vector=None, segments: pd.DataFrame | None = None) -> dict:
    """A JSON-ready profile of one user from canonical events and items, using nothing after `as_of`.

    item_vectors: item embeddings (index item_id), default `item_text_vectors(items)` with the static encoder;
    user_vector: e.g. the recommender's vector for this user, copied in when given;
    segments: the `rfm_segments` table, to name the user's RFM segment.
    """
    user_id = str(user_id)
    events = events[events["user_id"].astype(str) == user_id]
    if events.empty:
        raise KeyError(f"user {user_id!r} has no events")
    touched = weighted_interactions(events, items, as_of)
    purchases = touched[touched["event"] == "purchase"]
    reference = pd.to_datetime(events["ts"]).max() if as_of is None else pd.Timestamp(as_of)
    profile = {"user_id": user_id, "as_of": str(reference), "events": int(len(touched))}
    paid = purchases["value"] if "value" in purchases else pd.Series(np.nan, index=purchases.index, dtype=float)
    if "price" in purchases:
        paid = paid.fillna(purchases["price"])  # an event without a value was paid at the list price
    profile["rfm"] = {
        "purchases": int(len(purchases)),
        "purchase_days": int(purchases["ts"].dt.floor("D").nunique()),
        "spend": round(float(paid.sum()), 2) if paid.notna().any() else None,
        "first_purchase": str(purchases["ts"].min()) if len(purchases) else None,
        "days_since_last_purchase": round((reference - purchases["ts"].max()) / pd.Timedelta(days=1), 1)
        if len(purchases) else None,
    }
    if segments is not None and user_id in segments.index.astype(str):
        profile["rfm"]["segment"] = str(segments.set_axis(segments.index.astype(str)).loc[user_id, "segment"])
    profile["categories"] = top_shares(touched["category"], touched["weight"], top_k)
    profile["brands"] = top_shares(touched["brand"], touched["weight"], top_k) if "brand" in touched else []
    profile["price"] = price_band(touched, items)
    hours = touched["ts"].dt.hour.value_counts(normalize=True)
    profile["active_hours"] = [{"hour": int(h), "share": round(float(s), 3)} for h, s in hours.head(3).items()]
    profile["weekend_share"] = round(float((touched["ts"].dt.dayofweek >= 5).mean()), 3)
    if item_vectors is None:
        item_vectors = item_text_vectors(items[items["item_id"].isin(touched["item_id"].unique())])
    profile["interests"] = user_interests(touched, item_vectors, n_interests)
    profile["drift"] = interest_drift(touched)
    if user_vector is not None:
        profile["user_vector"] = [round(float(v), 5) for v in np.asarray(user_vector).ravel()]
    return profile
