"""The reorder list of a workspace: what `shoplens demand inventory WS --service-level 0.95` and the demo call.

    table = reorder_list(ws, service_level=0.95)   # per item x store: safety stock, reorder point, order-up-to
    table.attrs["safety"]                          # which safety-stock rule was used, and its factor
    table.attrs["warnings"]                        # the forecast's: series too short, and their fallback
"""

from __future__ import annotations

import pandas as pd
from scipy.stats import norm

from shoplens.forecast.api import Progress, forecast_workspace, no_progress
from shoplens.forecast.backtest import backtest
from shoplens.forecast.base import DS, prepare, to_long
from shoplens.inventory.policy import SafetyStockCalibrator, reorder_table

CALIBRATION_WINDOWS = 2  # rolling-origin backtest windows of lead_time + review_period days


class CalibrationSkipped(ValueError):
    """The workspace's history cannot back a calibration of the model it is forecast with."""


class _HistoryBefore:
    """The workspace as it stood before `origin`: its sales table cut there, every other table as is."""

    def __init__(self, ws, sales: pd.DataFrame, origin: pd.Timestamp):
        self._ws, self._sales, self._origin = ws, sales, origin

    def table(self, name: str) -> pd.DataFrame:
        if name == "sales":
            return self._sales[pd.to_datetime(self._sales["ts"]) < self._origin]
        return self._ws.table(name)


class _WorkspaceForecaster:
    """`forecast_workspace` as a backtest model: refit on the sales before the window's origin, with the same
    model choice, settings and assumptions about future prices and promotions as the product forecast."""

    def __init__(self, ws, sales: pd.DataFrame, *, level: str, model: str, n_estimators: int, freq: str,
                 progress: Progress = no_progress):
        self.ws, self.sales, self.level, self.model = ws, sales, level, model
        self.n_estimators, self.step = n_estimators, pd.tseries.frequencies.to_offset(freq)
        self.progress = progress

    def fit(self, train: pd.DataFrame) -> "_WorkspaceForecaster":
        self.origin = train[DS].max() + self.step
        return self

    def predict(self, horizon: int, future=None, levels=(80,)) -> pd.DataFrame:
        result = forecast_workspace(_HistoryBefore(self.ws, self.sales, self.origin), horizon=horizon,
                                    level=self.level, levels=tuple(levels), chart=False,
                                    n_estimators=self.n_estimators,
                                    progress=lambda step, done: self.progress(
                                        f"backtest from {self.origin.date()}: {step}", done))
        if result.model != self.model:  # "auto" would pick another model on the shorter history
            raise CalibrationSkipped(
                f"the history before {self.origin.date()} is too short for the {self.model} model "
                f"(it would be forecast with {result.model})")
        return result.forecast


def calibrate_workspace(ws, *, model: str, level: str, lead_time: int, review_period: int, service_level: float,
                        n_estimators: int = 100, n_windows: int = CALIBRATION_WINDOWS,
                        progress: Progress | None = None) -> SafetyStockCalibrator:
    """A `SafetyStockCalibrator` fitted on a rolling-origin backtest of the workspace forecast (`model`, as
    `forecast_workspace` chose it) on the workspace's own sales: `n_windows` windows of lead_time +
    review_period periods, the last ending on the last sales date; each refit on earlier sales only.
    Raises CalibrationSkipped when the history is too short: fewer than (n_windows + 2) x horizon periods, or
    the older origins would get another model than `model` from forecast_workspace's "auto" rule.
    progress(step, fraction) hears of each window's forecast (fraction over all windows)."""
    sales = ws.table("sales")
    items = ws.table("items") if level == "category" else None
    panel, _ = prepare(to_long(sales, level, items=items))
    horizon = lead_time + review_period
    periods = panel[DS].nunique()
    if periods < (n_windows + 2) * horizon:  # the oldest window trains on at least 2 x horizon periods
        raise CalibrationSkipped(f"{periods} periods of history are too short for {n_windows} backtest windows of "
                                  f"{horizon} periods after at least {2 * horizon} periods of training "
                                  f"(needs {(n_windows + 2) * horizon})")
    progress = progress or no_progress
    windows = iter(range(n_windows))

    def make():
        window = next(windows)
        return _WorkspaceForecaster(ws, sales, level=level, model=model, n_estimators=n_estimators,
                                    freq=panel.attrs["freq"],
                                    progress=lambda step, done: progress(step, (window + done) / n_windows))

    _, rows = backtest(make, panel, horizon=horizon, n_windows=n_windows, levels=(80,))
    try:
        return SafetyStockCalibrator(lead_time=lead_time, review_period=review_period, service_level=service_level,
                                     level=80).fit(rows)
    except ValueError as e:
        raise CalibrationSkipped(str(e)) from None


