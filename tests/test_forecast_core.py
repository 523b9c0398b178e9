"""Forecast contract, data handling, metrics, statistical / GBM / neural models, backtest and batch function."""

import numpy as np
import pandas as pd
import pytest

from shoplens.forecast import metrics
from shoplens.forecast.backtest import backtest, rolling_origins
from shoplens.forecast.base import prepare, to_long
from shoplens.forecast.batch import forecast_batch, forecast_in_batches
from shoplens.forecast.ensemble import Ensemble
from shoplens.forecast.gbm import GlobalGBM, low_rank_smooth
from shoplens.forecast.neural import NeuralForecaster
from shoplens.forecast.statistical import SmoothedSeasonalNaive, StatsForecaster


def weekly_panel(n_series=6, days=140, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2025-01-01", periods=days, freq="D")
    rows = []
    for k in range(n_series):
        level = 10 + 5 * k
        y = level * (1 + 0.3 * (ds.dayofweek >= 5)) + rng.normal(0, 1, days)
        rows.append(pd.DataFrame({"unique_id": f"s{k}", "ds": ds, "y": y, "promo": 0.0, "price": 10.0}))
    return pd.concat(rows, ignore_index=True)


def test_metrics_known_values():
    assert metrics.wmae([1, 2], [2, 2], [5, 1]) == pytest.approx(5 / 6)
    assert metrics.smape([0, 100], [0, 50]) == pytest.approx(100 * (0 + 2 * 50 / 150) / 2)
    assert metrics.coverage([1, 5, 9], [0, 0, 0], [4, 6, 8]) == pytest.approx(2 / 3)
    assert metrics.pinball([10], [8], 0.9) == pytest.approx(1.8)


def test_prepare_fills_gaps_and_reports_edge_cases():
    df = pd.DataFrame({
        "unique_id": ["a", "a", "a", "b", "c", "c", "d", "d"],
        "ds": pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-04", "2025-01-04", "2025-01-01", "2025-01-04",
                              "2025-01-03", "2025-01-04"]),
        "y": [1.0, -2.0, 3.0, 7.0, 0.0, 0.0, 4.0, 5.0],
    })
    df = pd.concat([df, df.iloc[[0]]])  # a duplicate row: summed, counted
    panel, report = prepare(df, "D")
    assert report.gaps_filled == 1 + 2  # a on 01-03; c on 01-02 and 01-03
    assert report.negative_values == 1 and report.duplicates_summed == 1
    assert report.single_point_series == ["b"] and report.all_zero_series == ["c"]
    assert panel.loc[(panel.unique_id == "a") & (panel.ds == "2025-01-01"), "y"].item() == 2.0


def test_to_long_levels():
    sales = pd.DataFrame({"item_id": ["i1", "i1", "i2"], "store_id": ["s1", "s2", "s1"],
                          "ts": pd.to_datetime(["2025-01-01"] * 3), "qty": [1.0, 2.0, 3.0], "price": [5.0, 7.0, 1.0], "promo": 0.0})
    items = pd.DataFrame({"item_id": ["i1", "i2"], "category": ["a > b", "a > b"]})
    assert to_long(sales, "item").set_index("unique_id")["y"].to_dict() == {"i1": 3.0, "i2": 3.0}
    assert to_long(sales, "store").set_index("unique_id")["y"].to_dict() == {"s1": 4.0, "s2": 2.0}
    assert to_long(sales, "category", items)["y"].tolist() == [6.0]
    assert len(to_long(sales, "item_store")) == 3


def test_statsforecast_wrapper_handles_short_and_zero_series():
    df = weekly_panel(2, 60)
    extra = pd.DataFrame({"unique_id": ["one", "zero", "zero"], "ds": pd.to_datetime(["2025-03-01", "2025-02-27", "2025-03-01"]),
                          "y": [4.0, 0.0, 0.0]})
    model = StatsForecaster("seasonal_naive", season_length=7, freq="D").fit(pd.concat([df, extra]))
    fc = model.predict(7, levels=(80,))
    assert set(fc.unique_id) == {"s0", "s1", "one", "zero"} and len(fc) == 28
    assert set(model.fallback_ids_) == {"one", "zero"}
    assert (fc.loc[fc.unique_id == "one", "yhat"] == 4.0).all() and (fc.loc[fc.unique_id == "zero", "yhat"] == 0).all()
    s0 = fc[fc.unique_id == "s0"]
    assert (s0.yhat_lo80 <= s0.yhat).all() and (s0.yhat <= s0.yhat_hi80).all()


def test_croston_conformal_intervals():
    rng = np.random.default_rng(1)
    y = rng.poisson(0.6, 120).astype(float)
    df = pd.DataFrame({"unique_id": "x", "ds": pd.date_range("2015-01-01", periods=120, freq="MS"), "y": y})
    fc = StatsForecaster("croston", freq="MS", conformal=True, conformal_windows=4).fit(df).predict(6, levels=(80,))
    assert fc[["yhat_lo80", "yhat_hi80"]].notna().all().all() and (fc.yhat_hi80 >= fc.yhat_lo80).all()


