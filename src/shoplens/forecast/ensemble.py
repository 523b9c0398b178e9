"""An ensemble: the weighted mean of several forecasters' outputs (point and interval columns alike).

Averaging bounds is not the interval of the average, but it is a simple, robust combination (the M4 /
Walmart winners averaged too); weights default to equal and can be set from a validation window.
"""

from __future__ import annotations

import pandas as pd

from shoplens.forecast.base import DS, ID


class Ensemble:
    def __init__(self, members: dict, *, weights: dict | None = None):
        self.members = members
        self.weights = weights

    def fit(self, df: pd.DataFrame) -> "Ensemble":
        for model in self.members.values():
            model.fit(df)
        return self

    def predict(self, horizon: int, future: pd.DataFrame | None = None, levels=(80,)) -> pd.DataFrame:
        weights = self.weights or {name: 1.0 for name in self.members}
        frames = {name: m.predict(horizon, future=future, levels=levels).set_index([ID, DS]) for name, m in self.members.items()}
        columns = [c for c in next(iter(frames.values())).columns if all(c in f for f in frames.values())]
        total = sum(weights.values())
        out = sum(frames[name][columns].astype(float) * (w / total) for name, w in weights.items())
        return out.reset_index()

