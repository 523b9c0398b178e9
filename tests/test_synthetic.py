"""The marketplace simulator: deterministic, canonical, and faithful to its own ground truth."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata, spearmanr

from shoplens.data.ingest import validate
from shoplens.data.schema import EVENT_TYPES, TABLES
from shoplens.datasets.synthetic import marketplace, marketplace_for_events

CJK = r"[\u4e00-\u9fff]"


@pytest.fixture(scope="module")
def mp():
    return marketplace(n_users=2000, n_items=500, days=180, seed=11)


def auc(labels, scores) -> float:
    ranks = rankdata(scores)
    pos = np.asarray(labels) == 1
    return (ranks[pos].sum() - pos.sum() * (pos.sum() + 1) / 2) / (pos.sum() * (~pos).sum())


def item_category(mp, item_ids) -> np.ndarray:
    return mp.truth.items.set_index("item_id")["category"].loc[item_ids].to_numpy()


def test_same_seed_gives_identical_tables():
    small = dict(n_users=300, n_items=150, days=60)
    a, b, other = marketplace(**small, seed=3), marketplace(**small, seed=3), marketplace(**small, seed=4)
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
    np.testing.assert_array_equal(a.truth.item_topics, b.truth.item_topics)
    np.testing.assert_array_equal(a.truth.interest_end, b.truth.interest_end)
    pd.testing.assert_series_equal(a.truth.ad_ctr, b.truth.ad_ctr)
    assert not a.tables["events"].equals(other.tables["events"])


def test_tables_follow_the_canonical_schema(mp):
    assert set(mp.tables) == set(TABLES)
    for name, spec in TABLES.items():
        df = mp.tables[name]
        assert len(df) > 0, name
        for col in spec.columns:
            if col.name == "event_id":  # optional client id; the simulator has none
                continue
            values = df[col.name]
            if col.kind == "str":
                assert values.dropna().map(type).eq(str).all(), (name, col.name)
            elif col.kind == "ts":
                assert pd.api.types.is_datetime64_any_dtype(values), (name, col.name)
            elif col.kind == "int":
                assert pd.api.types.is_integer_dtype(values), (name, col.name)
            elif col.kind == "float":
                assert pd.api.types.is_float_dtype(values), (name, col.name)
            if col.required:
                assert values.notna().all(), (name, col.name)
            if col.name.endswith("_id"):
                assert values.dropna().str.len().gt(0).all(), (name, col.name)
            present = values.dropna()
            if col.min is not None:
                assert (present >= col.min).all(), (name, col.name)
            if col.max is not None:
                assert (present <= col.max).all(), (name, col.name)
        validate(df, spec, {}, f"synthetic {name}")  # what ingest would accept
    assert set(mp.tables["events"]["event"]) <= set(EVENT_TYPES)
    assert mp.tables["items"]["category"].str.count(" > ").eq(2).all()


def test_timestamps_lie_inside_the_window(mp):
    start, end = mp.truth.start, mp.truth.end
    for name in ("events", "reviews", "sales", "ad_impressions"):
        ts = mp.tables[name]["ts"]
        assert ts.min() >= start and ts.max() < end, name
    events = mp.tables["events"].dropna(subset=["item_id"])
    created = mp.tables["items"].set_index("item_id")["created_at"].loc[events["item_id"]].to_numpy()
    assert (events["ts"].to_numpy() >= created).all()  # nobody sees an item before it launches


def test_funnel_runs_in_order_within_a_session(mp):
    ev = mp.tables["events"]
    assert ev.groupby("session_id")["user_id"].nunique().eq(1).all()
    first_view = ev[ev["event"] == "view"].groupby(["session_id", "item_id"])["ts"].min().rename("first_view")
    for later in ("click", "cart", "purchase"):
        rows = ev[ev["event"] == later].join(first_view, on=["session_id", "item_id"])
        assert rows["first_view"].notna().all(), f"{later} without a view"
        assert (rows["ts"] > rows["first_view"]).all(), f"{later} before its view"
    search = ev[ev["event"] == "search"]
    assert search["query"].notna().all() and search["item_id"].isna().all()
    purchases = ev[ev["event"] == "purchase"]
    assert (purchases["value"] > 0).all() and ev.loc[ev["event"] != "purchase", "value"].isna().all()
    counts = ev["event"].value_counts()
    assert counts["view"] > counts["click"] > counts["cart"] > counts["purchase"] > 0


def test_churned_users_fall_silent(mp):
    users = mp.truth.users[["user_id", "churn_at"]]
    assert 0.12 < users["churn_at"].notna().mean() < 0.28
    for name in ("events", "reviews", "ad_impressions"):
        rows = mp.tables[name].merge(users, on="user_id")
        assert not (rows["ts"] >= rows["churn_at"]).any(), name


def test_ratings_follow_quality(mp):
    reviews = mp.tables["reviews"].merge(mp.truth.items[["item_id", "quality"]], on="item_id")
    assert len(reviews) > 500
    assert spearmanr(reviews["rating"], reviews["quality"]).statistic > 0.3


def test_review_aspects_are_in_the_text(mp):
    aspects = mp.truth.review_aspects.merge(mp.tables["reviews"], on="review_id")
    assert all(phrase in text for phrase, text in zip(aspects["phrase"], aspects["text"]))
    assert set(aspects["polarity"]) == {-1, 1}
    positive_share = aspects.groupby(aspects["rating"] >= 4)["polarity"].apply(lambda p: (p > 0).mean())
    assert positive_share[True] > positive_share[False] + 0.2
    assert {"shipping", "price", "quality"} <= set(aspects["aspect"])


def test_sales_respond_to_price_with_the_true_elasticity(mp):
    sales = mp.tables["sales"]
    by_item = sales.groupby(["item_id", sales["promo"] > 0]).agg(qty=("qty", "mean"), price=("price", "mean")).unstack()
    by_item = by_item[(by_item["qty"] > 0).all(axis=1)]
    slope = (np.log(by_item["qty"][True] / by_item["qty"][False])
             / np.log(by_item["price"][True] / by_item["price"][False]))
    true = mp.truth.items.set_index("item_id")["elasticity"].loc[slope.index]
    assert len(slope) > 200
    assert slope.mean() < 0
    assert abs(slope.mean() - true.mean()) < 0.3
    assert np.corrcoef(slope, true)[0, 1] > 0.2
    assert abs(sales["qty"].mean() / mp.truth.demand.mean() - 1) < 0.05


def test_purchases_concentrate_on_true_interests(mp):
    truth = mp.truth
    purchases = mp.tables["events"].query("event == 'purchase'")
    user = pd.Index(truth.users["user_id"]).get_indexer(purchases["user_id"])
    cat = pd.Index(truth.categories["category"]).get_indexer(item_category(mp, purchases["item_id"]))
    interested = (truth.interest_start + truth.interest_end) > 0
    share = interested[user, cat].mean()
    base = interested[user, np.random.default_rng(0).permutation(cat)].mean()
    assert share > 0.8 and share > 5 * base
    random_items = np.random.default_rng(1).permutation(purchases["item_id"].to_numpy())
    at = truth.start + (truth.end - truth.start) / 2
    assert truth.affinity(purchases["user_id"], purchases["item_id"], at).mean() > \
        truth.affinity(purchases["user_id"], random_items, at).mean() + 0.3


def test_interest_drift_shows_in_sessions(mp):
    truth = mp.truth
    np.testing.assert_allclose(truth.interest_weights(truth.start), truth.interest_start)
    np.testing.assert_allclose(truth.interest_end.sum(axis=1), 1.0)
    new_interest = (truth.interest_end > 0) & (truth.interest_start == 0)
    sessions = truth.sessions[~truth.sessions["explore"]]
    user = pd.Index(truth.users["user_id"]).get_indexer(sessions["user_id"])
    cat = pd.Index(truth.categories["category"]).get_indexer(sessions["category"])
    on_new = new_interest[user, cat]
    early = sessions["start"] < truth.start + pd.Timedelta(days=45)
    late = sessions["start"] >= truth.end - pd.Timedelta(days=45)
    assert on_new[late.to_numpy()].mean() > 3 * on_new[early.to_numpy()].mean()


def test_search_clicks_land_on_relevant_items(mp):
    ev, queries = mp.tables["events"], mp.truth.queries
    assert set(queries["lang"]) == {"zh", "en"} and queries["has_typo"].any() and queries["brand"].notna().any()
    in_search = ev[ev["session_id"].isin(queries["session_id"])].merge(
        queries[["session_id", "category"]], on="session_id")
    relevant = item_category(mp, in_search["item_id"].fillna(queries["item_id"].iloc[0])) == in_search["category"]
    views, clicks = (in_search["event"] == "view").to_numpy(), (in_search["event"] == "click").to_numpy()
    assert relevant[clicks].mean() > 0.9 and relevant[clicks].mean() > relevant[views].mean()


def test_ad_clicks_follow_the_true_ctr(mp):
    ads = mp.tables["ad_impressions"]
    assert abs(ads["clicked"].mean() - mp.truth.ad_ctr.mean()) < 0.01
    assert auc(ads["clicked"], mp.truth.ad_ctr) > 0.75


def test_text_is_bilingual(mp):
    items, reviews = mp.tables["items"], mp.tables["reviews"]
    assert items["title_zh"].str.contains(CJK).all() and items["description_zh"].str.contains(CJK).all()
    assert not items["title_en"].str.contains(CJK).any() and not items["description_en"].str.contains(CJK).any()
    own = np.where(items["lang"] == "zh", items["title_zh"], items["title_en"])
    assert (items["title"] == own).all() and set(items["lang"]) == {"zh", "en"}
    assert items["title_en"].nunique() > 0.9 * len(items)  # titles are varied enough to search and classify
    zh_review = reviews["text"].str.contains(CJK)
    assert 0.3 < zh_review.mean() < 0.9
    for column in ("title", "description"):
        "".join(items[column]).encode("utf-8")  # valid text, no lone surrogates


def test_marketplace_for_events_hits_its_size():
    small = marketplace_for_events(30_000, seed=0)
    assert 0.75 * 30_000 < len(small.tables["events"]) < 1.25 * 30_000
