"""Campaign targeting: budget, frequency cap, reach from activity, baselines, the simulator's true CTR."""

import numpy as np
import pandas as pd
import pytest
import torch

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


def test_activity_reach_is_calibrated_on_the_previous_window():
    # 40 users active on 7 of the 28 days before the last week (raw 7-day reach ≈ 0.87), of whom every other one
    # came back in that week: the calibrated reach follows what happened (0.5), not the raw estimate
    at = pd.Timestamp("2025-03-01")
    days = [at - pd.Timedelta(days=d) for d in range(8, 36, 4)]
    events = pd.DataFrame({"user_id": [f"u{u}" for u in range(40) for _ in days], "ts": days * 40})
    came_back = pd.DataFrame({"user_id": [f"u{u}" for u in range(0, 40, 2)], "ts": at - pd.Timedelta(days=2)})
    events = pd.concat([events, came_back], ignore_index=True)
    raw_a_week_ago = activity_reach(events, at - pd.Timedelta(days=7), campaign_days=7, calibrated=False)
    assert raw_a_week_ago.between(0.85, 0.9).all()
    assert np.allclose(activity_reach(events, at, campaign_days=7), 0.5)


def test_campaign_ctr_forecast_is_not_the_logged_in_context_click_rate():
    """Logged ads were mostly shown to users browsing the ad's category, so they are clicked several times as
    often as an arbitrary (user, campaign item) pair. A model that cannot tell the two apart forecasts the logged
    rate for every pair (the 7x overstatement of expected clicks); the forecast must be nearer the pairs' true
    rate than that rate is, in log terms."""
    from shoplens.ads import DeepFM
    from shoplens.ads.jobs import impressions_with_context, serving_rows, time_split
    from shoplens.datasets.synthetic import marketplace

    torch.set_num_threads(1)
    market = marketplace(n_users=600, n_items=120, days=90, seed=4)
    tables, truth = market.tables, market.truth
    data = impressions_with_context(tables["ad_impressions"], tables["items"], tables["events"])
    split = time_split(data, valid_share=0.2)
    train, valid = (data[split == part].drop(columns="ts") for part in ("train", "valid"))
    model = DeepFM(embedding_dim=4, hidden_units=(16,), batch_size=512, max_epochs=10, embedding_l2=0.01, lr=3e-3,
                   seed=0, verbose=False).fit(train, eval_set=valid).calibrate(valid)
    items = tables["items"]
    campaign = items.loc[items["category"] == items["category"].iloc[0], "item_id"]
    rows = serving_rows(model, truth.users["user_id"], campaign, tables["ad_impressions"], items, tables["events"],
                        context={"position": 1, "placement": "feed"}, at=truth.end)
    forecast = model.predict_ctr(rows).mean()
    true = simulated_ctr(truth, rows["user_id"], rows["item_id"], rows["device"], truth.end).mean()
    logged_overstatement = train.loc[train["position"] == 1, "clicked"].mean() / true
    assert logged_overstatement > 2  # the trap is there
    assert abs(np.log(forecast / true)) < 0.5 * np.log(logged_overstatement)
