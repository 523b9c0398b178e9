"""The models behind `shoplens bench forecast-walmart`, on synthetic weekly panels with known answers."""

import numpy as np
import pandas as pd

from shoplens.forecast import metrics
from shoplens.forecast.gbm import GlobalGBM
from shoplens.forecast.statistical import SmoothedMSTL, SmoothedSeasonalNaive


def seasonal_panel(n_series=8, weeks=120, growth=0.0, noise=1.0, seed=0) -> pd.DataFrame:
    """Weekly series sharing one yearly shape, each at its own level, growing by `growth` per week."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2020-01-03", periods=weeks, freq="W-FRI")
    t = np.arange(weeks)
    shape = 1 + 0.5 * np.sin(2 * np.pi * t / 52)
    rows = [pd.DataFrame({"unique_id": f"s{k}", "ds": ds, "group": "g", "is_holiday": 0.0, "weight": 1.0,
                          "y": (20 + 5 * k) * shape + growth * t + rng.normal(0, noise, weeks)})
            for k in range(n_series)]
    return pd.concat(rows, ignore_index=True)


def _split(df, weeks_out):
    cut = np.sort(df.ds.unique())[-weeks_out]
    return df[df.ds < cut], df[df.ds >= cut]


def _mae(model, train, test, horizon, **predict_kw):
    fc = model.fit(train).predict(horizon, **predict_kw).merge(test, on=["unique_id", "ds"])
    return metrics.mae(fc.y, fc.yhat)


def test_level_adjustment_beats_plain_seasonal_naive_on_growing_series():
    train, test = _split(seasonal_panel(growth=0.2), 26)
    plain = SmoothedSeasonalNaive(season_length=52, group="group", rank=2, level_weight=0.0, freq="W-FRI")
    adjusted = SmoothedSeasonalNaive(season_length=52, group="group", rank=2, level_weight=1.0, freq="W-FRI")
    # a year of growth is 52 * 0.2 = 10.4 per week; the adjustment recovers most of it
    assert _mae(adjusted, train, test, 26) < 0.4 * _mae(plain, train, test, 26)


def test_neighbour_and_recent_weights_have_known_limits():
    df = seasonal_panel(noise=0.0)
    base = dict(season_length=52, rank=1, level_window=4, level_weight=0.0, freq="W-FRI")
    flat = SmoothedSeasonalNaive(recent_weight=1.0, **base).fit(df).predict(8)
    recent = df.groupby("unique_id").y.apply(lambda y: y.iloc[-4:].mean())
    np.testing.assert_allclose(flat.yhat, flat.unique_id.map(recent), rtol=1e-6)  # a = 1: the recent mean
    plain = SmoothedSeasonalNaive(**base).fit(df).predict(8)
    spread = SmoothedSeasonalNaive(neighbour_weight=0.25, **base).fit(df).predict(8)
    # a smooth shape: spreading over neighbouring weeks barely moves the forecast
    assert np.abs(spread.yhat - plain.yhat).max() < 0.02 * plain.yhat.abs().max()


def test_two_season_mstl_averages_out_noise_that_one_season_naive_copies():
    df = seasonal_panel(n_series=20, weeks=130, noise=6.0)
    df = df[(df.unique_id != "s0") | (df.ds >= df.ds.unique()[70])]  # s0: 34 training weeks, under 2 seasons
    train, test = _split(df, 26)
    settings = dict(season_length=52, rank=20, level_weight=0.0, freq="W-FRI")  # rank = series: no smoothing
    naive = SmoothedSeasonalNaive(**settings).fit(train).predict(26, levels=())
    mstl_model = SmoothedMSTL(**settings).fit(train)
    mstl = mstl_model.predict(26, levels=())
    assert sorted(mstl_model.mstl_ids_) == sorted(f"s{k}" for k in range(1, 20))
    pd.testing.assert_series_equal(mstl[mstl.unique_id == "s0"].yhat, naive[naive.unique_id == "s0"].yhat)
    scored = test[test.unique_id != "s0"]

    def error(fc):
        both = fc.merge(scored, on=["unique_id", "ds"])
        return metrics.mae(both.y, both.yhat)
    # naive copies one year's noise (sd 6: error variance 2 x 36); two years averaged copy half of it (1.5 x 36)
    assert error(mstl) < 0.93 * error(naive)


def test_gbm_on_difference_to_smoothed_yearly_lag_tracks_a_pure_seasonal_panel():
    df = seasonal_panel(n_series=10, weeks=130, noise=0.5)
    train, test = _split(df, 13)
    kw = dict(horizon=13, season_length=52, yearly_lag=52, windows=(4, 13), scale_window=26, freq="W-FRI",
              smooth_group="group", smooth_rank=1, min_history=52, origin_step=1, n_estimators=40,
              min_child_samples=20, n_jobs=1)
    on_difference = _mae(GlobalGBM(target_base="year_smooth", **kw), train, test, 13)
    last_year = train.assign(ds=train.ds + pd.Timedelta(weeks=52)).merge(test, on=["unique_id", "ds"])
    assert on_difference < metrics.mae(last_year.y_y, last_year.y_x)  # beats seasonal naive (noise 0.5 x 2)
    assert on_difference < 1.0
