"""`shoplens bench inventory`: are the 80% intervals right, and does the policy built on them hit its target?

1. Intermittent demand, PBS scripts (retail-ts-sktime, monthly, 44% zeros): rolling origin, 36 windows of
   6 months every 4 months; statsforecast CrostonOptimized / ADIDA / SeasonalNaive with split-conformal
   intervals (5 calibration windows). Coverage of the 80% interval (target 75-85%).
2. Simulator (true demand known; qty is gamma-Poisson around it): item x store daily series, last 28 days
   held out; ShopLens global LightGBM (quantile models + conformal widening) against statsforecast
   AutoETS(7) (native intervals) and SeasonalNaive(7) (conformal). Coverage of the realised qty.
3. Policy: periodic review (7 days), lead time 3 days, 95% cycle service target; order-up-to levels from each
   model's forecast mean and interval width; 28 held-out days replayed with lost sales. Fill rate, share of
   cycles without stock-out, and average units on hand. Each model's policy is run twice on the same
   forecast: safety stock from the normal z with days treated as independent, and from a
   `SafetyStockCalibrator` fitted on a rolling-origin backtest of the same model inside the training period
   (2 windows of 28 days, the last one ending where the holdout starts), so the holdout never informs it.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from shoplens.bench.harness import BenchResult, Stopwatch
from shoplens.datasets import load
from shoplens.datasets.synthetic import marketplace
from shoplens.forecast.backtest import backtest, score, split_at
from shoplens.forecast.base import DS, ID, Y, to_long
from shoplens.forecast.gbm import GlobalGBM
from shoplens.forecast.statistical import StatsForecaster
from shoplens.inventory.policy import SafetyStockCalibrator, daily_spread, policy_levels, simulate

HORIZON = 28
LEAD_TIME, REVIEW, SERVICE = 3, 7, 0.95
CALIBRATION_WINDOWS = 2  # rolling-origin backtest windows (of HORIZON days) inside the training period


def pbs_coverage(data=None) -> list[dict]:
    s = load("retail-ts-sktime", data).tables["sales"]
    pbs = s[s["item_id"] == "pbs_scripts"].rename(columns={"item_id": ID, "ts": DS, "qty": Y})[[ID, DS, Y]]
    rows = []
    for model in ("croston", "adida", "seasonal_naive"):
        with Stopwatch() as sw:
            scores, _ = backtest(lambda: StatsForecaster(model, season_length=12, freq="MS", conformal=True,
                                                         conformal_windows=5), pbs, horizon=6, n_windows=36, step=4)
        rows.append({"part": "PBS (intermittent)", "model": f"statsforecast {model} + conformal",
                     "coverage80": float(scores["coverage80"].mean()), "MAE": float(scores["wmae"].mean()),
                     "seconds": sw.seconds})
    return rows


def policy_simulation(forecast: pd.DataFrame, test: pd.DataFrame,
                      calibration: SafetyStockCalibrator | None = None) -> dict:
    """Replay each series' held-out demand under order-up-to levels recomputed on every review day."""
    fc = forecast.sort_values([ID, DS]).assign(sigma=lambda f: daily_spread(f, 80))
    actual = test.sort_values([ID, DS])
    totals = {"demand": 0.0, "served": 0.0, "stock": 0.0, "cycles_ok": 0.0, "series": 0}
    for uid, g in fc.groupby(ID, sort=True):
        demand = actual.loc[actual[ID] == uid, Y].to_numpy()
        mean, sigma = np.clip(g["yhat"].to_numpy(), 0, None), g["sigma"].to_numpy()
        days = min(len(demand), len(mean))
        levels = np.array([policy_levels(mean[d:], sigma[d:], lead_time=LEAD_TIME, review_period=REVIEW,
                                         service_level=SERVICE, calibration=calibration).order_up_to
                           for d in range(days)])
        result = simulate(demand[:days], levels, lead_time=LEAD_TIME, review_period=REVIEW)
        totals["demand"] += result.demand
        totals["served"] += result.served
        totals["stock"] += result.average_stock
        totals["cycles_ok"] += result.cycle_service
        totals["series"] += 1
    n = max(totals["series"], 1)
    return {"fill_rate": totals["served"] / max(totals["demand"], 1e-9), "cycle_service": totals["cycles_ok"] / n,
            "avg_stock_per_series": totals["stock"] / n, "avg_daily_demand_per_series": totals["demand"] / n / HORIZON}


