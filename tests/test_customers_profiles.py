"""User profiles, RFM segments and embedding clusters on the simulator."""

import json

import numpy as np
import pandas as pd
import pytest

from shoplens.customers.features import customer_features
from shoplens.customers.profiles import interest_drift, item_text_vectors, user_interests, user_profile, weighted_interactions
from shoplens.customers.segments import (
    SEGMENT_ORDER,
    embedding_clusters,
    rfm_segments,
    segment_name,
    segment_table,
    user_taste_vectors,
)


@pytest.fixture(scope="module")
def market():
    from shoplens.datasets.synthetic import marketplace

    return marketplace(n_users=300, n_items=150, days=120, seed=3)


@pytest.fixture(scope="module")
def item_vectors(market):
    return item_text_vectors(market.tables["items"])


def test_profile_has_every_part_and_is_json_ready(market, item_vectors):
    events, items = market.tables["events"], market.tables["items"]
    busiest = events["user_id"].value_counts().index[0]
    profile = user_profile(busiest, events, items, item_vectors=item_vectors, user_vector=np.ones(4))
    json.dumps(profile, ensure_ascii=False)
    assert {"rfm", "categories", "brands", "price", "active_hours", "interests", "drift", "user_vector"} <= set(profile)
    assert sum(c["share"] for c in profile["categories"]) <= 1.0 + 1e-9
    assert profile["price"]["band"] in {"budget", "mid", "premium"}
    assert 1 <= len(profile["interests"]) <= 4 and profile["interests"][0]["keywords"]
    assert profile["rfm"]["purchases"] == int(((events["user_id"] == busiest) & (events["event"] == "purchase")).sum())


def test_profile_recovers_the_dominant_true_interest(market, item_vectors):
    events, items, truth = market.tables["events"], market.tables["items"], market.truth
    busiest = events["user_id"].value_counts().index[:20]
    categories = truth.categories["category"].to_numpy()
    weights = np.maximum(truth.interest_start, truth.interest_end)
    hits = 0
    for user in busiest:
        row = truth.users.index[truth.users["user_id"] == user][0]
        interests = user_interests(weighted_interactions(events[events["user_id"] == user], items), item_vectors)
        hits += interests[0]["category"] in set(categories[weights[row] >= 0.1])
    assert hits >= 15


def test_profile_of_unknown_user_and_drift_edge_cases(market):
    with pytest.raises(KeyError, match="no events"):
        user_profile("nobody", market.tables["events"], market.tables["items"])
    assert interest_drift(pd.DataFrame({"ts": [], "category": [], "weight": []}))["distance"] is None


def test_segment_grid():
    assert segment_name(5, 5) == "champions" and segment_name(1, 1) == "hibernating"
    assert segment_name(2, 5) == "can't lose" and segment_name(5, 1) == "new" and segment_name(3, 3) == "need attention"
    assert {segment_name(r, f) for r in range(1, 6) for f in range(1, 6)} == set(SEGMENT_ORDER)


def test_rfm_segments_and_table(market):
    events = market.tables["events"]
    purchases = events[events["event"] == "purchase"].drop(columns="event")
    features = customer_features(purchases, market.truth.end, now=market.truth.end)
    segments = rfm_segments(features)
    assert segments[["R", "F", "M"]].isin(range(1, 6)).all().all()
    champions, hibernating = (segments["segment"] == "champions"), (segments["segment"] == "hibernating")
    assert features.loc[champions, "since_last"].mean() < features.loc[hibernating, "since_last"].mean()
    table = segment_table(segments, features)
    assert table["customers"].sum() == len(features) and table["share"].sum() == pytest.approx(1.0, abs=1e-2)
    with pytest.raises(ValueError, match="since_last"):
        rfm_segments(features.drop(columns="since_last"))


def test_embedding_clusters_have_descriptions(market, item_vectors):
    events, items = market.tables["events"], market.tables["items"]
    taste = user_taste_vectors(events, items, item_vectors)
    assert np.allclose(np.linalg.norm(taste.to_numpy(), axis=1), 1.0)
    labels, descriptions = embedding_clusters(taste, events, items, n_clusters=5)
    assert labels.nunique() == 5 and descriptions["users"].sum() == len(taste)
    assert all(d.startswith("mostly ") for d in descriptions["description"])
    assert descriptions["top_categories"].map(len).min() >= 1
