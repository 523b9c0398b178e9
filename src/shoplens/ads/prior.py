"""The click-rate prior: each item's clicks / impressions shrunk towards the overall click rate.

    ClickRatePrior(prior_impressions=100).fit(impressions)   # no training loop: counted, not learnt

ctr(item) = (clicks_item + m * p) / (impressions_item + m), with p the overall click rate and m =
`prior_impressions` pseudo-impressions at rate p (a Beta(m p, m (1 - p)) prior); an item never shown gets p.
It is the named fallback of `fit_ctr` when a log has too few clicks to learn from, and a baseline to beat.
Stored as a logistic regression over item_id (bias = logit p, one weight per item) so that it saves, loads and
serves as every other CTR model here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from shoplens.ads.base import _features_and_labels
from shoplens.ads.features import FeatureEncoder, _as_keys
from shoplens.ads.lr import LogisticRegression

RATE_FLOOR = 1e-6  # keeps the logits finite for a log with no clicks (or only clicks)


def _logit(p):
    p = np.clip(p, RATE_FLOOR, 1 - RATE_FLOOR)
    return np.log(p / (1 - p))


class ClickRatePrior(LogisticRegression):
    def __init__(self, *, prior_impressions: float = 100.0, seed: int = 0, verbose: bool = False):
        super().__init__(seed=seed, verbose=verbose)
        self.prior_impressions = prior_impressions

    def fit(self, X: pd.DataFrame, y=None, *, eval_set=None, label: str = "clicked", categorical=None,
            dense=None) -> "ClickRatePrior":
        """Count clicks per item_id (eval_set, if given, is not used: there is nothing to stop early)."""
        X, y = _features_and_labels(X, y, label)
        if "item_id" not in X.columns:
            raise ValueError("the click-rate prior counts clicks per item: impressions need an item_id column")
        self.encoder_ = FeatureEncoder(["item_id"], [], {}, 1).fit(X[["item_id"]])
        self.network_ = self._build_network(self.encoder_)
        rate = float(np.mean(y))
        counts = pd.DataFrame({"item": _as_keys(X["item_id"]), "clicked": y}).groupby("item")["clicked"].agg(["sum", "size"])
        smoothed = (counts["sum"] + self.prior_impressions * rate) / (counts["size"] + self.prior_impressions)
        index = self.encoder_.vocabs["item_id"].lookup(list(counts.index), unknown=0) + self.encoder_.field_offset("item_id")
        weights = np.zeros(self.encoder_.n_embeddings, dtype=np.float32)
        weights[index] = _logit(smoothed.to_numpy()) - _logit(rate)
        with torch.no_grad():
            self.network_.linear.embedding.weight.copy_(torch.from_numpy(weights).reshape(-1, 1))
            self.network_.linear.bias.fill_(float(_logit(rate)))
        self.network_.eval()
        self.calibrator_ = None
        self.history_ = []
        self.rate_ = rate
        return self
