"""Inventory policy from forecast quantiles: safety stock, reorder point, order-up-to level; and a simulator.

Periodic review with lead time: every `review_period` days we order up to S; what we order arrives
`lead_time` days later. The order must cover demand over the protection interval P = lead_time +
review_period. From a daily forecast with median m_d and an interval [lo_d, hi_d] of level L, each day's
spread is sigma_d = (hi_d - lo_d) / (2 z_L); treating days as independent over P,

    mu_P = sum mean_d,   sigma_P = sqrt(sum sigma_d^2)
    safety stock   = z_service * sigma_P
    order-up-to S  = mu_P + safety stock                 (periodic review)
    reorder point  = mu_L + z_service * sigma_L          (continuous review, the lead time alone)

with z_service the normal quantile of the target cycle service level (probability of no stock-out in a
cycle). That z assumes the daily errors are independent and normal. They are not: a forecast that is low
on Monday is usually low on Tuesday too, so the summed error spreads wider than sqrt(sum sigma_d^2).
`SafetyStockCalibrator` measures it instead: from a rolling-origin backtest on the training period it takes
the forecast errors summed over the protection interval (and over the lead time), divides each sum by the
spread the independent formula gives, and uses the service-level quantile of those ratios as z. Pass it
as `calibration=` to `policy_levels` / `reorder_table`.

`simulate` replays real demand against the policy with lost sales and reports the fill rate (share of
demand served from stock) and the average stock on hand.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from shoplens.forecast.base import DS, ID, Y, interval_columns


@dataclass
class PolicyLevels:
    mean_demand: float  # over the protection interval
    sigma: float
    safety_stock: float
    order_up_to: float
    reorder_point: float


def policy_levels(mean: np.ndarray, sigma: np.ndarray, *, lead_time: int, review_period: int,
                  service_level: float, calibration: SafetyStockCalibrator | None = None) -> PolicyLevels:
    """Levels for one series from its daily forecast mean and spread, starting at the next day.

    Without `calibration` the safety factor is the normal z of `service_level`; with a fitted
    `SafetyStockCalibrator` (same lead time, review period and service level) it is the measured one."""
    z_protection = z_lead = norm.ppf(service_level)
    if calibration is not None:
        calibration.check_matches(lead_time=lead_time, review_period=review_period, service_level=service_level)
        z_protection, z_lead = calibration.protection_z_, calibration.lead_z_
    p = lead_time + review_period
    mean, sigma = np.asarray(mean, float), np.asarray(sigma, float)
    if len(mean) < p:  # the forecast is shorter than the protection interval: extend with its average day
        mean = np.r_[mean, np.full(p - len(mean), mean.mean() if len(mean) else 0.0)]
        sigma = np.r_[sigma, np.full(p - len(sigma), sigma.mean() if len(sigma) else 0.0)]
    mu_p, sigma_p = mean[:p].sum(), np.sqrt(np.sum(sigma[:p] ** 2))
    mu_l, sigma_l = mean[:lead_time].sum(), np.sqrt(np.sum(sigma[:lead_time] ** 2))
    safety = z_protection * sigma_p
    return PolicyLevels(float(mu_p), float(sigma_p), float(safety), float(mu_p + safety),
                        float(mu_l + z_lead * sigma_l))


def daily_spread(forecast: pd.DataFrame, level: int = 80) -> np.ndarray:
    """sigma per forecast row from its central interval of `level` (normal approximation)."""
    lo, hi = interval_columns(level)
    return np.clip((forecast[hi] - forecast[lo]).to_numpy(float), 0, None) / (2 * norm.ppf(0.5 + level / 200))


def reorder_table(forecast: pd.DataFrame, *, service_level: float = 0.95, lead_time: int = 7,
                  review_period: int = 7, level: int = 80, on_hand: pd.Series | None = None,
                  calibration: SafetyStockCalibrator | None = None) -> pd.DataFrame:
    """One row per series: policy levels and, given stock on hand (indexed by unique_id), what to order now."""
    fc = forecast.sort_values([ID, DS]).assign(sigma=daily_spread(forecast.sort_values([ID, DS]), level))
    rows = []
    for uid, g in fc.groupby(ID, sort=True):
        levels = policy_levels(np.clip(g["yhat"].to_numpy(), 0, None), g["sigma"].to_numpy(), lead_time=lead_time,
                               review_period=review_period, service_level=service_level, calibration=calibration)
        rows.append({ID: uid, **asdict(levels)})
    table = pd.DataFrame(rows)
    if on_hand is not None:
        table["on_hand"] = table[ID].map(on_hand).fillna(0.0).to_numpy()
        table["order_qty"] = np.ceil(np.clip(table["order_up_to"] - table["on_hand"], 0, None))
        table["reorder_now"] = table["on_hand"] <= table["reorder_point"]
    return table


class SafetyStockCalibrator:
    """Safety factors measured on backtest errors summed over the protection interval and the lead time.

        backtest_rows = backtest(make_model, train, horizon=28, n_windows=2)[1]   # training period only
        cal = SafetyStockCalibrator(lead_time=3, review_period=7, service_level=0.95, level=80).fit(backtest_rows)
        policy_levels(mean, sigma, lead_time=3, review_period=7, service_level=0.95, calibration=cal)

    `fit` takes forecasts joined to actuals (unique_id, ds, y, yhat, the `level` interval columns, origin).
    For every series, origin and start day whose window lies inside the forecast horizon it computes the
    shortfall sum(y) - sum(max(yhat, 0)) over the window and divides it by the independent-days spread
    sqrt(sum sigma_d^2); `protection_z_` / `lead_z_` are the service-level quantiles of those ratios over all
    windows (pooled across series, so every series gets the same factor in units of its own spread).
    Windows with zero spread carry no scale and are left out (`unscaled_windows_` counts them).
    `variance_ratio_` = var(ratios over the protection interval): 1 if errors were independent and the
    intervals right; above 1 when errors move together over days.
    """

    def __init__(self, *, lead_time: int = 7, review_period: int = 7, service_level: float = 0.95, level: int = 80):
        self.lead_time = lead_time
        self.review_period = review_period
        self.service_level = service_level
        self.level = level

    def fit(self, backtest_rows: pd.DataFrame) -> "SafetyStockCalibrator":
        rows = backtest_rows.assign(
            # periods since the origin, so a missing row leaves a gap instead of shifting the days after it
            step=backtest_rows.groupby("origin")[DS].rank(method="dense").astype(int) - 1,
            shortfall=(np.clip(backtest_rows[Y].to_numpy(float), 0, None)
                       - np.clip(backtest_rows["yhat"].to_numpy(float), 0, None)),
            variance=daily_spread(backtest_rows, self.level) ** 2)
        shortfall = rows.pivot(index=["origin", ID], columns="step", values="shortfall").to_numpy()
        variance = rows.pivot(index=["origin", ID], columns="step", values="variance").to_numpy()
        protection_days = self.lead_time + self.review_period
        protection, self.unscaled_windows_ = self._window_ratios(shortfall, variance, protection_days)
        lead, _ = self._window_ratios(shortfall, variance, self.lead_time)
        if len(protection) == 0 or len(lead) == 0:
            raise ValueError("no backtest window is as long as the protection interval with a non-zero spread")
        self.protection_z_ = self._quantile(protection)
        self.lead_z_ = self._quantile(lead)
        self.normal_z_ = float(norm.ppf(self.service_level))
        self.variance_ratio_ = float(np.var(protection))
        self.windows_ = len(protection)
        return self

    @staticmethod
    def _window_ratios(shortfall: np.ndarray, variance: np.ndarray, days: int) -> tuple[np.ndarray, int]:
        """Summed shortfall / independent spread for every run of `days` consecutive steps without a gap,
        and how many such runs had zero spread (left out)."""
        if shortfall.shape[1] < days:
            return np.empty(0), 0
        windows = np.lib.stride_tricks.sliding_window_view
        summed = windows(shortfall, days, axis=1).sum(-1)
        spread = np.sqrt(windows(variance, days, axis=1).sum(-1))
        ok = np.isfinite(summed) & np.isfinite(spread)
        return summed[ok & (spread > 0)] / spread[ok & (spread > 0)], int(np.sum(ok & (spread <= 0)))

    def _quantile(self, ratios: np.ndarray) -> float:
        # the finite-sample (split-conformal) rank, so a small backtest errs towards more stock
        n = len(ratios)
        return float(np.quantile(ratios, min(1.0, np.ceil((n + 1) * self.service_level) / n)))

    def check_matches(self, *, lead_time: int, review_period: int, service_level: float) -> None:
        fitted = (self.lead_time, self.review_period, self.service_level)
        if fitted != (lead_time, review_period, service_level):
            raise ValueError(f"calibrated for (lead_time, review_period, service_level) = {fitted}, "
                             f"used with {(lead_time, review_period, service_level)}")


@dataclass
class SimulationResult:
    demand: float
    served: float
    fill_rate: float  # served / demand
    cycle_service: float  # share of review cycles without a stock-out
    average_stock: float  # mean units on hand at the end of each day
    orders: int


def simulate(demand: np.ndarray, order_up_to: np.ndarray, *, lead_time: int, review_period: int,
             initial_stock: float | None = None) -> SimulationResult:
    """Replay daily `demand` (lost sales) under a periodic order-up-to policy.

    order_up_to[d] is the level used if day d is a review day (day 0, review_period, ...). Stock starts at
    order_up_to[0] unless given, as if the policy had been running."""
    demand = np.clip(np.asarray(demand, float), 0, None)  # returns are not demand the shelf must meet
    days = len(demand)
    on_hand = float(order_up_to[0] if initial_stock is None else initial_stock)
    arriving = np.zeros(days + lead_time + 1)
    served = stock_sum = 0.0
    cycles = stockout_cycles = orders = 0
    cycle_short = False
    for d in range(days):
        on_hand += arriving[d]
        if d % review_period == 0:
            if d > 0:
                cycles += 1
                stockout_cycles += cycle_short
            cycle_short = False
            position = on_hand + arriving[d + 1: d + lead_time + 1].sum()
            qty = max(0.0, np.ceil(order_up_to[d] - position))
            if qty > 0:
                arriving[d + lead_time] += qty
                orders += 1
        sold = min(on_hand, demand[d])
        cycle_short |= sold < demand[d]
        on_hand -= sold
        served += sold
        stock_sum += on_hand
    cycles += 1
    stockout_cycles += cycle_short
    total = demand.sum()
    return SimulationResult(float(total), served, served / total if total > 0 else 1.0,
                            1 - stockout_cycles / cycles, stock_sum / max(days, 1), orders)
