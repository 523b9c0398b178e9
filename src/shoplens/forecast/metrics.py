"""Forecast accuracy metrics on aligned arrays (actual, forecast[, weight]).

    WMAE     = sum w |y - yhat| / sum w                     (Walmart: w = 5 on holiday weeks, else 1)
    sMAPE    = mean 200 |y - yhat| / (|y| + |yhat|)  in %   (a pair of zeros counts as 0 error)
    coverage = mean(lo <= y <= hi)                          (share of actuals inside the interval)
    pinball  = mean max(q (y - yhat_q), (q - 1)(y - yhat_q))
"""

from __future__ import annotations

import numpy as np


def _arrays(*xs):
    return [np.asarray(x, dtype=np.float64) for x in xs]


def wmae(actual, forecast, weight=None) -> float:
    y, f = _arrays(actual, forecast)
    w = np.ones_like(y) if weight is None else np.asarray(weight, dtype=np.float64)
    return float(np.sum(w * np.abs(y - f)) / np.sum(w))


def mae(actual, forecast) -> float:
    return wmae(actual, forecast)


def smape(actual, forecast) -> float:
    y, f = _arrays(actual, forecast)
    denom = np.abs(y) + np.abs(f)
    ratio = np.divide(2 * np.abs(y - f), denom, out=np.zeros_like(denom), where=denom > 0)
    return float(100 * ratio.mean())


def coverage(actual, lower, upper) -> float:
    y, lo, hi = _arrays(actual, lower, upper)
    return float(np.mean((y >= lo) & (y <= hi)))


def pinball(actual, forecast, q: float) -> float:
    y, f = _arrays(actual, forecast)
    diff = y - f
    return float(np.mean(np.maximum(q * diff, (q - 1) * diff)))
