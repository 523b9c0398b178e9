"""Forecasting a workspace: what `shoplens demand forecast WS --horizon 28 --level item` and the demo call.

    result = forecast_workspace(ws, horizon=28, level="item")
    result.forecast      # unique_id, ds, yhat, yhat_lo80, yhat_hi80
    result.report        # DataReport: gaps filled, returns, one-point and all-zero series
    result.chart         # PNG of the largest series (history + forecast + 80% band)
    result.warnings      # what could not be forecast as asked, with the minimum history it needs
    result.fallbacks     # unique_id, periods, model, reason: the series forecast by a simpler, named model

Too little history is said, never hidden: a series shorter than two seasons (14 days of daily sales, 104
weeks of weekly, 24 months of monthly) cannot give the GBM's or the seasonal ETS's seasonal lags, so it is forecast by seasonal naive (at least one season
and a day) or its mean (less), and listed in `fallbacks`. `progress(step, fraction)`, when given, is told
what is being done and how much of the job is done (0..1); the library prints nothing itself.
"""

from __future__ import annotations

from collections.abc import Callable
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
    warnings: list[str] = field(default_factory=list)
    fallbacks: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FALLBACK_COLUMNS))

    def to_dict(self, max_rows: int | None = None) -> dict:
        rows = self.forecast if max_rows is None else self.forecast.head(max_rows)
        return {"model": self.model, "level": self.level, "series": int(self.forecast[ID].nunique()),
                "report": self.report.to_dict(), "chart": str(self.chart) if self.chart else None,
                "chart_series": self.chart_series, "notes": self.notes, "warnings": self.warnings,
                "fallbacks": self.fallbacks.to_dict(orient="records"),
                "forecast": rows.assign(ds=rows[DS].dt.strftime("%Y-%m-%d")).to_dict(orient="records")}


Progress = Callable[[str, float], None]  # (what is being done, share of the job done 0..1)
FALLBACK_COLUMNS = ["unique_id", "periods", "model", "reason"]
SEASONS_NEEDED = 2  # seasonal lags (GBM) and a seasonal ETS need two whole seasons of a series' own history


def no_progress(step: str, fraction: float) -> None:
    """The default progress callback: the library says nothing."""


def season_length(freq: str) -> int:
    return 7 if freq == "D" else (52 if freq.startswith("W") else 12)


def short_series(panel: pd.DataFrame, season: int, model: str) -> tuple[pd.DataFrame, str | None]:
    """The series with fewer than SEASONS_NEEDED seasons of their own history, each with its named fallback
    (seasonal naive from one season and a day, else the series' mean), and the warning that says so."""
    periods = panel.groupby(ID)[DS].size()
    need = SEASONS_NEEDED * season
    short = periods[periods < need]
    if short.empty:
        return pd.DataFrame(columns=FALLBACK_COLUMNS), None
    fallback = pd.Series(["seasonal_naive" if n > season else "mean" for n in short], index=short.index)
    reason = [f"{n} periods of history; {model} needs at least {need}" for n in short]
    table = pd.DataFrame({ID: short.index.astype(str), "periods": short.to_numpy(), "model": fallback.to_numpy(),
                          "reason": reason})
    counts = fallback.value_counts()
    how = " and ".join(f"{counts[name]} by {'seasonal naive' if name == 'seasonal_naive' else 'their mean'}"
                       for name in ("seasonal_naive", "mean") if name in counts)
    warning = (f"{len(short)} of {len(periods)} series have less than {need} periods of history (two seasons of "
               f"{season}, the least the {model} model needs): they are forecast {how} instead "
               f"(fallbacks lists them; shortest: {int(short.min())} periods)")
    return table, warning


