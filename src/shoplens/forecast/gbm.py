"""A global LightGBM forecaster: one model over all series, direct multi-horizon, with quantiles.

One training row = (series, forecast origin o, horizon h): features known at o, the target y[o + h].
Direct (not recursive): errors do not feed back through the horizon, and one model serves every h.

Features, for target period t = o + h:
- seasonal lags seen from the origin: the latest value in the same season position (t - s*ceil(h/s)), the
  one a cycle before it, and the mean of the last four; the value a year before t (and its neighbours,
  which absorbs holidays that move by a week) when `yearly_lag` is set;
- the level at the origin: last value, means over `windows`, the spread, and year-on-year change of the
  means; optionally the same lags of a low-rank smoothed panel (`smooth_rank`): series in a `smooth_group`
  (e.g. one department across stores) share shapes, and their top singular vectors keep the shape while
  dropping one-off noise (the Walmart 2014 winner's trick);
- calendar of t (weekday, day of month, week, month), exogenous columns known ahead (price, promotion,
  holiday; price also relative to its mean at the origin), h, and static categoricals (store, department).
Each series is divided by its scale (mean |y| over the last `scale_window` periods) so one model fits large
and small series; training weights are that scale (so the L1 loss is the absolute error in real units)
times `weight_col` (e.g. 5 on holiday weeks).

`target_base` (a feature name, e.g. "year_smooth"): the model learns the difference to that feature (the
scaled value a year before, low-rank smoothed) instead of the level itself, so trees only model the change
on top of a seasonal-naive forecast; where the base is missing it counts as 0.

Intervals: one quantile model per needed quantile, then split-conformal widening (`calibrate=True`): the
last `horizon` periods are held out once, the quantile model's misses there set how much to widen.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from shoplens.forecast.base import DS, ID, Y, future_frame, interval_columns, level_quantiles, prepare


def _shift_take(Z: np.ndarray, t: np.ndarray, limit: np.ndarray | int) -> np.ndarray:
    """Z[t, series] where 0 <= t <= limit (the origin), NaN elsewhere; t has shape (rows, N)."""
    n = Z.shape[1]
    ok = (t >= 0) & (t <= limit) & (t < Z.shape[0])
    out = np.full(t.shape, np.nan)
    cols = np.broadcast_to(np.arange(n), t.shape)
    out[ok] = Z[t[ok], cols[ok]]
    return out


def _window_mean(Z: np.ndarray, o: int, w: int) -> np.ndarray:
    part = Z[max(0, o - w + 1): o + 1]
    with np.errstate(invalid="ignore"):
        count = np.sum(~np.isnan(part), 0)
        return np.where(count > 0, np.nansum(part, 0) / np.maximum(count, 1), np.nan)


def low_rank_smooth(Z: np.ndarray, groups: np.ndarray, rank: int) -> np.ndarray:
    """Per group of series, keep the top `rank` singular components of the (periods x series) block."""
    filled = np.nan_to_num(Z)
    out = filled.copy()
    for g in np.unique(groups):
        cols = np.flatnonzero(groups == g)
        if len(cols) <= rank:
            continue
        U, S, Vt = np.linalg.svd(filled[:, cols], full_matrices=False)
        out[:, cols] = (U[:, :rank] * S[:rank]) @ Vt[:rank]
    return np.where(np.isnan(Z), np.nan, out)


class GlobalGBM:
    def __init__(self, *, horizon: int = 28, season_length: int = 7, yearly_lag: int | None = None,
                 windows: tuple[int, ...] = (7, 28), scale_window: int = 28, exog: tuple[str, ...] = (),
                 static: tuple[str, ...] = (), weight_col: str | None = None, smooth_group: str | None = None,
                 smooth_rank: int = 10, origin_step: int = 7, max_origins: int = 80, max_rows: int = 300_000,
                 min_history: int = 14, target_base: str | None = None,
                 levels: tuple[int, ...] = (), calibrate: bool = True, n_estimators: int = 300,
                 learning_rate: float = 0.05, num_leaves: int = 63, min_child_samples: int = 100,
                 feature_fraction: float = 0.8, n_jobs: int = 2, seed: int = 0, freq: str | None = None):
        self.horizon = horizon
        self.season_length = season_length
        self.yearly_lag = yearly_lag
        self.windows = windows
        self.scale_window = scale_window
        self.exog = exog
        self.static = static
        self.weight_col = weight_col
        self.smooth_group = smooth_group
        self.smooth_rank = smooth_rank
        self.origin_step = origin_step
        self.max_origins = max_origins
        self.max_rows = max_rows
        self.min_history = min_history
        self.target_base = target_base
        self.levels = levels
        self.calibrate = calibrate
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.feature_fraction = feature_fraction
        self.n_jobs = n_jobs
        self.seed = seed
        self.freq = freq

    # ------------------------------------------------------------------ panel <-> matrices
    def _matrices(self, panel: pd.DataFrame, future: pd.DataFrame | None):
        """Y (periods x series) with NaN before a series starts, exogenous matrices over history + future."""
        frames = panel if future is None else pd.concat([panel, future], ignore_index=True)
        dates = pd.DatetimeIndex(np.sort(frames[DS].unique()))
        rows = dates.get_indexer(frames[DS])
        cols = pd.Index(self.ids_).get_indexer(frames[ID])
        if (cols < 0).any():
            raise ValueError("future frame has series that were not in the training data")
        mats = {}
        for c in (Y, *self.exog, *([self.weight_col] if self.weight_col else [])):
            m = np.full((len(dates), len(self.ids_)), np.nan)
            if c in frames:
                m[rows, cols] = frames[c].to_numpy(float)
            mats[c] = m
        return dates, mats

    def _features(self, dates, mats, smooth, origin: int, horizons: np.ndarray):
        """Feature table for one origin: rows (h, series) flattened h-major, plus target index and scale."""
        with warnings.catch_warnings():  # series with no data yet give all-NaN windows: NaN is the answer
            warnings.simplefilter("ignore", RuntimeWarning)
            return self._features_unguarded(dates, mats, smooth, origin, horizons)

    def _features_unguarded(self, dates, mats, smooth, origin: int, horizons: np.ndarray):
        Z = mats[Y]
        n, s = Z.shape[1], self.season_length
        t = origin + horizons[:, None] + np.zeros((1, n), dtype=np.int64)  # (H, N) target periods
        scale = np.nanmean(np.abs(Z[max(0, origin - self.scale_window + 1): origin + 1]), 0)
        scale = np.where(np.isnan(scale), 0.0, scale) + 1.0
        f: dict[str, np.ndarray] = {}
        same = t - s * np.ceil(horizons / s).astype(np.int64)[:, None]
        f["season_last"] = _shift_take(Z, same, origin) / scale
        f["season_prev"] = _shift_take(Z, same - s, origin) / scale
        f["season_mean4"] = np.nanmean(np.stack([_shift_take(Z, same - k * s, origin) for k in range(4)]), 0) / scale
        if self.yearly_lag:
            for name, lag in (("year", 0), ("year_m1", -1), ("year_p1", 1)):
                f[name] = _shift_take(Z, t - self.yearly_lag + lag, origin) / scale
            f["year2"] = _shift_take(Z, t - 2 * self.yearly_lag, origin) / scale
            if smooth is not None:
                f["year_smooth"] = _shift_take(smooth, t - self.yearly_lag, origin) / scale
        f["last"] = np.broadcast_to(Z[origin] / scale, t.shape)
        for w in self.windows:
            now = _window_mean(Z, origin, w) / scale
            f[f"mean{w}"] = np.broadcast_to(now, t.shape)
            if self.yearly_lag:
                before = _window_mean(Z, origin - self.yearly_lag, w) / scale if origin - self.yearly_lag >= 0 else np.full(n, np.nan)
                f[f"yoy{w}"] = np.broadcast_to(now - before, t.shape)
        f["spread"] = np.broadcast_to(np.nanstd(Z[max(0, origin - max(self.windows) + 1): origin + 1], 0) / scale, t.shape)
        f["log_scale"] = np.broadcast_to(np.log(scale), t.shape)
        target_dates = dates[np.clip(t[:, 0], 0, len(dates) - 1)]
        for name, values in (("weekday", target_dates.dayofweek), ("day", target_dates.day),
                             ("week", target_dates.isocalendar().week.to_numpy()), ("month", target_dates.month)):
            f[name] = np.broadcast_to(np.asarray(values, dtype=float)[:, None], t.shape)
        for c in self.exog:
            at_t = _shift_take(mats[c], t, len(dates) - 1)
            f[c] = at_t
            if c == "price":
                f["price_ratio"] = at_t / _window_mean(mats[c], origin, max(self.windows))
        f["h"] = np.broadcast_to(horizons[:, None].astype(float), t.shape)
        for name, codes in self.static_codes_.items():
            f[name] = np.broadcast_to(codes, t.shape)
        table = pd.DataFrame({k: np.ascontiguousarray(v).ravel() for k, v in f.items()})
        return table, t.ravel(), np.broadcast_to(scale, t.shape).ravel(), np.broadcast_to(np.arange(n), t.shape).ravel()

    # ------------------------------------------------------------------ training
    def _training_set(self, dates, mats, smooth, end: int):
        """Rows for origins before `end` (exclusive upper bound of observed periods)."""
        Z = mats[Y]
        origins = np.arange(end - 2, self.min_history - 1, -self.origin_step)[: self.max_origins]
        parts = []
        for o in origins:
            hs = np.arange(1, min(self.horizon, end - 1 - o) + 1)
            X, t, scale, col = self._features(dates, mats, smooth, int(o), hs)
            y = Z[t, col]
            keep = ~np.isnan(y) & ~np.isnan(Z[o, col])
            w = scale * (np.nan_to_num(mats[self.weight_col][t, col], nan=1.0) if self.weight_col else 1.0)
            parts.append((X[keep], y[keep] / scale[keep] - self._base(X[keep]), w[keep]))
        X = pd.concat([p[0] for p in parts], ignore_index=True)
        y, w = np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts])
        if len(X) > self.max_rows:  # a random subset: the cost of boosting grows with rows, accuracy barely
            keep = np.sort(np.random.default_rng(self.seed).choice(len(X), self.max_rows, replace=False))
            X, y, w = X.iloc[keep].reset_index(drop=True), y[keep], w[keep]
        return X, y, w

    def _base(self, X: pd.DataFrame) -> np.ndarray:
        """The scaled baseline the model predicts a difference to (0 without `target_base`)."""
        return np.nan_to_num(X[self.target_base].to_numpy()) if self.target_base else np.zeros(len(X))

    def _train(self, X, y, w, objective: str, alpha: float | None = None):
        import lightgbm as lgb

        params = dict(objective=objective, learning_rate=self.learning_rate, num_leaves=self.num_leaves,
                      min_child_samples=self.min_child_samples, feature_fraction=self.feature_fraction,
                      bagging_fraction=0.8, bagging_freq=1, seed=self.seed, num_threads=self.n_jobs, verbose=-1)
        if alpha is not None:
            params["alpha"] = alpha
        cats = [c for c in self.static_codes_ if c in X]
        return lgb.train(params, lgb.Dataset(X, y, weight=w, categorical_feature=cats), self.n_estimators)

    def _fit_models(self, dates, mats, smooth, end: int, trained=lambda: None) -> dict:
        X, y, w = self._training_set(dates, mats, smooth, end)
        models = {"point": self._train(X, y, w, "l1")}
        trained()
        for q in level_quantiles(self.levels):
            if q != 0.5:
                models[q] = self._train(X, y, w, "quantile", alpha=q)
                trained()
        return models

    def fit(self, df: pd.DataFrame, progress=None) -> "GlobalGBM":
        """progress(done, total), when given, is called after each LightGBM model is trained (the point model,
        one per interval quantile, and all of them again for the calibration fit)."""
        per_fit = len([q for q in level_quantiles(self.levels) if q != 0.5]) + 1
        total = per_fit * (2 if self.levels and self.calibrate else 1)
        done = [0]

        def trained():
            done[0] += 1
            if progress is not None:
                progress(done[0], total)

        cols = [ID, DS, Y, *self.exog, *self.static, *([self.weight_col] if self.weight_col else [])]
        if self.smooth_group and self.smooth_group not in cols:
            cols.append(self.smooth_group)
        panel, self.report_ = prepare(df[[c for c in dict.fromkeys(cols) if c in df]], self.freq)
        self.freq_ = panel.attrs["freq"]
        self.ids_ = np.sort(panel[ID].unique())
        first = panel.groupby(ID).first().reindex(self.ids_)
        self.static_codes_ = {c: pd.factorize(first[c].astype(str), sort=True)[0].astype(float) for c in self.static}
        self.groups_ = first[self.smooth_group].astype(str).to_numpy() if self.smooth_group else None
        self.panel_ = panel
        dates, mats = self._matrices(panel, None)
        smooth = low_rank_smooth(mats[Y], self.groups_, self.smooth_rank) if self.smooth_group else None
        self.widen_ = {}
        if self.levels and self.calibrate:
            # split conformal: fit without the last `horizon` periods, measure misses there, widen by them
            end = len(dates) - self.horizon
            smooth_cal = low_rank_smooth(mats[Y][:end], self.groups_, self.smooth_rank) if self.smooth_group else None
            smooth_cal = None if smooth_cal is None else np.vstack([smooth_cal, np.full((self.horizon, len(self.ids_)), np.nan)])
            cal_models = self._fit_models(dates, mats, smooth_cal, end, trained)
            X, t, scale, col = self._features(dates, mats, smooth_cal, end - 1, np.arange(1, self.horizon + 1))
            y = mats[Y][t, col] / scale - self._base(X)
            ok = ~np.isnan(y) & ~np.isnan(mats[Y][end - 1, col])
            for level in self.levels:
                lo_q, hi_q = round(0.5 - level / 200, 4), round(0.5 + level / 200, 4)
                miss = np.maximum(cal_models[lo_q].predict(X[ok]) - y[ok], y[ok] - cal_models[hi_q].predict(X[ok]))
                k = min(1.0, np.ceil((ok.sum() + 1) * level / 100) / max(ok.sum(), 1))
                self.widen_[level] = float(np.quantile(miss, k))
        self.models_ = self._fit_models(dates, mats, smooth, len(dates), trained)
        return self

    # ------------------------------------------------------------------ forecasting
    def predict(self, horizon: int | None = None, future: pd.DataFrame | None = None, levels=None) -> pd.DataFrame:
        horizon = horizon or self.horizon
        if horizon > self.horizon:
            raise ValueError(f"fitted for horizons up to {self.horizon}, asked for {horizon}")
        levels = self.levels if levels is None else tuple(levels)
        if set(levels) - set(self.levels):
            raise ValueError(f"intervals {sorted(set(levels) - set(self.levels))} were not fitted; pass levels= at construction")
        fut = future_frame(self.panel_, horizon, self.freq_)
        if future is not None:
            fut = fut.merge(future.drop(columns=[Y], errors="ignore"), on=[ID, DS], how="left")
        dates, mats = self._matrices(self.panel_, fut)
        end = len(self.panel_[DS].unique())
        smooth = low_rank_smooth(mats[Y][:end], self.groups_, self.smooth_rank) if self.smooth_group else None
        if smooth is not None:
            smooth = np.vstack([smooth, np.full((len(dates) - end, len(self.ids_)), np.nan)])
        X, t, scale, col = self._features(dates, mats, smooth, end - 1, np.arange(1, horizon + 1))
        out = pd.DataFrame({ID: self.ids_[col], DS: dates[np.minimum(t, len(dates) - 1)]})
        base = self._base(X)
        out["yhat"] = (self.models_["point"].predict(X) + base) * scale
        for level in levels:
            lo, hi = interval_columns(level)
            lo_q, hi_q = round(0.5 - level / 200, 4), round(0.5 + level / 200, 4)
            widen = self.widen_.get(level, 0.0)
            out[lo] = (self.models_[lo_q].predict(X) + base - widen) * scale
            out[hi] = (self.models_[hi_q].predict(X) + base + widen) * scale
            out[lo] = np.minimum(out[lo], out["yhat"])
            out[hi] = np.maximum(out[hi], out["yhat"])
        # series that start later than others have rows only from their own start: keep future rows that exist
        out = out.merge(fut[[ID, DS]], on=[ID, DS])
        return out.sort_values([ID, DS], ignore_index=True)
