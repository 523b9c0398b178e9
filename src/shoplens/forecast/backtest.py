"""Rolling-origin backtests: refit at several origins, forecast the next `horizon` periods, score them.

    cuts = rolling_origins(df, horizon=28, n_windows=3, step=28)   # the last three 28-period windows
    scores, forecasts = backtest(lambda: GlobalGBM(horizon=28), df, horizon=28, n_windows=3)

Each window trains only on periods before its origin, so nothing from the scored window leaks in.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from shoplens.forecast import metrics
from shoplens.forecast.base import DS, ID, Y, interval_columns


def rolling_origins(df: pd.DataFrame, horizon: int, n_windows: int = 3, step: int | None = None) -> list[pd.Timestamp]:
    """The first forecast date of each window, oldest first; the last window ends on the last date."""
    dates = pd.DatetimeIndex(np.sort(pd.to_datetime(df[DS]).unique()))
    step = step or horizon
    starts = [len(dates) - horizon - k * step for k in range(n_windows)][::-1]
    if starts[0] <= 0:
        raise ValueError(f"{n_windows} windows of {horizon} periods (step {step}) need more than {len(dates)} periods")
    return [pd.Timestamp(dates[i]) for i in starts]


def split_at(df: pd.DataFrame, origin: pd.Timestamp, horizon_end: pd.Timestamp | None = None):
    train = df[df[DS] < origin]
    test = df[(df[DS] >= origin) & ((df[DS] <= horizon_end) if horizon_end is not None else True)]
    return train, test


def score(actual: pd.DataFrame, forecast: pd.DataFrame, levels=(80,), weight: str | None = None) -> dict:
    """WMAE (weights from column `weight`, else MAE), sMAPE and interval coverage on matched rows;
    an actual with no forecast row counts as a forecast of 0 (and is counted)."""
    merged = actual.merge(forecast, on=[ID, DS], how="left", suffixes=("", "_fc"))
    missing = int(merged["yhat"].isna().sum())
    merged["yhat"] = merged["yhat"].fillna(0.0)
    w = merged[weight] if weight else None
    out = {"wmae": metrics.wmae(merged[Y], merged["yhat"], w), "smape": metrics.smape(merged[Y], merged["yhat"]),
           "rows": len(merged), "rows_without_forecast": missing}
    for level in levels:
        lo, hi = interval_columns(level)
        if lo in merged and merged[lo].notna().any():
            ok = merged[lo].notna()
            out[f"coverage{level}"] = metrics.coverage(merged.loc[ok, Y], merged.loc[ok, lo], merged.loc[ok, hi])
    return out


def backtest(make_model: Callable[[], object], df: pd.DataFrame, horizon: int, n_windows: int = 3,
             step: int | None = None, levels=(80,), exog: tuple[str, ...] = (), weight: str | None = None):
    """Scores per window (a DataFrame) and all windows' forecasts joined to the actuals."""
    rows, frames = [], []
    dates = pd.DatetimeIndex(np.sort(pd.to_datetime(df[DS]).unique()))
    for origin in rolling_origins(df, horizon, n_windows, step):
        end = dates[min(dates.searchsorted(origin) + horizon - 1, len(dates) - 1)]
        train, test = split_at(df, origin, end)
        model = make_model().fit(train)
        future = test[[ID, DS, *exog]] if exog else None
        fc = model.predict(horizon, future=future, levels=levels)
        rows.append({"origin": origin.date().isoformat(), **score(test, fc, levels, weight)})
        frames.append(test.merge(fc, on=[ID, DS], how="left").assign(origin=origin))
    return pd.DataFrame(rows), pd.concat(frames, ignore_index=True)
