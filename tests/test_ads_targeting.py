"""Campaign targeting: budget, frequency cap, reach from activity, baselines, the simulator's true CTR."""

import numpy as np
import pandas as pd
import pytest

from shoplens.ads.targeting import (activity_reach, choose_impressions, expected_click_candidates,
                                    popularity_targeting, random_targeting, simulated_ctr, simulated_reach)


def test_budget_and_frequency_cap():
    ctr = np.array([[0.9, 0.8, 0.7], [0.1, 0.2, 0.3], [0.5, 0.05, 0.6]])
    candidates = expected_click_candidates(["a", "b", "c"], ["x", "y", "z"], ctr)
    chosen = choose_impressions(candidates, budget=4, frequency_cap=2)
    assert len(chosen) == 4 and chosen["user_id"].value_counts().max() <= 2
    assert list(zip(chosen["user_id"], chosen["item_id"])) == [("a", "x"), ("a", "y"), ("c", "z"), ("c", "x")]
    assert not chosen.duplicated(["user_id", "item_id"]).any()
    with pytest.raises(ValueError):
        choose_impressions(candidates, budget=4, frequency_cap=0)


def test_reach_weights_expected_clicks():
    reach = pd.Series({"a": 0.0, "b": 1.0})
    candidates = expected_click_candidates(["a", "b"], ["x"], [[0.9], [0.1]], reach)
    assert choose_impressions(candidates, budget=1)["user_id"].tolist() == ["b"]


def test_activity_reach_is_zero_for_gone_users_and_grows_with_activity():
    day = pd.Timestamp("2025-03-01")
    events = pd.DataFrame({"user_id": ["busy"] * 20 + ["rare", "gone"],
                           "ts": [day - pd.Timedelta(days=d) for d in range(1, 21)] + [day - pd.Timedelta(days=3), day - pd.Timedelta(days=90)]})
    reach = activity_reach(events, day, campaign_days=7)
    assert reach["gone"] == 0 and 0 < reach["rare"] < reach["busy"] <= 1


def test_baselines_spend_the_budget():
    assert len(random_targeting(["a", "b", "c"], ["x", "y"], budget=5, frequency_cap=2)) == 5
    chosen = popularity_targeting(pd.Series({"a": 1, "b": 9}), pd.Series({"x": 5, "y": 1}), budget=2)
    assert chosen[["user_id", "item_id"]].values.tolist() == [["b", "x"], ["a", "x"]]


def test_simulated_ctr_follows_the_simulator_truth():
    from shoplens.datasets.synthetic import marketplace

    market = marketplace(n_users=150, n_items=60, days=60, seed=1)
    ads, truth = market.tables["ad_impressions"], market.truth
    mine = simulated_ctr(truth, ads["user_id"], ads["item_id"], ads["device"], ads["ts"].iloc[len(ads) // 2])
    # same formula up to the slot, placement and creative effects (and the drift in time): strongly related
    assert np.corrcoef(np.log(mine), np.log(truth.ad_ctr))[0, 1] > 0.6
    reach = simulated_reach(truth, truth.users["user_id"], truth.end, campaign_days=7)
    assert ((reach >= 0) & (reach <= 1)).all() and (reach == 0).any()