def simulator_part(n_items: int, seed: int) -> tuple[list[dict], dict]:
    mp = marketplace(n_users=200, n_items=n_items, days=180, seed=seed)
    df = to_long(mp.tables["sales"], "item_store")
    df["store"] = df[ID].str.split("@").str[1]
    train, test = split_at(df, df[DS].max() - pd.Timedelta(days=HORIZON - 1))
    models = {  # printed name: (metrics key, factory)
        "shoplens global LightGBM (quantiles + conformal)": ("lightgbm", lambda: GlobalGBM(
            horizon=HORIZON, season_length=7, windows=(7, 28), exog=("price", "promo"), static=("store",),
            levels=(80,), freq="D", origin_step=3, n_estimators=150, learning_rate=0.08, max_rows=150_000)),
        "statsforecast AutoETS(7)": ("peer_autoets", lambda: StatsForecaster("auto_ets", season_length=7, freq="D")),
        "statsforecast SeasonalNaive(7) + conformal": ("peer_seasonal_naive", lambda: StatsForecaster(
            "seasonal_naive", season_length=7, freq="D", conformal=True, conformal_windows=3)),
    }
    rows, metrics = [], {}
    for name, (short, make) in models.items():
        with Stopwatch() as sw:
            fc = make().fit(train).predict(HORIZON, future=test[[ID, DS, "price", "promo"]], levels=(80,))
        s = score(test, fc)
        with Stopwatch() as calibration_sw:
            _, backtest_rows = backtest(make, train, horizon=HORIZON, n_windows=CALIBRATION_WINDOWS,
                                        exog=("price", "promo"))
            calibration = SafetyStockCalibrator(lead_time=LEAD_TIME, review_period=REVIEW, service_level=SERVICE,
                                                level=80).fit(backtest_rows)
        for safety, cal in (("normal z, independent days", None), ("calibrated on training backtest", calibration)):
            policy = policy_simulation(fc, test, cal)
            rows.append({"part": "simulator", "model": name, "safety stock": safety, "coverage80": s["coverage80"],
                         "MAE": s["wmae"], "z (protection)": cal.protection_z_ if cal else calibration.normal_z_,
                         "fill rate": policy["fill_rate"], "cycle service": policy["cycle_service"],
                         "avg stock": policy["avg_stock_per_series"],
                         "seconds": sw.seconds + (calibration_sw.seconds if cal else 0.0),
                         "series/s": train[ID].nunique() / sw.seconds})
            key = "calibrated" if cal else "independent"
            metrics[f"{short}_{key}_fill_rate"] = round(policy["fill_rate"], 4)
            metrics[f"{short}_{key}_cycle_service"] = round(policy["cycle_service"], 4)
            metrics[f"{short}_{key}_avg_stock_per_series"] = round(policy["avg_stock_per_series"], 2)
        metrics[f"{short}_coverage80"] = round(s["coverage80"], 4)
        metrics[f"{short}_calibrated_z"] = {"protection": round(calibration.protection_z_, 3),
                                            "lead": round(calibration.lead_z_, 3),
                                            "normal": round(calibration.normal_z_, 3),
                                            "variance_ratio": round(calibration.variance_ratio_, 2),
                                            "windows": calibration.windows_,
                                            "backtest_seconds": round(calibration_sw.seconds, 1)}
        if name.startswith("shoplens"):
            metrics.update(sim_coverage80=round(s["coverage80"], 4), sim_mae=round(s["wmae"], 3),
                           fill_rate=metrics[f"{short}_calibrated_fill_rate"],
                           cycle_service=metrics[f"{short}_calibrated_cycle_service"],
                           avg_stock_per_series=metrics[f"{short}_calibrated_avg_stock_per_series"],
                           avg_daily_demand_per_series=round(policy["avg_daily_demand_per_series"], 2),
                           sim_series=int(train[ID].nunique()))
    return rows, metrics


def run(quick: bool = False, data=None, seed: int = 0) -> BenchResult:
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    with Stopwatch() as total:
        pbs_rows = pbs_coverage(data)
        sim_rows, metrics = simulator_part(n_items=30 if quick else 100, seed=seed)
    best_pbs = next(r for r in pbs_rows if "croston" in r["model"])
    metrics.update(pbs_coverage80_croston=round(best_pbs["coverage80"], 4),
                   pbs_coverage80_all={r["model"]: round(r["coverage80"], 4) for r in pbs_rows},
                   coverage_targets_met=bool(abs(best_pbs["coverage80"] - 0.8) <= 0.05 and abs(metrics["sim_coverage80"] - 0.8) <= 0.05),
                   service_target=SERVICE, lead_time_days=LEAD_TIME, review_days=REVIEW,
                   fill_rate_target_met=bool(metrics["fill_rate"] >= SERVICE))
    return BenchResult(
        suite="inventory", dataset="retail-ts-sktime PBS + marketplace simulator (180 days, item x store)",
        protocol=("80% interval coverage: PBS rolling origin 36 x 6 months; simulator last 28 days. Policy: "
                  f"review {REVIEW} d, lead {LEAD_TIME} d, {SERVICE:.0%} cycle service target, lost sales; safety "
                  f"stock calibrated on a {CALIBRATION_WINDOWS} x {HORIZON}-day rolling backtest inside the training "
                  "period (normal-z policy reported alongside)"),
        metrics=metrics, baselines={}, seconds=total.seconds, rows=pbs_rows + sim_rows)
