"""Churn on a shop too small or too young for the learned model: it says why and falls back to BG/NBD, whose
risk is P(no purchase in the horizon | history) and varies by customer."""

import numpy as np
import pandas as pd
import pytest

from shoplens.customers.btyd import BetaGeoModel
from shoplens.customers.churn import RecencyChurn, RepurchaseModel, churn_report


def _small_shop(n_users: int = 120, days: int = 100, seed: int = 0) -> pd.DataFrame:
    """Purchases of a young shop: each customer buys 1-4 times at their own rate."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-01-01")
    rows = []
    for u in range(n_users):
        first = rng.uniform(0, days * 0.6)
        for t in np.sort(first + rng.uniform(0, days - first, int(rng.integers(1, 5)))):
            rows.append({"user_id": f"u{u}", "ts": start + pd.Timedelta(days=float(t)), "value": 10.0})
    return pd.DataFrame(rows)


def test_probability_no_purchase_is_a_probability_that_falls_with_time():
    bg = BetaGeoModel()
    bg.params_ = {"r": 0.8, "alpha": 4.0, "a": 0.8, "b": 2.5}
    x, t_x, T = np.array([0, 2, 5]), np.array([0.0, 3.0, 9.0]), np.array([10.0, 10.0, 10.0])
    none_0, none_4, none_40 = (bg.probability_no_purchase(t, x, t_x, T) for t in (0.0, 4.0, 40.0))
    assert np.allclose(none_0, 1.0) and np.all((none_40 < none_4) & (none_4 < 1) & (none_40 > 0))
    # one minus it is at most the expected number of purchases (Markov): P(X >= 1) <= E[X]
    assert np.all(1 - none_4 <= bg.conditional_expected_purchases(4.0, x, t_x, T) + 1e-9)


def test_constant_learned_scores_fall_back_to_a_named_rule_with_a_warning():
    purchases = _small_shop()
    as_of = purchases["ts"].max()
    # 120 customers cannot fill two leaves of 100: the learned model's risk is one constant
    _, summary = churn_report(purchases, as_of, horizon_days=30, budget=1000, now=as_of,
                              model=RepurchaseModel(n_estimators=20))
    assert "the learned model gives every customer the same churn risk" in summary["warning"]
    # every customer at one Poisson rate, nobody leaves: BG/NBD's risk is one number too, so the recency rule
    assert summary["model"] == "recency (fallback)" and "BG/NBD too gives every customer the same risk" in summary["warning"]
    assert summary["customers"] == purchases.user_id.nunique()


def test_the_recency_rule_is_the_share_of_gaps_that_outlast_the_wait():
    rule = RecencyChurn(horizon=1.0, time_unit_days=10.0).fit([5, 10, 20, 30, 40])  # gaps in days; horizon 10 days
    waited = pd.DataFrame({"T": [0.0, 1.5, 2.5, 9.0], "recency": [0.0, 0.0, 0.0, 0.0]})  # 0, 15, 25, 90 days
    # P(gap > d + 10 | gap > d): 0 days -> 3 of the 5 gaps exceed 10; 15 -> 2 of 3; 25 -> 1 of 2; 90 -> past all
    assert rule.predict_churn_proba(waited) == pytest.approx([3 / 5, 2 / 3, 1 / 2, 1.0])
    assert np.isnan(rule.predict_expected(waited)).all()  # a rule does not estimate purchases
    assert rule.churn_reasons(waited)["reason_1"].tolist()[1] == "15 days since the last purchase"
    with pytest.raises(ValueError, match="nobody bought on two different days"):
        RecencyChurn().fit([])


def test_history_shorter_than_the_horizon_says_so():
    purchases = _small_shop(days=60)
    as_of = purchases["ts"].max()
    _, summary = churn_report(purchases, as_of, horizon_days=90, budget=5, now=as_of)
    assert summary["model"].endswith("(fallback)") and "more than 90 days of purchases" in summary["warning"]
    with pytest.raises(ValueError, match="needs a labelled window"):
        churn_report(purchases, as_of, horizon_days=90, precision=0.8, now=as_of)


def test_a_customer_first_seen_on_the_cut_off_day_is_scored():
    purchases = _small_shop(n_users=400, days=150, seed=1)
    as_of = purchases["ts"].max()
    cut = (as_of - pd.Timedelta(days=30)).floor("D")
    newcomer = pd.DataFrame({"user_id": ["new"], "ts": [cut + pd.Timedelta(hours=1)], "value": [10.0]})
    purchases = pd.concat([purchases[purchases.user_id != "new"], newcomer], ignore_index=True)
    table, summary = churn_report(purchases, as_of, horizon_days=30, budget=1000, now=as_of,
                                  model=RepurchaseModel(n_estimators=40, min_child_samples=10))
    assert summary["customers"] == purchases.user_id.nunique()


def test_a_learned_model_that_varies_is_kept():
    purchases = _small_shop(n_users=400, days=150, seed=1)
    as_of = purchases["ts"].max()
    table, summary = churn_report(purchases, as_of, horizon_days=30, budget=1000, now=as_of,
                                  model=RepurchaseModel(n_estimators=40, min_child_samples=10))
    assert summary["model"] == "learned (LightGBM)" and summary["warning"] is None


def test_nobody_repeated_is_an_error_not_a_guess():
    purchases = _small_shop().drop_duplicates("user_id")
    as_of = purchases["ts"].max()
    with pytest.raises(ValueError, match="nobody bought on two different days"):
        churn_report(purchases, as_of, horizon_days=90, budget=5, now=as_of)
