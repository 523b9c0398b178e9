"""Whom to show a campaign to: expected clicks = P(user shows up during the campaign) × P(click | shown).

The click probability is a (calibrated) CTR model's prediction for the (user, campaign item) pair; the
"shows up" part — the user's interest in coming back at all — is estimated from recent activity and calibrated
on the previous campaign-length window, because an impression booked for a user who has churned is a wasted
impression. A budget of N impressions is spent greedily on the (user, item) pairs with the most expected
clicks, with at most `frequency_cap` impressions per user and one impression per (user, item). There is no
ad-fatigue model: a user's second impression is worth what the model says for that second item.

Baselines: random users (random campaign items) and popularity (the most active users, shown the campaign's
most shown items). `simulated_ctr` and `simulated_reach` give the simulator's ground truth for both parts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression

DAY = pd.Timedelta(days=1)


def activity_reach(events: pd.DataFrame, at, campaign_days: int = 7, lookback_days: int = 28,
                   calibrated: bool = True) -> pd.Series:
    """P(user is active at least once in the `campaign_days` after `at`), per user_id.

    The raw estimate is a daily Poisson rate from the share of the last `lookback_days` on which the user had an
    event (0 with no recent events). Ranking users by a noisy estimate picks the ones it overrates, so by default
    the estimate is calibrated on the past: computed as of `at − campaign_days`, an isotonic map from it to
    "was active in [at − campaign_days, at)" is fitted and applied to the estimate as of `at` (the raw estimate
    is kept when that window has no events, or everyone or no one came back)."""
    at = pd.Timestamp(at)
    raw = _daily_rate_reach(events, at, campaign_days, lookback_days)
    if not calibrated:
        return raw
    backtest_at = at - campaign_days * DAY
    past = events[events["ts"] < backtest_at]
    if past.empty:
        return raw
    past_estimate = _daily_rate_reach(past, backtest_at, campaign_days, lookback_days)
    in_window = events[(events["ts"] >= backtest_at) & (events["ts"] < at)]
    came_back = past_estimate.index.isin(in_window["user_id"])
    if came_back.all() or not came_back.any():
        return raw
    isotonic = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(past_estimate, came_back)
    return pd.Series(isotonic.predict(raw.to_numpy()), index=raw.index, name="reach")


def _daily_rate_reach(events: pd.DataFrame, at: pd.Timestamp, campaign_days: int, lookback_days: int) -> pd.Series:
    recent = events[(events["ts"] < at) & (events["ts"] >= at - lookback_days * DAY)]
    active_days = recent.assign(day=recent["ts"].dt.floor("D")).groupby("user_id")["day"].nunique()
    daily_rate = -np.log1p(-np.minimum(active_days / lookback_days, 0.999))
    all_users = pd.Index(events["user_id"].unique())
    rate = daily_rate.reindex(all_users, fill_value=0.0)
    return (1 - np.exp(-rate * campaign_days)).rename("reach")


def choose_impressions(candidates: pd.DataFrame, budget: int, frequency_cap: int = 1,
                       score: str = "expected_clicks") -> pd.DataFrame:
    """Spend `budget` impressions on the best-scoring (user_id, item_id) rows of `candidates`, at most
    `frequency_cap` per user. Returns the chosen rows, best first."""
    if budget < 0 or frequency_cap < 1:
        raise ValueError("budget must be >= 0 and frequency_cap >= 1")
    ranked = candidates.sort_values(score, ascending=False, kind="stable")
    ranked = ranked.drop_duplicates(["user_id", "item_id"])
    within_cap = ranked.groupby("user_id", sort=False).cumcount() < frequency_cap
    return ranked[within_cap].head(budget).reset_index(drop=True)


def expected_click_candidates(users, items, ctr: np.ndarray, reach: pd.Series | None = None) -> pd.DataFrame:
    """All (user, item) pairs with ctr (array [len(users), len(items)] or flat in user-major order), reach and
    expected_clicks = reach × ctr (reach 1 when not given)."""
    users, items = list(users), list(items)
    ctr = np.asarray(ctr, dtype=np.float64).reshape(len(users), len(items))
    frame = pd.DataFrame({"user_id": np.repeat(users, len(items)), "item_id": np.tile(items, len(users)),
                          "ctr": ctr.ravel()})
    frame["reach"] = 1.0 if reach is None else reach.reindex(frame["user_id"]).fillna(0.0).to_numpy()
    frame["expected_clicks"] = frame["reach"] * frame["ctr"]
    return frame


def random_targeting(users, items, budget: int, frequency_cap: int = 1, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"user_id": np.repeat(list(users), len(items)), "item_id": np.tile(list(items), len(users))})
    return choose_impressions(frame.assign(score=rng.random(len(frame))), budget, frequency_cap, score="score")


def popularity_targeting(user_activity: pd.Series, item_popularity: pd.Series, budget: int,
                         frequency_cap: int = 1) -> pd.DataFrame:
    """The most active users first, each shown the most popular campaign items (both Series: id -> count)."""
    users, items = user_activity.sort_values(ascending=False), item_popularity.sort_values(ascending=False)
    frame = pd.DataFrame({"user_id": np.repeat(users.index, len(items)), "item_id": np.tile(items.index, len(users))})
    frame["score"] = -np.arange(len(frame), dtype=np.float64)  # user-major order is the ranking
    return choose_impressions(frame, budget, frequency_cap, score="score")


# ------------------------------------------------------------------ simulator ground truth
_DEVICE_EFFECT = {"app": 0.2, "web": -0.2, "mini_program": 0.0}  # as in datasets/synthetic.py::_ads


def simulated_ctr(truth, user_ids, item_ids, device, at, position: int = 1, placement_effect: float = 0.0) -> np.ndarray:
    """True click probability of showing item to user at `at` in the simulator (feed slot, average creative):
    the logit of `datasets/synthetic.py::_ads` with its coefficients; `device` per row."""
    u = pd.Index(truth.users["user_id"]).get_indexer(np.asarray(user_ids))
    i = pd.Index(truth.items["item_id"]).get_indexer(np.asarray(item_ids))
    if (u < 0).any() or (i < 0).any():
        raise KeyError("unknown user_id or item_id")
    category = pd.Index(truth.categories["category"]).get_indexer(truth.items["category"].to_numpy()[i])
    interest = truth.interest_weights(at)[u, category]
    taste = np.einsum("nd,nd->n", truth.user_tastes[u], truth.item_topics[i])
    quality = truth.items["quality"].to_numpy()[i]
    logit = (-5.0 + 3.0 * interest + 2.5 * taste + 1.0 * (quality - 0.5) - 0.3 * (position - 1) + placement_effect
             + pd.Series(np.asarray(device)).map(_DEVICE_EFFECT).fillna(0.0).to_numpy())
    return 1.0 / (1.0 + np.exp(-logit))


def simulated_reach(truth, user_ids, at, campaign_days: int = 7) -> np.ndarray:
    """True P(user has a session in the campaign): 0 after churn, else 1 − exp(−sessions per day × days)."""
    users = truth.users.set_index("user_id").loc[np.asarray(user_ids)]
    alive = (users["active_until"] >= pd.Timestamp(at)).to_numpy()
    return np.where(alive, 1 - np.exp(-users["activity_rate"].to_numpy() * campaign_days), 0.0)
