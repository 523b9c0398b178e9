"""DCN-V2 (Wang et al. 2021), parallel structure: a cross network and an MLP side by side on the stacked
embeddings, their outputs concatenated into one logit.

Cross layer l: x_{l+1} = x_0 ⊙ (W_l x_l + b_l) + x_l — each layer raises the polynomial degree of the feature
interactions by one while the residual keeps the lower degrees. Full-rank W (Frappe's x_0 has only 100 dims).
"""

from __future__ import annotations

import torch
from torch import nn

from shoplens.ads.base import CTRModelBase
from shoplens.ads.layers import MLP, FieldEmbedding


class CrossNetV2(nn.Module):
    def __init__(self, dim: int, n_layers: int):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(dim, dim) for _ in range(n_layers))
        for layer in self.layers:
            nn.init.xavier_normal_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x0: torch.Tensor) -> torch.Tensor:
        x = x0
        for layer in self.layers:
            x = x0 * layer(x) + x
        return x


class DCNv2Net(nn.Module):
    def __init__(self, n_embeddings: int, n_fields: int, n_dense: int, embedding_dim: int = 10, n_cross_layers: int = 3,
                 hidden_units=(400, 400, 400), dropout: float = 0.2, batch_norm: bool = True):
        super().__init__()
        in_dim = n_fields * embedding_dim + n_dense
        self.embedding = FieldEmbedding(n_embeddings, embedding_dim)
        self.cross = CrossNetV2(in_dim, n_cross_layers)
        self.mlp = MLP(in_dim, hidden_units, dropout, batch_norm, output_dim=None)
        self.head = nn.Linear(in_dim + self.mlp.out_dim, 1)

    def forward(self, categorical, dense, sequence=None) -> torch.Tensor:
        x0 = torch.cat([self.embedding(categorical).flatten(1), dense], dim=1)
        return self.head(torch.cat([self.cross(x0), self.mlp(x0)], dim=1)).squeeze(-1)


class DCNv2(CTRModelBase):
    def __init__(self, *, embedding_dim: int = 10, n_cross_layers: int = 3, hidden_units: tuple = (400, 400, 400),
                 dropout: float = 0.2, batch_norm: bool = True, embedding_l2: float = 0.1, lr: float = 1e-3,
                 batch_size: int = 4096, max_epochs: int = 100, patience: int = 2, min_count: int = 1, seed: int = 0,
                 verbose: bool = True):
        self.embedding_dim = embedding_dim
        self.n_cross_layers = n_cross_layers
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
        return DCNv2Net(encoder.n_embeddings, len(encoder.categorical), len(encoder.dense), self.embedding_dim,
                        self.n_cross_layers, tuple(self.hidden_units), self.dropout, self.batch_norm)
