"""Forecasting a workspace: what `shoplens forecast WS --horizon 28 --level item` and the demo call.

    result = forecast_workspace(ws, horizon=28, level="item")
    result.forecast      # unique_id, ds, yhat, yhat_lo80, yhat_hi80
    result.report        # DataReport: gaps filled, returns, one-point and all-zero series
    result.chart         # PNG of the largest series (history + forecast + 80% band)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from shoplens.forecast.base import DS, ID, Y, DataReport, prepare, to_long
from shoplens.forecast.chart import forecast_chart


@dataclass
class WorkspaceForecast:
    forecast: pd.DataFrame
    report: DataReport
    model: str
    level: str
    chart: Path | None = None
    chart_series: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self, max_rows: int | None = None) -> dict:
        rows = self.forecast if max_rows is None else self.forecast.head(max_rows)
        return {"model": self.model, "level": self.level, "series": int(self.forecast[ID].nunique()),
                "report": self.report.to_dict(), "chart": str(self.chart) if self.chart else None,
                "chart_series": self.chart_series, "notes": self.notes,
                "forecast": rows.assign(ds=rows[DS].dt.strftime("%Y-%m-%d")).to_dict(orient="records")}


def _future_exog(history: pd.DataFrame, horizon: int, freq: str) -> pd.DataFrame:
    """Prices and promotions ahead are unknown to the workspace: assume the last regular (non-promo) price
    and no promotion."""
    from shoplens.forecast.base import future_frame

    fut = future_frame(history, horizon, freq)
    regular = history[history["promo"] == 0] if "promo" in history else history
    if "price" in history:
        last_price = regular.groupby(ID)["price"].last().combine_first(history.groupby(ID)["price"].last())
        fut["price"] = fut[ID].map(last_price)
    if "promo" in history:
        fut["promo"] = 0.0
    return fut


def forecast_workspace(ws, horizon: int = 28, level: str = "item", *, model: str = "auto", levels=(80,),
                       chart: bool = True, n_estimators: int = 100) -> WorkspaceForecast:
    """Forecast every series of `ws.table("sales")` at `level` (item, item_store, store, category).

    model: "gbm" (global LightGBM with price / promo, needs at least 2 x horizon + 14 periods), "ets"
    (statsforecast AutoETS with conformal intervals), or "auto" (gbm when the history allows, else ets)."""
    sales = ws.table("sales")
    if sales.empty:
        raise ValueError("the workspace has no sales rows; ingest sales first (shoplens ingest WS FILE --kind sales)")
    items = ws.table("items") if level == "category" else None
    df = to_long(sales, level, items=items)
    panel, report = prepare(df)
    freq = panel.attrs["freq"]
    periods = panel[DS].nunique()
    notes = []
    season = 7 if freq == "D" else (52 if freq.startswith("W") else 12)
    if model == "auto":
        model = "gbm" if periods >= 2 * horizon + 14 else "ets"
        notes.append(f"model auto -> {model} ({periods} periods of history)")
    if model == "gbm":
        from shoplens.forecast.gbm import GlobalGBM

        exog = tuple(c for c in ("price", "promo") if c in panel)
        fitted = GlobalGBM(horizon=horizon, season_length=season, windows=(7, 28) if freq == "D" else (4, 13),
                           exog=exog, levels=tuple(levels), freq=freq, origin_step=3, n_estimators=n_estimators,
                           learning_rate=0.1, max_rows=100_000).fit(panel)
        fc = fitted.predict(horizon, future=_future_exog(panel, horizon, freq) if exog else None)
        if exog:
            notes.append("future prices = last regular price, no promotions")
    elif model == "ets":
        from shoplens.forecast.statistical import StatsForecaster

        conformal = periods > 3 * horizon + season
        fc = StatsForecaster("auto_ets", season_length=season if periods > 2 * season else 1, freq=freq,
                             conformal=conformal).fit(panel).predict(horizon, levels=levels)
    else:
        raise ValueError(f"model must be auto, gbm or ets, got {model!r}")
    if report.single_point_series or report.all_zero_series:
        notes.append(f"{len(report.single_point_series)} one-point and {len(report.all_zero_series)} all-zero series "
                     "are forecast by their last value")
    result = WorkspaceForecast(fc, report, model, level, notes=notes)
    if chart and not fc.empty:
        top = panel.groupby(ID)[Y].sum().idxmax()
        hist = panel[panel[ID] == top].tail(4 * horizon)
        f = fc[fc[ID] == top]
        lo, hi = (f"yhat_lo{levels[0]}", f"yhat_hi{levels[0]}") if levels else ("yhat", "yhat")
        series = lambda frame, column: frame.set_index(DS)[column]  # noqa: E731
        result.chart = forecast_chart(ws.artifact_dir("forecast") / f"forecast_{level}.png", series(hist, Y),
                                      series(f, "yhat"), series(f, lo), series(f, hi),
                                      title=f"{top}: last {len(hist)} days and the next {horizon}",
                                      level=levels[0] if levels else 80)
        result.chart_series = str(top)
    return result