def _fallback_forecast(panel: pd.DataFrame, fallbacks: pd.DataFrame, horizon: int, season: int, freq: str,
                       levels) -> pd.DataFrame:
    """Forecasts of the short series by their named fallback model."""
    from shoplens.forecast.statistical import StatsForecaster

    parts = []
    for name, group in fallbacks.groupby("model"):
        rows = panel[panel[ID].astype(str).isin(group[ID])]
        parts.append(StatsForecaster(name, season_length=season, freq=freq).fit(rows).predict(horizon, levels=levels))
    return pd.concat(parts, ignore_index=True)


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
                       chart: bool = True, n_estimators: int = 100,
                       progress: Progress | None = None) -> WorkspaceForecast:
    """Forecast every series of `ws.table("sales")` at `level` (item, item_store, store, category).

    model: "gbm" (global LightGBM with price / promo, needs at least 2 x horizon + 14 periods), "ets"
    (statsforecast AutoETS with conformal intervals where the series is long enough for them), or "auto" (gbm
    when the history allows, else ets). Series shorter than two seasons get a named fallback (module doc)."""
    progress = progress or no_progress
    progress("reading sales", 0.0)
    sales = ws.table("sales")
    if sales.empty:
        raise ValueError("the workspace has no sales rows; ingest sales first (shoplens ingest WS FILE --kind sales)")
    items = ws.table("items") if level == "category" else None
    df = to_long(sales, level, items=items)
    panel, report = prepare(df)
    freq = panel.attrs["freq"]
    periods = panel[DS].nunique()
    notes, warnings = [], []
    season = season_length(freq)
    gbm_needs = 2 * horizon + 14  # training origins with a whole horizon after them, after 14 periods of lags
    if model == "auto":
        model = "gbm" if periods >= gbm_needs else "ets"
        notes.append(f"model auto -> {model} ({periods} periods of history)")
    elif model == "gbm" and periods < gbm_needs:
        warnings.append(f"the gbm model needs at least {gbm_needs} periods of history for a {horizon}-period horizon "
                        f"(2 x horizon + 14), the sales have {periods}: forecast with ets instead")
        model = "ets"
    asked = model if not warnings else f"{model} (fallback)"
    if model not in ("gbm", "ets"):
        raise ValueError(f"model must be auto, gbm or ets, got {model!r}")
    fallbacks, warning = short_series(panel, season, model)
    if warning:
        warnings.append(warning)
    modelled = panel[~panel[ID].astype(str).isin(fallbacks[ID])]
    progress(f"fitting {model} on {modelled[ID].nunique():,} series", 0.1)
    parts = []
    if modelled.empty:
        used = "seasonal_naive (fallback)" if (fallbacks["model"] == "seasonal_naive").any() else "mean (fallback)"
    else:
        used = asked
        parts.append(_fit_gbm(modelled, horizon, season, freq, levels, n_estimators, notes, progress) if model == "gbm"
                     else _fit_ets(modelled, horizon, season, freq, levels, notes))
    if len(fallbacks):
        progress(f"forecasting {len(fallbacks):,} short series by their fallback", 0.9)
        parts.append(_fallback_forecast(panel, fallbacks, horizon, season, freq, levels))
    fc = pd.concat(parts, ignore_index=True).sort_values([ID, DS], ignore_index=True)
    if report.single_point_series or report.all_zero_series:
        notes.append(f"{len(report.single_point_series)} one-point and {len(report.all_zero_series)} all-zero series "
                     "are forecast by their last value")
    result = WorkspaceForecast(fc, report, used, level, notes=notes, warnings=warnings, fallbacks=fallbacks)
    if chart and not fc.empty:
        progress("drawing the chart", 0.95)
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
    progress("done", 1.0)
    return result


def _fit_gbm(panel, horizon, season, freq, levels, n_estimators, notes, progress) -> pd.DataFrame:
    from shoplens.forecast.gbm import GlobalGBM

    exog = tuple(c for c in ("price", "promo") if c in panel)
    fitted = GlobalGBM(horizon=horizon, season_length=season, windows=(7, 28) if freq == "D" else (4, 13),
                       exog=exog, levels=tuple(levels), freq=freq, origin_step=3, n_estimators=n_estimators,
                       learning_rate=0.1, max_rows=100_000)
    fitted.fit(panel, progress=lambda done, total: progress(f"fitting gbm: model {done} of {total}",
                                                            0.1 + 0.75 * done / total))
    if exog:
        notes.append("future prices = last regular price, no promotions")
    return fitted.predict(horizon, future=_future_exog(panel, horizon, freq) if exog else None)


def _fit_ets(panel, horizon, season, freq, levels, notes) -> pd.DataFrame:
    """AutoETS, with conformal intervals on the series long enough for their calibration windows and
    statsforecast's own intervals on the others (none of them is left to a last-value forecast)."""
    from shoplens.forecast.statistical import StatsForecaster

    conformal = StatsForecaster("auto_ets", season_length=season, freq=freq, conformal=True)
    need = conformal._min_length(horizon)
    size = panel.groupby(ID)[DS].transform("size")
    parts = []
    for long_enough, rows in panel.groupby(size >= need):
        model = StatsForecaster("auto_ets", season_length=season, freq=freq, conformal=bool(long_enough))
        parts.append(model.fit(rows).predict(horizon, levels=levels))
    if (size < need).any():
        notes.append(f"{panel.loc[size < need, ID].nunique()} series are shorter than {need} periods: their "
                     "intervals are AutoETS's own, not conformal")
    return pd.concat(parts, ignore_index=True)
