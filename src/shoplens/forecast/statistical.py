"""Statistical models through statsforecast, behind the ShopLens forecaster interface.

    StatsForecaster(model="auto_ets", season_length=52).fit(df).predict(39, levels=(80,))

Models: seasonal_naive, naive, mean (historic average), auto_ets, auto_arima, croston (CrostonOptimized)
and adida — the last two for intermittent demand. Intervals: statsforecast's own where the model has them;
for every model, `conformal=True` calibrates them on the errors of the last `conformal_windows` rolling
windows instead (distribution-free, and the only option for Croston / ADIDA).
Series that are too short for the model (one point, fewer than two seasons for seasonal ones) or all zero
fall back to the last value, and are listed in `self.report_`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shoplens.forecast.base import DS, ID, Y, fallback_forecast, interval_columns, prepare

MODELS = ("seasonal_naive", "naive", "mean", "auto_ets", "auto_arima", "croston", "adida")


def make_model(name: str, season_length: int):
    from statsforecast import models as m

    builders = {
        "seasonal_naive": lambda: m.SeasonalNaive(season_length=season_length),
        "naive": m.Naive,
        "mean": m.HistoricAverage,
        "auto_ets": lambda: m.AutoETS(season_length=season_length),
        "auto_arima": lambda: m.AutoARIMA(season_length=season_length),
        "croston": m.CrostonOptimized,
        "adida": m.ADIDA,
    }
    if name not in builders:
        raise ValueError(f"unknown statistical model {name!r}; choose from {', '.join(MODELS)}")
    return builders[name]()


class StatsForecaster:
    def __init__(self, model: str = "auto_ets", *, season_length: int = 1, freq: str | None = None,
                 conformal: bool = False, conformal_windows: int = 3, n_jobs: int = 1):
        self.model = model
        self.season_length = season_length
        self.freq = freq
        self.conformal = conformal
        self.conformal_windows = conformal_windows
        self.n_jobs = n_jobs

    def fit(self, df: pd.DataFrame) -> "StatsForecaster":
        make_model(self.model, self.season_length)  # fail early on a bad name
        self.history_, self.report_ = prepare(df[[ID, DS, Y]], self.freq)
        self.freq_ = self.history_.attrs["freq"]
        return self

    def _min_length(self, horizon: int) -> int:
        seasonal = self.model in ("seasonal_naive", "auto_ets", "auto_arima") and self.season_length > 1
        need = self.season_length + 1 if seasonal else 2
        if self.conformal:  # the calibration windows must fit inside the history
            need = max(need, self.conformal_windows * horizon + (self.season_length if seasonal else 1) + 1)
        return need

    def predict(self, horizon: int, future: pd.DataFrame | None = None, levels=(80,)) -> pd.DataFrame:
        from statsforecast import StatsForecast
        from statsforecast.utils import ConformalIntervals

        hist = self.history_
        size = hist.groupby(ID)[Y].transform("size")
        all_zero = hist.groupby(ID)[Y].transform(lambda y: (y == 0).all())
        modelled = (size >= self._min_length(horizon)) & ~all_zero
        self.fallback_ids_ = hist.loc[~modelled, ID].unique().tolist()
        parts = []
        if modelled.any():
            model = make_model(self.model, self.season_length)
            intervals = ConformalIntervals(n_windows=self.conformal_windows, h=horizon) if self.conformal else None
            sf = StatsForecast(models=[model], freq=self.freq_, n_jobs=self.n_jobs)
            with_intervals = bool(levels) and (self.conformal or self.model not in ("croston", "adida"))
            fc = sf.forecast(h=horizon, df=hist.loc[modelled, [ID, DS, Y]], level=list(levels) if with_intervals else None,
                             prediction_intervals=intervals)
            alias = str(model)
            out = fc[[ID, DS]].copy()
            out["yhat"] = fc[alias].to_numpy()
            for level in levels:
                lo, hi = interval_columns(level)
                if f"{alias}-lo-{level}" in fc:
                    out[lo], out[hi] = fc[f"{alias}-lo-{level}"].to_numpy(), fc[f"{alias}-hi-{level}"].to_numpy()
                else:
                    out[lo] = out[hi] = np.nan  # this model has no intervals without conformal=True
            parts.append(out)
        if not modelled.all():
            parts.append(fallback_forecast(hist.loc[~modelled], horizon, self.freq_, levels))
        return pd.concat(parts, ignore_index=True).sort_values([ID, DS], ignore_index=True)


class SmoothedSeasonalNaive:
    """Seasonal naive on a low-rank smoothed panel, shifted by part of the recent change in level.

        seasonal[t] = (1 - 2 k) smooth[t - season] + k (smooth[t - season - 1] + smooth[t - season + 1])
        level       = mean(y[last `level_window`]) - mean(smooth[same weeks a season ago])
        yhat[t]     = (1 - a) (seasonal[t] + level_weight * level) + a * mean(y[last `level_window`])

    `smooth` keeps the top `rank` singular components of each group's (periods x series) block (e.g. one
    department across stores): the shared seasonal shape stays, one-off noise goes. The level term corrects
    for growth since last season; its weight < 1 because recent levels are noisy too. k =
    `neighbour_weight` spreads part of last season's value over its neighbouring periods (calendars shift
    by a day a year); a = `recent_weight` shrinks the seasonal swing towards the recent mean. Series with
    less than one season of history fall back to their last value.
    """

    def __init__(self, *, season_length: int = 52, group: str | None = None, rank: int = 10,
                 level_window: int = 13, level_weight: float = 0.5, neighbour_weight: float = 0.0,
                 recent_weight: float = 0.0, freq: str | None = None):
        self.season_length = season_length
        self.group = group
        self.rank = rank
        self.level_window = level_window
        self.level_weight = level_weight
        self.neighbour_weight = neighbour_weight
        self.recent_weight = recent_weight
        self.freq = freq

    def fit(self, df: pd.DataFrame) -> "SmoothedSeasonalNaive":
        from shoplens.forecast.gbm import low_rank_smooth

        cols = [ID, DS, Y, *([self.group] if self.group else [])]
        self.history_, self.report_ = prepare(df[cols], self.freq)
        self.freq_ = self.history_.attrs["freq"]
        wide = self.history_.pivot(index=DS, columns=ID, values=Y)
        groups = (self.history_.groupby(ID)[self.group].first().reindex(wide.columns).astype(str).to_numpy()
                  if self.group else np.zeros(wide.shape[1]))
        observed = wide.to_numpy()
        self.ids_ = wide.columns.to_numpy()
        self.smooth_ = np.nan_to_num(low_rank_smooth(observed, groups, self.rank))
        self.observed_ = observed
        return self

    def predict(self, horizon: int, future: pd.DataFrame | None = None, levels=(80,)) -> pd.DataFrame:
        s, w, k, a = self.season_length, self.level_window, self.neighbour_weight, self.recent_weight
        T = len(self.smooth_)
        if horizon > s or T < s + w:
            raise ValueError(f"needs horizon <= {s} and at least {s + w} periods of history")
        S = np.vstack([self.smooth_, self.smooth_[-1:]])  # the right neighbour of the last period: itself
        last_season = S[T - s: T - s + horizon]
        seasonal = (1 - 2 * k) * last_season + k * (S[T - s - 1: T - s - 1 + horizon] + S[T - s + 1: T - s + 1 + horizon])
        recent = np.nanmean(self.observed_[-w:], 0)
        level = np.nan_to_num(recent - S[T - s - w: T - s].mean(0))
        pred = (1 - a) * (seasonal + self.level_weight * level) + a * np.nan_to_num(recent)
        history_len = np.sum(~np.isnan(self.observed_), 0)
        last = np.nan_to_num(self.observed_[-1])
        pred = np.where(history_len[None, :] >= s, pred, last[None, :])  # too short for a season: last value
        out = pd.DataFrame(pred, columns=self.ids_)
        out[DS] = pd.date_range(self.history_[DS].max(), periods=horizon + 1, freq=self.freq_)[1:]
        out = out.melt(id_vars=DS, var_name=ID, value_name="yhat")[[ID, DS, "yhat"]]
        return out.sort_values([ID, DS], ignore_index=True)


class SmoothedMSTL(SmoothedSeasonalNaive):
    """STL decomposition + ETS on the trend (statsforecast MSTL) of the low-rank smoothed panel, for series with
    at least `min_seasons` whole seasons; the others get SmoothedSeasonalNaive's forecast (same settings).

    With two seasons STL's seasonal part is, in effect, a smoothed average of both years: one year's noise
    counts half. It cannot help (nor be checked) where fewer than two seasons precede the forecast origin.
    """

    def __init__(self, *, min_seasons: int = 2, season_length: int = 52, group: str | None = None, rank: int = 10,
                 level_window: int = 13, level_weight: float = 0.5, neighbour_weight: float = 0.0,
                 recent_weight: float = 0.0, freq: str | None = None):
        super().__init__(season_length=season_length, group=group, rank=rank, level_window=level_window,
                         level_weight=level_weight, neighbour_weight=neighbour_weight, recent_weight=recent_weight,
                         freq=freq)
        self.min_seasons = min_seasons

    def predict(self, horizon: int, future: pd.DataFrame | None = None, levels=(80,)) -> pd.DataFrame:
        from statsforecast import StatsForecast
        from statsforecast.models import MSTL

        out = super().predict(horizon, future, levels=())
        history_len = np.sum(~np.isnan(self.observed_), 0)
        long_enough = np.flatnonzero(history_len >= self.min_seasons * self.season_length)
        self.mstl_ids_ = self.ids_[long_enough]
        if len(long_enough):
            span = self.min_seasons * self.season_length  # the last whole seasons: their rows are all observed
            panel = pd.DataFrame(self.smooth_[-span:, long_enough], columns=self.ids_[long_enough])
            panel[DS] = np.sort(self.history_[DS].unique())[-span:]
            panel = panel.melt(id_vars=DS, var_name=ID, value_name=Y)[[ID, DS, Y]]
            fc = StatsForecast(models=[MSTL(season_length=self.season_length)], freq=self.freq_, n_jobs=1).forecast(
                h=horizon, df=panel)
            out = out.merge(fc[[ID, DS, "MSTL"]], on=[ID, DS], how="left")
            out["yhat"] = out["MSTL"].fillna(out["yhat"])
            out = out.drop(columns="MSTL")
        return out.sort_values([ID, DS], ignore_index=True)
