"""Safety stock / reorder point / order-up-to from forecast quantiles, and the replay simulation."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from shoplens.inventory.policy import daily_spread, policy_levels, reorder_table, simulate


def test_policy_levels_formulas():
    lv = policy_levels(np.full(14, 10.0), np.full(14, 2.0), lead_time=3, review_period=7, service_level=0.95)
    assert lv.mean_demand == 100 and lv.sigma == pytest.approx(2 * np.sqrt(10))
    assert lv.safety_stock == pytest.approx(norm.ppf(0.95) * 2 * np.sqrt(10))
    assert lv.order_up_to == pytest.approx(100 + lv.safety_stock)
    assert lv.reorder_point == pytest.approx(30 + norm.ppf(0.95) * 2 * np.sqrt(3))
    short = policy_levels(np.full(2, 10.0), np.full(2, 2.0), lead_time=3, review_period=7, service_level=0.5)
    assert short.order_up_to == pytest.approx(100)  # extended with the forecast's average day


def test_daily_spread_and_reorder_table():
    fc = pd.DataFrame({"unique_id": ["a"] * 3 + ["b"] * 3, "ds": list(pd.date_range("2025-01-01", periods=3)) * 2,
                       "yhat": [5.0] * 3 + [1.0] * 3, "yhat_lo80": [3.0] * 3 + [0.0] * 3, "yhat_hi80": [7.0] * 3 + [2.0] * 3})
    assert daily_spread(fc)[0] == pytest.approx(4 / (2 * norm.ppf(0.9)))
    table = reorder_table(fc, service_level=0.9, lead_time=1, review_period=2, on_hand=pd.Series({"a": 100.0}))
    a, b = table.set_index("unique_id").loc["a"], table.set_index("unique_id").loc["b"]
    assert a.order_qty == 0 and not a.reorder_now
    assert b.on_hand == 0 and b.order_qty == np.ceil(b.order_up_to) and b.reorder_now


def test_simulation_hits_service_on_known_demand():
    rng = np.random.default_rng(0)
    demand = rng.poisson(20, 700).astype(float)
    sigma = np.sqrt(20.0)
    lv = policy_levels(np.full(10, 20.0), np.full(10, sigma), lead_time=3, review_period=7, service_level=0.95)
    result = simulate(demand, np.full(700, lv.order_up_to), lead_time=3, review_period=7)
    assert result.fill_rate > 0.97 and result.cycle_service >= 0.88
    assert 0 < result.average_stock < lv.order_up_to
    low = simulate(demand, np.full(700, 0.5 * lv.order_up_to), lead_time=3, review_period=7)
    assert low.fill_rate < result.fill_rate and low.average_stock < result.average_stock


def test_simulation_ignores_returns_and_handles_zero_demand():
    result = simulate(np.array([0.0, -3.0, 0.0]), np.full(3, 5.0), lead_time=1, review_period=1)
    assert result.demand == 0 and result.fill_rate == 1.0
