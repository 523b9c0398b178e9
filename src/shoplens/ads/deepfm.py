"""DeepFM (Guo et al. 2017): an FM and an MLP reading the SAME field embeddings; their logits are summed.

FM catches pairwise interactions cheaply; the MLP ([400, 400, 400] with batch norm and dropout on Frappe,
as in BARS) catches higher-order ones. Dense features enter the first-order part and the MLP input.
"""

from __future__ import annotations

import torch
from torch import nn

from shoplens.ads.base import CTRModelBase
from shoplens.ads.layers import MLP, FieldEmbedding, FirstOrder, fm_second_order


class DeepFMNet(nn.Module):
    def __init__(self, n_embeddings: int, n_fields: int, n_dense: int, embedding_dim: int = 10,
                 hidden_units=(400, 400, 400), dropout: float = 0.2, batch_norm: bool = True):
        super().__init__()
        self.linear = FirstOrder(n_embeddings, n_dense)
        self.embedding = FieldEmbedding(n_embeddings, embedding_dim)
        self.mlp = MLP(n_fields * embedding_dim + n_dense, hidden_units, dropout, batch_norm)

    def forward(self, categorical, dense, sequence=None) -> torch.Tensor:
        embedded = self.embedding(categorical)
        deep = self.mlp(torch.cat([embedded.flatten(1), dense], dim=1)).squeeze(-1)
        return self.linear(categorical, dense) + fm_second_order(embedded) + deep


class DeepFM(CTRModelBase):
    def __init__(self, *, embedding_dim: int = 10, hidden_units: tuple = (400, 400, 400), dropout: float = 0.2,
                 batch_norm: bool = True, embedding_l2: float = 0.1, lr: float = 1e-3, batch_size: int = 4096,
                 max_epochs: int = 100, patience: int = 2, min_count: int = 1, seed: int = 0, verbose: bool = True):
        self.embedding_dim = embedding_dim
        self.hidden_units = hidden_units
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.embedding_l2 = embedding_l2
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.min_count = min_count
        self.seed = seed
        self.verbose = verbose

    def _build_network(self, encoder) -> nn.Module:
        return DeepFMNet(encoder.n_embeddings, len(encoder.categorical), len(encoder.dense), self.embedding_dim,
                         tuple(self.hidden_units), self.dropout, self.batch_norm)
