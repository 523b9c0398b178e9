"""Forecasting as a batch function over groups of series (DESIGN.md: `batch -> batch`).

    out = forecast_batch(batch_df)                       # locally, one batch
    ds.map_batches(ForecastBatch(horizon=28), batch_format="pandas")   # the same callable under Ray Data

A batch holds complete series (group the rows by unique_id before batching: every row of a series in the
same batch). The model is fitted on the batch only, so batches are independent and need no shared state.
"""

from __future__ import annotations

import time

import pandas as pd

from shoplens.forecast.base import ID


class ForecastBatch:
    """Callable: long frame of whole series -> forecast frame (plus `series_per_s` after each call)."""

    def __init__(self, *, model: str = "gbm", horizon: int = 28, levels: tuple[int, ...] = (80,),
                 season_length: int = 7, freq: str | None = None, **model_kwargs):
        self.model = model
        self.horizon = horizon
        self.levels = levels
        self.season_length = season_length
        self.freq = freq
        self.model_kwargs = model_kwargs
        self.series_per_s = 0.0

    def make_model(self):
        if self.model == "gbm":
            from shoplens.forecast.gbm import GlobalGBM

            return GlobalGBM(horizon=self.horizon, season_length=self.season_length, levels=self.levels,
                             freq=self.freq, **self.model_kwargs)
        if self.model == "neural":
            from shoplens.forecast.neural import NeuralForecaster

            return NeuralForecaster(horizon=self.horizon, season_length=self.season_length, levels=self.levels,
                                    freq=self.freq, **self.model_kwargs)
        from shoplens.forecast.statistical import StatsForecaster

        return StatsForecaster(self.model, season_length=self.season_length, freq=self.freq, **self.model_kwargs)

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        start = time.perf_counter()
        if batch.empty:
            return pd.DataFrame(columns=[ID, "ds", "yhat"])
        out = self.make_model().fit(batch).predict(self.horizon, levels=self.levels)
        self.series_per_s = batch[ID].nunique() / (time.perf_counter() - start)
        return out


def forecast_batch(batch_df: pd.DataFrame, **kwargs) -> pd.DataFrame:
    """Function form of `ForecastBatch` for a single call."""
    return ForecastBatch(**kwargs)(batch_df)


def forecast_in_batches(df: pd.DataFrame, series_per_batch: int = 500, backend: str = "local",
                        **kwargs) -> tuple[pd.DataFrame, float]:
    """Split by whole series and run the batch function on each batch, in this process or on Ray
    (`backend="ray"`, see `shoplens.scale`); returns the forecasts and the overall series per second."""
    from shoplens.scale import map_batches

    n_series = df[ID].nunique()
    rows_per_batch = max(1, round(len(df) / max(n_series, 1) * series_per_batch))
    start = time.perf_counter()
    out = map_batches(ForecastBatch(**kwargs), df, group=ID, rows_per_batch=rows_per_batch, backend=backend)
    return out, n_series / (time.perf_counter() - start)
