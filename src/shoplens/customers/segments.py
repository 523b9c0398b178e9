"""Customer segments: named RFM segments, and clusters of users in item-embedding space with descriptions.

RFM scores are quintiles 1-5 within the customer base (5 = most recent / most frequent / highest spend;
ties share a score). Names follow the widely used recency x frequency grid:

    F score ->      1             2             3                4               5
    R 5        new           potential     potential        champions       champions
    R 4        promising     potential     potential        loyal           loyal
    R 3        about to      about to      need             loyal           loyal
               sleep         sleep         attention
    R 1-2      hibernating   hibernating   at risk          at risk         can't lose
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans

from shoplens.customers.profiles import title_tokens, weighted_interactions

SEGMENT_ORDER = ("champions", "loyal", "potential loyalist", "new", "promising", "need attention",
                 "about to sleep", "at risk", "can't lose", "hibernating")


def _score(values: pd.Series) -> pd.Series:
    """Quintile score 1..5 by rank; equal values get equal scores."""
    return np.ceil(values.rank(method="average", pct=True) * 5).clip(1, 5).astype(int)


def segment_name(r: int, f: int) -> str:
    if r >= 4:
        if f >= 4:
            return "champions" if r == 5 else "loyal"
        if f >= 2:
            return "potential loyalist"
        return "new" if r == 5 else "promising"
    if r == 3:
        return "loyal" if f >= 4 else "need attention" if f == 3 else "about to sleep"
    return "hibernating" if f <= 2 else "can't lose" if f == 5 else "at risk"


def rfm_segments(features: pd.DataFrame) -> pd.DataFrame:
    """R, F, M scores and a segment name per customer, from `customer_features` (uses since_last,
    purchase_days and spend_total when present)."""
    missing = {"since_last", "purchase_days"} - set(features.columns)
    if missing:
        raise ValueError(f"rfm_segments needs the customer_features columns {sorted(missing)}")
    out = pd.DataFrame(index=features.index)
    out["R"] = _score(-features["since_last"])  # more recent = higher score
    out["F"] = _score(features["purchase_days"])
    out["M"] = _score(features["spend_total"]) if "spend_total" in features else 0
    out["segment"] = [segment_name(r, f) for r, f in zip(out["R"], out["F"])]
    return out


def segment_table(segments: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    """One row per segment (in SEGMENT_ORDER): customers, share, and their mean recency, purchase days, spend."""
    joined = segments[["segment"]].join(features)
    agg = {"customers": ("segment", "size"), "weeks_since_last": ("since_last", "mean"),
           "purchase_days": ("purchase_days", "mean")}
    if "spend_total" in joined:
        agg["spend"] = ("spend_total", "mean")
    table = joined.groupby("segment").agg(**agg)
    table.insert(1, "share", table["customers"] / table["customers"].sum())
    return table.reindex(pd.Index([s for s in SEGMENT_ORDER if s in table.index], name="segment")).round(3)


def user_taste_vectors(events: pd.DataFrame, items: pd.DataFrame, item_vectors: pd.DataFrame,
                       as_of=None) -> pd.DataFrame:
    """Per user, the intent-weighted mean of the vectors of the items they touched (rows L2-normalised)."""
    touched = weighted_interactions(events, items, as_of)
    touched = touched[touched["item_id"].astype(str).isin(item_vectors.index)]
    vectors = item_vectors.loc[touched["item_id"].astype(str)].to_numpy(dtype=np.float64)
    weights = touched["weight"].to_numpy()[:, None]
    users = touched["user_id"].astype(str).to_numpy()
    summed = pd.DataFrame(vectors * weights).groupby(users).sum()
    norms = np.linalg.norm(summed.to_numpy(), axis=1, keepdims=True)
    return summed / np.where(norms > 0, norms, 1.0)


def distinctive_keywords(titles, overall: Counter, k: int = 5, min_count: int = 3) -> list[str]:
    """Title tokens most over-represented in `titles` relative to the `overall` token counts (lift)."""
    local = Counter(tok for title in titles for tok in title_tokens(title))
    n_local, n_all = sum(local.values()) or 1, sum(overall.values()) or 1
    lift = {tok: (n / n_local) / (overall[tok] / n_all) for tok, n in local.items() if n >= min_count}
    return sorted(lift, key=lambda tok: (-lift[tok], tok))[:k]


def embedding_clusters(user_vectors: pd.DataFrame, events: pd.DataFrame, items: pd.DataFrame,
                       n_clusters: int = 8, seed: int = 0, top_k: int = 3) -> tuple[pd.Series, pd.DataFrame]:
    """K-means clusters of users' taste vectors, each described by what its users touch most:
    top categories (by intent weight) and the title keywords most over-represented against all users.
    Returns (cluster per user, one description row per cluster)."""
    if len(user_vectors) < n_clusters:
        raise ValueError(f"{len(user_vectors)} users cannot form {n_clusters} clusters")
    labels = pd.Series(KMeans(n_clusters, n_init=4, random_state=seed).fit_predict(user_vectors.to_numpy()),
                       index=user_vectors.index, name="cluster")
    touched = weighted_interactions(events, items)
    touched = touched.assign(cluster=touched["user_id"].astype(str).map(labels)).dropna(subset=["cluster"])
    overall = Counter(tok for title in touched["title"].fillna("") for tok in title_tokens(title))
    rows = []
    for c, members in touched.groupby("cluster"):
        shares = members.groupby("category")["weight"].sum()
        shares = (shares / shares.sum()).nlargest(top_k)
        categories = [f"{name} ({s:.0%})" for name, s in shares.items()]
        rows.append({"cluster": int(c), "users": int((labels == c).sum()), "top_categories": categories,
                     "keywords": distinctive_keywords(members["title"].fillna(""), overall, 5),
                     "description": f"mostly {', '.join(str(n) for n in shares.index[:2])}"})
    return labels, pd.DataFrame(rows).set_index("cluster").sort_values("users", ascending=False)
