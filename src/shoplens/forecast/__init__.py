"""Demand forecasting over many series: long frames (unique_id, ds, y + exogenous) in, forecasts out.

    from shoplens.forecast import GlobalGBM, StatsForecaster, NeuralForecaster, Ensemble, backtest
    from shoplens.forecast import forecast_workspace, forecast_batch

Modules: base (contract, data preparation), statistical (statsforecast models), gbm (global LightGBM),
neural (GRU), ensemble, backtest (rolling origin), metrics, batch (batch -> batch for Ray), api (workspace),
chart (PNG without a plotting library).
"""

from shoplens.forecast.api import WorkspaceForecast, forecast_workspace
from shoplens.forecast.backtest import backtest, rolling_origins
from shoplens.forecast.base import DataReport, prepare, to_long
from shoplens.forecast.batch import ForecastBatch, forecast_batch, forecast_in_batches
from shoplens.forecast.ensemble import Ensemble
from shoplens.forecast.gbm import GlobalGBM
from shoplens.forecast.statistical import SmoothedMSTL, SmoothedSeasonalNaive, StatsForecaster

__all__ = [
    "DataReport", "Ensemble", "ForecastBatch", "GlobalGBM", "NeuralForecaster", "SmoothedMSTL", "SmoothedSeasonalNaive",
    "StatsForecaster", "WorkspaceForecast", "backtest", "forecast_batch", "forecast_in_batches", "forecast_workspace",
    "prepare", "rolling_origins", "to_long",
]


def __getattr__(name: str):
    if name == "NeuralForecaster":  # torch is a slow import: only when asked for
        from shoplens.forecast.neural import NeuralForecaster

        return NeuralForecaster
    raise AttributeError(f"module 'shoplens.forecast' has no attribute {name!r}")