def fit_gbm_on_panel(n_series: int, seed: int = 0):
    df = weekly_panel(n_series, 140, seed=seed)
    train, test = df[df.ds < "2025-04-23"], df[df.ds >= "2025-04-23"]
    model = GlobalGBM(horizon=28, season_length=7, windows=(7, 28), exog=("price", "promo"), levels=(80,), freq="D",
                      origin_step=7, n_estimators=60, min_child_samples=20, n_jobs=1).fit(train)
    fc = model.predict(28, future=test[["unique_id", "ds", "price", "promo"]]).merge(test, on=["unique_id", "ds"])
    return model, train, fc


def test_gbm_beats_naive():
    model, train, fc = fit_gbm_on_panel(8)
    assert len(fc) == 8 * 28
    naive = train.groupby("unique_id").y.last()
    assert metrics.mae(fc.y, fc.yhat) < metrics.mae(fc.y, fc.unique_id.map(naive))
    assert (fc.yhat_lo80 <= fc.yhat).all() and (fc.yhat <= fc.yhat_hi80).all()
    with pytest.raises(ValueError):
        model.predict(29)


def test_gbm_80_percent_interval_covers_about_80_percent():
    # 40 series x 28 days = 1,120 test points. Were the interval exactly 80% with independent misses, coverage
    # would be Binomial(1120, 0.8) / 1120: sd = sqrt(0.8 * 0.2 / 1120) = 0.012. Misses are not independent (one
    # conformal widening, estimated from the last 28 training days, is shared by all points), which about doubles
    # that: measured over panel seeds 0-19, coverage 0.805 +- 0.025 (0.76 to 0.85). The band 0.70-0.90 is 4 of
    # those sds either side; an interval covering 100% fails it, and so do the same model's 50% and 95% intervals
    # on this panel (measured 0.58 and 0.96). With the 8 series of the test above, the sd is 0.065: too wide.
    _, _, fc = fit_gbm_on_panel(40)
    assert len(fc) == 40 * 28
    assert 0.70 <= metrics.coverage(fc.y, fc.yhat_lo80, fc.yhat_hi80) <= 0.90


def test_low_rank_smooth_keeps_shared_shape():
    rng = np.random.default_rng(0)
    shape = np.sin(np.arange(50) / 4)[:, None] * np.arange(1, 9)[None, :]
    noisy = shape + rng.normal(0, 0.3, shape.shape)
    smooth = low_rank_smooth(noisy, np.zeros(8), rank=1)
    assert np.abs(smooth - shape).mean() < np.abs(noisy - shape).mean()


def test_smoothed_seasonal_naive_and_neural_run():
    df = weekly_panel(4, 120)
    fc = SmoothedSeasonalNaive(season_length=7, rank=2, level_window=7, freq="D").fit(df).predict(7)
    assert len(fc) == 28 and fc.yhat.notna().all()
    nn_fc = NeuralForecaster(horizon=7, context=28, epochs=2, hidden=8, freq="D").fit(df).predict(7)
    assert len(nn_fc) == 28 and (nn_fc.yhat_lo80 <= nn_fc.yhat_hi80).all()


def test_backtest_and_batch():
    df = weekly_panel(4, 100)
    origins = rolling_origins(df, horizon=7, n_windows=3)
    assert origins[-1] == df.ds.max() - pd.Timedelta(days=6) and origins == sorted(origins)
    scores, frames = backtest(lambda: StatsForecaster("seasonal_naive", season_length=7, freq="D"), df, horizon=7, n_windows=3)
    assert len(scores) == 3 and (scores.rows_without_forecast == 0).all()
    assert frames.origin.nunique() == 3
    one = forecast_batch(df, model="seasonal_naive", horizon=7, season_length=7, freq="D")
    many, per_s = forecast_in_batches(df, series_per_batch=2, model="seasonal_naive", horizon=7, season_length=7, freq="D")
    assert len(one) == len(many) == 28 and per_s > 0
    pd.testing.assert_frame_equal(one.sort_values(["unique_id", "ds"], ignore_index=True)[["unique_id", "ds", "yhat"]],
                                  many.sort_values(["unique_id", "ds"], ignore_index=True)[["unique_id", "ds", "yhat"]])


def test_ensemble_averages_members():
    df = weekly_panel(3, 60)
    members = {"snaive": StatsForecaster("seasonal_naive", season_length=7, freq="D"),
               "naive": StatsForecaster("naive", freq="D")}
    fc = Ensemble(members).fit(df).predict(7, levels=())
    a = members["snaive"].predict(7, levels=()).yhat.to_numpy()
    b = members["naive"].predict(7, levels=()).yhat.to_numpy()
    np.testing.assert_allclose(fc.sort_values(["unique_id", "ds"]).yhat.to_numpy(), (a + b) / 2)
