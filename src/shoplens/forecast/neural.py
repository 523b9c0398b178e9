"""A small global neural forecaster in torch: GRU encoder + seasonal prior -> all horizons and quantiles.

For each series and origin o, the network reads
- the last `context` values (divided by the series' scale, the mean |y| over the context), through a GRU;
- the seasonal prior: for each target period t = o + h, the value one season before t when that is
  already observed (else 0, with a mask), so weekly / yearly shape does not have to be learnt from scratch;
and outputs, for every horizon h = 1..H, the quantiles `quantiles` of y[t] / scale, trained with the
pinball loss. Series with no data yet in the context window are skipped in training.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn

from shoplens.forecast.base import DS, ID, Y, future_frame, interval_columns, level_quantiles, prepare


class SeqNet(nn.Module):
    def __init__(self, horizon: int, n_quantiles: int, hidden: int):
        super().__init__()
        self.horizon, self.n_quantiles = horizon, n_quantiles
        self.encoder = nn.GRU(input_size=2, hidden_size=hidden, batch_first=True)  # value, observed mask
        self.head = nn.Sequential(nn.Linear(hidden + 2 * horizon, 2 * hidden), nn.ReLU(),
                                  nn.Linear(2 * hidden, horizon * n_quantiles))

    def forward(self, context: torch.Tensor, prior: torch.Tensor) -> torch.Tensor:
        """context (B, L, 2), prior (B, 2H) -> (B, H, Q); the prior is added back, the net predicts a correction."""
        _, state = self.encoder(context)
        out = self.head(torch.cat([state[-1], prior], dim=1)).view(-1, self.horizon, self.n_quantiles)
        return out + prior[:, : self.horizon, None]


def pinball_loss(pred: torch.Tensor, target: torch.Tensor, quantiles: torch.Tensor, weight: torch.Tensor):
    diff = target[:, :, None] - pred
    loss = torch.maximum(quantiles * diff, (quantiles - 1) * diff)
    mask = ~torch.isnan(target)
    return (loss.nan_to_num(0.0).sum(-1) * mask * weight[:, None]).sum() / mask.sum().clamp(min=1)


class NeuralForecaster:
    def __init__(self, *, horizon: int = 28, context: int = 56, season_length: int = 7, hidden: int = 32,
                 levels: tuple[int, ...] = (80,), epochs: int = 20, batch_size: int = 256, lr: float = 3e-3,
                 origin_step: int = 1, max_windows: int = 50_000, seed: int = 0, freq: str | None = None):
        self.horizon = horizon
        self.context = context
        self.season_length = season_length
        self.hidden = hidden
        self.levels = levels
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.origin_step = origin_step
        self.max_windows = max_windows
        self.seed = seed
        self.freq = freq

    def _windows(self, Z: np.ndarray, origins: np.ndarray, with_target: bool):
        """Context, prior and (optionally) target arrays for (origin, series) pairs, plus each window's scale."""
        L, H, s = self.context, self.horizon, self.season_length
        o, col = origins
        idx = o[:, None] + np.arange(-L + 1, 1)[None, :]
        ctx = np.where(idx >= 0, Z[np.clip(idx, 0, None), col[:, None]], np.nan)
        scale = np.nan_to_num(np.nanmean(np.abs(ctx), 1), nan=0.0) + 1.0
        t = o[:, None] + np.arange(1, H + 1)[None, :]
        back = t - s * np.ceil(np.arange(1, H + 1) / s).astype(np.int64)[None, :]  # same season, already seen
        prior = np.where(back >= 0, Z[np.clip(back, 0, None), col[:, None]], np.nan) / scale[:, None]
        context = np.stack([np.nan_to_num(ctx / scale[:, None]), ~np.isnan(ctx)], -1)
        prior = np.concatenate([np.nan_to_num(prior), ~np.isnan(prior)], 1)
        target = None
        if with_target:
            target = np.where(t < len(Z), Z[np.clip(t, None, len(Z) - 1), col[:, None]], np.nan) / scale[:, None]
        return context.astype(np.float32), prior.astype(np.float32), target, scale

    def fit(self, df: pd.DataFrame) -> "NeuralForecaster":
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        panel, self.report_ = prepare(df[[ID, DS, Y]], self.freq)
        self.freq_ = panel.attrs["freq"]
        self.panel_ = panel
        wide = panel.pivot(index=DS, columns=ID, values=Y)
        self.ids_, Z = wide.columns.to_numpy(), wide.to_numpy()
        T, N = Z.shape
        o, col = np.meshgrid(np.arange(self.season_length, T - 1, self.origin_step), np.arange(N), indexing="ij")
        o, col = o.ravel(), col.ravel()
        keep = ~np.isnan(Z[o, col])
        o, col = o[keep], col[keep]
        if len(o) > self.max_windows:
            pick = rng.choice(len(o), self.max_windows, replace=False)
            o, col = o[pick], col[pick]
        context, prior, target, _ = self._windows(Z, (o, col), with_target=True)
        self.quantiles_ = level_quantiles(self.levels)
        self.net_ = SeqNet(self.horizon, len(self.quantiles_), self.hidden)
        opt = torch.optim.Adam(self.net_.parameters(), lr=self.lr)
        q = torch.tensor(self.quantiles_, dtype=torch.float32)
        data = [torch.from_numpy(a) for a in (context, prior, target.astype(np.float32))]
        for _ in range(self.epochs):
            order = torch.from_numpy(rng.permutation(len(o)))
            for start in range(0, len(o), self.batch_size):
                b = order[start: start + self.batch_size]
                loss = pinball_loss(self.net_(data[0][b], data[1][b]), data[2][b], q, torch.ones(len(b)))
                opt.zero_grad()
                loss.backward()
                opt.step()
        self.Z_ = Z
        return self

    @torch.no_grad()
    def predict(self, horizon: int | None = None, future: pd.DataFrame | None = None, levels=None) -> pd.DataFrame:
        horizon = horizon or self.horizon
        levels = self.levels if levels is None else tuple(levels)
        T, N = self.Z_.shape
        context, prior, _, scale = self._windows(self.Z_, (np.full(N, T - 1), np.arange(N)), with_target=False)
        pred = self.net_(torch.from_numpy(context), torch.from_numpy(prior)).numpy() * scale[:, None, None]
        pred = np.sort(pred, axis=-1)[:, :horizon]  # quantiles must not cross
        fut = future_frame(self.panel_, horizon, self.freq_).sort_values([ID, DS], ignore_index=True)
        order = pd.Index(self.ids_).get_indexer(fut[ID])
        step = fut.groupby(ID).cumcount().to_numpy()
        fut["yhat"] = pred[order, step, self.quantiles_.index(0.5)]
        for level in levels:
            lo, hi = interval_columns(level)
            fut[lo] = pred[order, step, self.quantiles_.index(round(0.5 - level / 200, 4))]
            fut[hi] = pred[order, step, self.quantiles_.index(round(0.5 + level / 200, 4))]
        return fut
