"""CTR on an ad log too thin to learn from: too few clicks, a validation part without clicks (AUC undefined), a
model whose CTR does not vary — each said with the minimum it needs, and answered by a named fallback (the
click-rate prior, or logistic regression) that `ctr` and `target` name too."""

import numpy as np
import pandas as pd
import pytest

from shoplens.ads.jobs import MIN_CLICKS, category_items, ctr_report, fit_ctr, load_ctr, target_campaign

ITEMS = pd.DataFrame({"item_id": ["a", "b", "c", "d"],
                      "category": ["美妆 > 面霜 > 晚霜", "美妆 > 口红", "数码 > 耳机", "Beauty > Skin Care"]})


def _log(n: int, clicked: np.ndarray, items=("a", "b", "c", "d"), users: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"ts": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(n), unit="min"),
                         "user_id": [f"u{i}" for i in rng.integers(0, users, n)],
                         "item_id": [items[i] for i in rng.integers(0, len(items), n)],
                         "ad_id": "ad1", "clicked": clicked.astype(int)})


@pytest.fixture
def three_clicks(ws):
    clicked = np.zeros(300, dtype=int)
    clicked[[10, 50, 90]] = 1  # all three in the older 90%: the training part
    ws.ingest(ITEMS, "items")
    ws.ingest(_log(300, clicked), "ad_impressions")
    return ws


def test_three_clicks_fall_back_to_the_click_rate_prior(three_clicks):
    model = fit_ctr(three_clicks, "lr", verbose=False)
    assert model.fitted_as_ == "prior (fallback)"
    [warning] = model.warnings_
    assert "3 clicks in 270 training impressions" in warning and f"at least {MIN_CLICKS} clicks" in warning
    assert load_ctr(three_clicks, "lr").warnings_ == model.warnings_  # saved with the model
    report = ctr_report(three_clicks, "u1", "a", model="lr")
    assert report["fitted_as"] == "prior (fallback)" and report["warnings"] == model.warnings_
    rate = 3 / 270
    assert 0 < report["ctr"] < 5 * rate  # an item's clicks shrunk towards the overall rate, not 0 or 1
    unseen = ctr_report(three_clicks, "u1", "never-shown", model="lr")["ctr"]
    assert unseen == pytest.approx(rate, rel=1e-3)
    chosen = target_campaign(three_clicks, category="美妆", budget=10, model="lr")
    assert chosen.attrs["fitted_as"] == "prior (fallback)" and chosen.attrs["warnings"][0] == warning


def test_no_click_in_the_validation_part_means_auc_is_undefined(ws):
    clicked = (np.random.default_rng(1).random(2000) < 0.2).astype(int)
    clicked[-200:] = 0  # the newest 10%: no click at all
    ws.ingest(_log(2000, clicked), "ad_impressions")
    model = fit_ctr(ws, "lr", verbose=False)
    assert model.fitted_as_ == "prior (fallback)" and "AUC is undefined" in model.warnings_[0]
    assert "has no clicks" in model.warnings_[0]


def test_a_constant_ctr_falls_back_and_targeting_says_it_ranks_by_reach(ws):
    # one user, one item, one ad: nothing tells one impression from another
    clicked = (np.random.default_rng(2).random(1000) < 0.3).astype(int)
    ws.ingest(ITEMS, "items")
    ws.ingest(_log(1000, clicked, items=("a",), users=1), "ad_impressions")
    model = fit_ctr(ws, "lr", verbose=False)
    assert model.fitted_as_ == "prior (fallback)"
    assert "the lr model gives every validation impression the same CTR" in model.warnings_[0]
    chosen = target_campaign(ws, items=["a", "b"], budget=5, model="lr")
    assert "ranked by the chance the user shows up alone" in chosen.attrs["warnings"][-1]


def test_a_log_with_enough_clicks_keeps_the_asked_model(ws):
    rng = np.random.default_rng(3)
    log = _log(3000, np.zeros(3000))
    log["clicked"] = (rng.random(3000) < np.where(log.item_id == "a", 0.4, 0.1)).astype(int)
    ws.ingest(log, "ad_impressions")
    model = fit_ctr(ws, "lr", verbose=False)
    assert model.fitted_as_ == "lr" and model.warnings_ == [] and model.validation_["auc"] > 0.6


def test_a_category_is_a_prefix_of_whole_levels():
    assert category_items(ITEMS, "美妆") == ["a", "b"]
    assert category_items(ITEMS, "美妆>面霜") == ["a"]  # spacing does not matter
    assert category_items(ITEMS, "美妆/面霜") == ["a"]  # nor "/" for ">"
    assert category_items(ITEMS, "beauty") == ["d"]  # nor case
    assert category_items(ITEMS, "口红") == ["b"]  # the last level alone
    assert category_items(ITEMS, "美") == []  # a prefix of whole levels, not of characters