def reorder_list(ws, *, service_level: float = 0.95, lead_time: int = 7, review_period: int = 7,
                 level: str = "item_store", on_hand: pd.Series | None = None, top: int | None = None,
                 calibrate: bool = True, n_estimators: int = 100, progress: Progress | None = None) -> pd.DataFrame:
    """Policy levels per series from an 80% interval forecast over lead_time + review_period days.

    on_hand: units in stock per unique_id ("item@store" at level item_store); when given, the table also says
    what to order now. Sorted by order-up-to level, largest first; `top` keeps the first rows.

    Safety stock: with `calibrate` (the default) the safety factor is measured, not assumed. A rolling-origin
    backtest of the same forecast (same model choice, `n_estimators`, and assumed future prices / no
    promotions) on the workspace's own sales, 2 windows of lead_time + review_period periods ending on the last
    sales date, each refit on earlier sales only, fits a `SafetyStockCalibrator`: the service-level quantile of
    the forecast shortfall summed over the protection interval (and the lead time), in units of the
    independent-days spread, replaces the normal z. That costs 2 more forecast fits (about 3x the time of the
    plain list). When the history is too short for the backtest (fewer than 4 x (lead_time + review_period)
    periods, or too short for the same model at the older origins) the normal-z rule is used and
    attrs["safety"]["reason"] says why.

    `table.attrs["safety"]` says which rule was used: rule ("calibrated" or "normal z"), z_protection,
    z_lead, normal_z, and for a calibration windows, variance_ratio and backtest_windows; or reason.
    `table.attrs["notes"]` holds the forecast's notes (model choice, assumed prices), `attrs["warnings"]` its
    warnings and `attrs["fallbacks"]` the series it forecast by a simpler model (records of unique_id, periods,
    model, reason; forecast_workspace).
    progress(step, fraction), when given, hears what is being done (the forecast, then each backtest window)."""
    progress = progress or no_progress
    horizon = lead_time + review_period
    share = 1 / (1 + CALIBRATION_WINDOWS) if calibrate else 1.0  # each forecast fit costs about the same
    result = forecast_workspace(ws, horizon=horizon, level=level, levels=(80,), chart=False,
                                n_estimators=n_estimators,
                                progress=lambda step, done: progress(f"forecast: {step}", share * done))
    normal_z = float(norm.ppf(service_level))
    safety = {"rule": "normal z", "z_protection": normal_z, "z_lead": normal_z, "normal_z": normal_z}
    calibration = None
    if calibrate:
        try:
            calibration = calibrate_workspace(ws, model=result.model, level=level, lead_time=lead_time,
                                              review_period=review_period, service_level=service_level,
                                              n_estimators=n_estimators,
                                              progress=lambda step, done: progress(step, share + (1 - share) * done))
        except CalibrationSkipped as e:
            safety["reason"] = f"not calibrated: {e}"
        else:
            safety.update(rule="calibrated", z_protection=calibration.protection_z_, z_lead=calibration.lead_z_,
                          windows=calibration.windows_, variance_ratio=calibration.variance_ratio_,
                          backtest_windows=CALIBRATION_WINDOWS, model=result.model)
    else:
        safety["reason"] = "calibration turned off"
    table = reorder_table(result.forecast, service_level=service_level, lead_time=lead_time,
                          review_period=review_period, level=80, on_hand=on_hand, calibration=calibration)
    table = table.sort_values("order_up_to", ascending=False, ignore_index=True)
    table = table.head(top) if top else table
    table.attrs["safety"] = safety
    table.attrs["notes"] = list(result.notes)
    table.attrs["warnings"] = list(result.warnings)
    table.attrs["fallbacks"] = result.fallbacks.to_dict(orient="records")  # records: attrs are compared on concat
    progress("done", 1.0)
    return table


def describe_safety(safety: dict, *, lead_time: int, review_period: int) -> str:
    """One line for people: which safety-stock rule a reorder list used and its factor against the normal z."""
    if safety["rule"] == "calibrated":
        return (f"safety stock: calibrated on a rolling backtest of the {safety['model']} forecast "
                f"({safety['backtest_windows']} windows of {lead_time + review_period} days, {safety['windows']} "
                f"series x window error sums): z = {safety['z_protection']:.2f} over the protection interval, "
                f"{safety['z_lead']:.2f} over the lead time, versus the normal z {safety['normal_z']:.2f}")
    return (f"safety stock: normal z = {safety['normal_z']:.2f} (days treated as independent); "
            f"{safety.get('reason', '')}")
