"""Logistic regression over one-hot categorical values and dense features: the CTR baseline."""

from __future__ import annotations

import torch
from torch import nn

from shoplens.ads.base import CTRModelBase
from shoplens.ads.layers import FirstOrder


class LRNet(nn.Module):
    def __init__(self, n_embeddings: int, n_fields: int, n_dense: int):
        super().__init__()
        self.linear = FirstOrder(n_embeddings, n_dense)

    def forward(self, categorical, dense, sequence=None) -> torch.Tensor:
        return self.linear(categorical, dense)


class LogisticRegression(CTRModelBase):
    def __init__(self, *, embedding_l2: float = 0.0, lr: float = 0.01, batch_size: int = 4096, max_epochs: int = 100,
                 patience: int = 2, min_count: int = 1, seed: int = 0, verbose: bool = True):
        self.embedding_l2 = embedding_l2
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.min_count = min_count
        self.seed = seed
        self.verbose = verbose

    def _build_network(self, encoder) -> nn.Module:
        return LRNet(encoder.n_embeddings, len(encoder.categorical), len(encoder.dense))
