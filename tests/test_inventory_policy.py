"""Safety stock / reorder point / order-up-to from forecast quantiles, and the replay simulation."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from shoplens.inventory.policy import SafetyStockCalibrator, daily_spread, policy_levels, reorder_table, simulate


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


def _backtest_rows(errors: np.ndarray, sigma: float = 1.0) -> pd.DataFrame:
    """Backtest-shaped rows: one origin, errors[series, day] = actual - forecast, 80% interval of spread sigma."""
    n_series, days = errors.shape
    half_width = sigma * norm.ppf(0.9)
    forecast = 100.0
    return pd.DataFrame({
        "unique_id": np.repeat(np.arange(n_series), days),
        "ds": np.tile(pd.date_range("2025-01-01", periods=days), n_series),
        "y": forecast + errors.ravel(), "yhat": forecast, "yhat_lo80": forecast - half_width,
        "yhat_hi80": forecast + half_width, "origin": pd.Timestamp("2025-01-01")})


def test_calibrator_keeps_normal_z_for_independent_errors_and_widens_for_shared_ones():
    rng = np.random.default_rng(0)
    kwargs = dict(lead_time=3, review_period=7, service_level=0.95)
    independent = SafetyStockCalibrator(**kwargs).fit(_backtest_rows(rng.normal(size=(3000, 10))))
    assert independent.protection_z_ == pytest.approx(norm.ppf(0.95), abs=0.1)
    assert independent.lead_z_ == pytest.approx(norm.ppf(0.95), abs=0.1)
    assert independent.variance_ratio_ == pytest.approx(1.0, abs=0.1)
    # one shock per series and window, repeated every day: the P-day sum spreads sqrt(P) times wider
    shared = SafetyStockCalibrator(**kwargs).fit(_backtest_rows(np.repeat(rng.normal(size=(3000, 1)), 10, axis=1)))
    assert shared.protection_z_ == pytest.approx(np.sqrt(10) * norm.ppf(0.95), rel=0.08)
    assert shared.lead_z_ == pytest.approx(np.sqrt(3) * norm.ppf(0.95), rel=0.08)
    assert shared.variance_ratio_ == pytest.approx(10, rel=0.1)


def test_calibrated_policy_levels_use_the_measured_factor():
    rows = _backtest_rows(np.repeat(np.random.default_rng(1).normal(size=(500, 1)), 12, axis=1), sigma=2.0)
    cal = SafetyStockCalibrator(lead_time=3, review_period=7, service_level=0.9).fit(rows)
    assert cal.windows_ == 500 * 3  # windows of 10 days inside 12-day forecasts
    policy = dict(lead_time=3, review_period=7, calibration=cal)
    lv = policy_levels(np.full(10, 5.0), np.full(10, 2.0), service_level=0.9, **policy)
    assert lv.safety_stock == pytest.approx(cal.protection_z_ * 2 * np.sqrt(10))
    assert lv.reorder_point == pytest.approx(15 + cal.lead_z_ * 2 * np.sqrt(3))
    with pytest.raises(ValueError, match="calibrated for"):
        policy_levels(np.full(10, 5.0), np.full(10, 2.0), service_level=0.95, **policy)
    table = reorder_table(rows.drop(columns=["y", "origin"]), service_level=0.9, **policy)
    assert table["safety_stock"].iloc[0] == pytest.approx(cal.protection_z_ * 2 * np.sqrt(10))


def test_calibrator_skips_gaps_and_zero_spread_windows():
    rows = _backtest_rows(np.zeros((2, 12)))
    rows.loc[(rows["unique_id"] == 0) & (rows["ds"] == rows["ds"].min() + pd.Timedelta(days=5)), "yhat"] = np.nan
    rows.loc[rows["unique_id"] == 1, ["yhat_lo80", "yhat_hi80"]] = 100.0
    cal = SafetyStockCalibrator(lead_time=1, review_period=1, service_level=0.95).fit(rows)
    assert cal.windows_ == 11 - 2  # series 0: the two 2-day windows touching the missing day are left out
    assert cal.unscaled_windows_ == 11  # series 1 has no spread
    with pytest.raises(ValueError, match="protection interval"):
        SafetyStockCalibrator(lead_time=7, review_period=7).fit(rows)


def test_calibrated_policy_restores_service_when_errors_persist_over_days():
    # demand level shifts per series and window (the forecast misses it for the whole window), Poisson around it
    rng = np.random.default_rng(2)
    n_series, days, mean = 300, 28, 10.0

    def window_demand():
        level = mean * np.exp(rng.normal(0, 0.25, (n_series, 1)))
        return rng.poisson(np.broadcast_to(level, (n_series, days))).astype(float)

    sigma = np.sqrt(mean)  # the forecast's own daily spread: Poisson noise only
    cal = SafetyStockCalibrator(lead_time=3, review_period=7, service_level=0.95).fit(
        _backtest_rows(window_demand() - mean, sigma=sigma))
    holdout = window_demand()
    cycle_service = {}
    for name, calibration in (("normal", None), ("calibrated", cal)):
        lv = policy_levels(np.full(10, mean), np.full(10, sigma), lead_time=3, review_period=7, service_level=0.95,
                           calibration=calibration)
        runs = [simulate(d, np.full(days, lv.order_up_to), lead_time=3, review_period=7) for d in holdout]
        cycle_service[name] = np.mean([r.cycle_service for r in runs])
    assert cycle_service["normal"] < 0.85 and cycle_service["calibrated"] > 0.93
