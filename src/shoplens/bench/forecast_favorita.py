"""`shoplens bench forecast-favorita`: daily transactions of 54 Favorita stores, 28-day holdout, sMAPE.

Protocol (the dataset README's): fit on days before 2017-07-19, forecast 2017-07-19 .. 2017-08-15 (1,512
store-days); sMAPE and MAE. The global LightGBM gets national / regional / local holidays (matched to each
store's city and state; transferred holidays moved to their new day), the oil price (carried forward over
missing days) and store type and cluster. Its size is fixed before looking at the holdout and checked on
the 28 days before it. Peers in the same command: statsforecast SeasonalNaive(7) (the README's 7-day
naive, 6.89%), AutoETS(7) and AutoARIMA(7).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from shoplens.bench.harness import BenchResult, Stopwatch
from shoplens.datasets import load
from shoplens.forecast.backtest import score, split_at
from shoplens.forecast.base import DS, ID, Y
from shoplens.forecast.gbm import GlobalGBM
from shoplens.forecast.neural import NeuralForecaster
from shoplens.forecast.statistical import StatsForecaster

HORIZON = 28
ENSEMBLE = ("shoplens global LightGBM", "shoplens neural (GRU)")
README_SNAIVE_SMAPE = 6.89


def holiday_flags(holidays: pd.DataFrame, stores: pd.DataFrame, dates: pd.DatetimeIndex) -> pd.DataFrame:
    """(store_id, ds, is_holiday, is_event) for every store and date: a day off where the store is."""
    h = holidays[~holidays["transferred"].astype(str).str.lower().eq("true")]
    off = h[h["type"].isin(["Holiday", "Transfer", "Additional", "Bridge"])]
    events = h[h["type"].eq("Event")]
    grid = pd.MultiIndex.from_product([stores["store_id"], dates], names=["store_id", DS]).to_frame(index=False)
    grid = grid.merge(stores[["store_id", "city", "state"]], on="store_id")

    def flag(days: pd.DataFrame) -> np.ndarray:
        national = set(days.loc[days["locale"] == "National", "ts"])
        local = set(zip(days.loc[days["locale"] != "National", "locale_name"], days.loc[days["locale"] != "National", "ts"]))
        return np.array([(d in national) or ((c, d) in local) or ((s, d) in local)
                         for d, c, s in zip(grid[DS], grid["city"], grid["state"])], dtype=float)

    grid["is_holiday"] = flag(off)
    grid["is_event"] = flag(events)
    return grid[["store_id", DS, "is_holiday", "is_event"]]


def favorita_frame(data=None) -> pd.DataFrame:
    t = load("favorita-store-transactions", data).tables
    sales, stores = t["sales"], t["stores"]
    dates = pd.date_range(sales["ts"].min(), sales["ts"].max() + pd.Timedelta(days=HORIZON), freq="D")
    df = pd.DataFrame({ID: sales["store_id"].astype(str), DS: sales["ts"], Y: sales["qty"]})
    flags = holiday_flags(t["holidays"], stores.assign(store_id=stores["store_id"].astype(str)), dates)
    oil = t["oil"].set_index("ts")["dcoilwtico"].reindex(dates).ffill().bfill().rename("oil").rename_axis(DS).reset_index()
    df = df.merge(flags.rename(columns={"store_id": ID}), on=[ID, DS], how="left").merge(oil, on=DS, how="left")
    meta = stores.assign(store_id=stores["store_id"].astype(str)).set_index("store_id")
    df["store_type"] = df[ID].map(meta["type"]).astype(str)
    df["cluster"] = df[ID].map(meta["cluster"]).astype(str)
    return df


def make_gbm() -> GlobalGBM:
    return GlobalGBM(horizon=HORIZON, season_length=7, yearly_lag=364, windows=(7, 28, 91), scale_window=28,
                     exog=("is_holiday", "is_event", "oil"), static=("store_type", "cluster"), freq="D",
                     min_history=28, origin_step=7, max_origins=60, n_estimators=300, learning_rate=0.05,
                     max_rows=300_000)


def make_neural() -> NeuralForecaster:
    return NeuralForecaster(horizon=HORIZON, context=56, season_length=7, hidden=32, levels=(80,), epochs=8,
                            max_windows=20_000, freq="D")


def _evaluate(models: dict, train: pd.DataFrame, test: pd.DataFrame) -> tuple[list[dict], dict]:
    rows, seconds, forecasts = [], {}, {}
    for name, make in models.items():
        with Stopwatch() as sw:
            forecasts[name] = make().fit(train).predict(HORIZON, future=test[[ID, DS, "is_holiday", "is_event", "oil"]], levels=())
        seconds[name] = sw.seconds
    if ENSEMBLE[0] in forecasts and ENSEMBLE[1] in forecasts:  # equal weights, fixed a priori
        a, b = (forecasts[k].set_index([ID, DS])["yhat"] for k in ENSEMBLE)
        forecasts["shoplens ensemble (LightGBM + neural)"] = ((a + b) / 2).rename("yhat").reset_index()
        seconds["shoplens ensemble (LightGBM + neural)"] = seconds[ENSEMBLE[0]] + seconds[ENSEMBLE[1]]
    for name, fc in forecasts.items():
        s = score(test, fc, levels=())
        rows.append({"model": name, "sMAPE %": s["smape"], "MAE": s["wmae"], "seconds": seconds[name],
                     "series/s": train[ID].nunique() / seconds[name]})
    return rows, seconds


def run(quick: bool = False, data=None) -> BenchResult:
    """quick: 10 stores, no AutoARIMA."""
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    df = favorita_frame(data)
    if quick:
        df = df[df[ID].isin(sorted(df[ID].unique(), key=int)[:10])]
    last = df[DS].max()
    test_start = last - pd.Timedelta(days=HORIZON - 1)
    train, test = split_at(df, test_start)
    valid_start = test_start - pd.Timedelta(days=HORIZON)
    models = {
        "shoplens global LightGBM": make_gbm,
        "shoplens neural (GRU)": make_neural,
        "statsforecast SeasonalNaive(7)": lambda: StatsForecaster("seasonal_naive", season_length=7, freq="D"),
        "statsforecast AutoETS(7)": lambda: StatsForecaster("auto_ets", season_length=7, freq="D"),
    }
    if not quick:
        models["statsforecast AutoARIMA(7)"] = lambda: StatsForecaster("auto_arima", season_length=7, freq="D")
    with Stopwatch() as total:
        vtrain, vtest = split_at(train, valid_start)
        valid_rows, _ = _evaluate({k: models[k] for k in list(models)[:3]}, vtrain, vtest)
        rows, seconds = _evaluate(models, train, test)
    by_name = {r["model"]: r for r in rows}
    gbm, snaive = by_name["shoplens global LightGBM"], by_name["statsforecast SeasonalNaive(7)"]
    metrics = {"smape": round(gbm["sMAPE %"], 3), "mae": round(gbm["MAE"], 2),
               "smape_vs_7day_naive": round(gbm["sMAPE %"] / snaive["sMAPE %"], 3),
               "neural_smape": round(by_name["shoplens neural (GRU)"]["sMAPE %"], 3),
               "ensemble_smape": round(by_name["shoplens ensemble (LightGBM + neural)"]["sMAPE %"], 3),
               "validation_smape": {r["model"]: round(r["sMAPE %"], 3) for r in valid_rows},
               "wall_time_ratio_vs_seasonal_naive": round(seconds["shoplens global LightGBM"] / seconds["statsforecast SeasonalNaive(7)"], 1),
               "wall_time_ratio_vs_autoets": round(seconds["shoplens global LightGBM"] / seconds["statsforecast AutoETS(7)"], 2),
               "series": int(df[ID].nunique()), "test_rows": len(test)}
    baselines = {r["model"].replace("statsforecast ", "") + "_smape": round(r["sMAPE %"], 3) for r in rows if r["model"].startswith("stats")}
    baselines["readme_7day_naive_smape"] = README_SNAIVE_SMAPE
    return BenchResult(
        suite="forecast-favorita", dataset=f"favorita-store-transactions ({metrics['series']} stores, daily)",
        protocol=(f"last {HORIZON} days held out ({test_start.date()} .. {last.date()}), sMAPE and MAE over store-days; "
                  "model size fixed a priori and checked on the 28 days before the holdout"),
        metrics=metrics, baselines=baselines, seconds=total.seconds,
        rows=[{**r, "model": "validation: " + r["model"]} for r in valid_rows] + rows)
