"""bench forecast-favorita: the forecasters see over the forecast days only what is known at the origin."""

import numpy as np
import pandas as pd

from shoplens.bench import forecast_favorita as bench
from shoplens.forecast.backtest import split_at
from shoplens.forecast.base import DS, ID, Y

SENTINEL = 987_654.0  # the realised oil price after the origin: must never reach a forecaster


def tiny_panel(days: int = 120) -> pd.DataFrame:
    dates = pd.date_range("2017-01-01", periods=days, freq="D")
    rng = np.random.default_rng(0)
    frames = []
    for store in ("1", "2"):
        frames.append(pd.DataFrame({ID: store, DS: dates, Y: 100 + 10 * np.sin(np.arange(days) / 7 * 2 * np.pi)
                                    + rng.normal(0, 1, days), "is_holiday": (dates.day == 1).astype(float),
                                    "is_event": 0.0, "oil": 50 + np.arange(days) / 10,
                                    "store_type": "A", "cluster": "1"}))
    panel = pd.concat(frames, ignore_index=True)
    origin_end = dates[-bench.HORIZON]
    panel.loc[panel[DS] >= origin_end, "oil"] = SENTINEL
    return panel


class Recorder:
    """A forecaster that keeps the `future` frame it was given and forecasts the last value."""
    seen = []

    def fit(self, df):
        self.last_ = df.sort_values(DS).groupby(ID)[Y].last()
        return self

    def predict(self, horizon, future=None, levels=()):
        Recorder.seen.append(future.copy())
        return future[[ID, DS]].assign(yhat=future[ID].map(self.last_).to_numpy())


def test_forecasters_never_see_oil_dated_after_the_origin():
    panel = tiny_panel()
    train, test = split_at(panel, panel[DS].max() - pd.Timedelta(days=bench.HORIZON - 1))
    Recorder.seen.clear()
    bench._evaluate({"recorder": Recorder}, train, test)
    (future,) = Recorder.seen
    assert not (future.select_dtypes("number") == SENTINEL).any().any()
    assert Y not in future  # the realised sales are not an input either
    last_known = train.loc[train[DS] == train[DS].max(), "oil"].iloc[0]
    assert (future["oil"] == last_known).all() and last_known != SENTINEL
    # the calendar is known ahead and passes through unchanged
    np.testing.assert_array_equal(future["is_holiday"].to_numpy(), test["is_holiday"].to_numpy())


def test_lightgbm_forecast_does_not_depend_on_realised_future_oil():
    panel = tiny_panel()
    train, test = split_at(panel, panel[DS].max() - pd.Timedelta(days=bench.HORIZON - 1))
    other = test.assign(oil=-SENTINEL)

    def make():
        return bench.GlobalGBM(horizon=bench.HORIZON, season_length=7, exog=("is_holiday", "is_event", "oil"),
                               freq="D", min_history=14, origin_step=1, n_estimators=20, min_child_samples=5)

    a, _ = bench._evaluate({"gbm": make}, train, test)
    b, _ = bench._evaluate({"gbm": make}, train, other)
    pd.testing.assert_frame_equal(a["gbm"], b["gbm"])


def test_known_at_origin_carries_the_last_observed_price():
    panel = tiny_panel()
    train, test = split_at(panel, panel[DS].max() - pd.Timedelta(days=bench.HORIZON - 1))
    future = bench.known_at_origin(train, test)
    assert list(future.columns) == [ID, DS, "is_holiday", "is_event", "oil"]
    assert future["oil"].nunique() == 1 and future["oil"].iloc[0] == train["oil"].iloc[-1]
