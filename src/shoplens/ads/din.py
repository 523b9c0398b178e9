"""DIN (Zhou et al. 2018): target attention over the user's recent items.

For the ad's item t and each recent item h_k, a small MLP reads [h_k, t, h_k − t, h_k ⊙ t] and gives a weight;
the interest vector is Σ_k w_k·h_k over real (non-padding) items — no softmax, as in the paper, so a user with
many relevant items gets a larger vector. Recent items share the item field's embeddings.

To measure what the behaviour sequence adds and nothing else, the rest of the network IS DeepFM (first order +
FM + MLP over the field embeddings); the interest vector is one more input of the MLP.
"""

from __future__ import annotations

import torch
from torch import nn

from shoplens.ads.base import CTRModelBase
from shoplens.ads.layers import MLP, FieldEmbedding, FirstOrder, fm_second_order


class TargetAttention(nn.Module):
    def __init__(self, dim: int, hidden_units=(64, 32)):
        super().__init__()
        self.score = MLP(4 * dim, hidden_units, dropout=0.0, batch_norm=False)

    def forward(self, history: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """history [B, L, d], target [B, d], mask [B, L] (True = real item) -> interest [B, d]."""
        target = target.unsqueeze(1).expand_as(history)
        weights = self.score(torch.cat([history, target, history - target, history * target], dim=-1)).squeeze(-1)
        return (weights * mask).unsqueeze(-1).mul(history).sum(dim=1)


class DINNet(nn.Module):
    def __init__(self, n_embeddings: int, n_fields: int, n_dense: int, item_field: int, item_offset: int,
                 embedding_dim: int = 10, hidden_units=(200, 80), attention_units=(64, 32), dropout: float = 0.1,
                 batch_norm: bool = True):
        super().__init__()
        self.item_field, self.item_offset = item_field, item_offset
        self.linear = FirstOrder(n_embeddings, n_dense)
        self.embedding = FieldEmbedding(n_embeddings, embedding_dim)
        self.attention = TargetAttention(embedding_dim, attention_units)
        self.mlp = MLP((n_fields + 1) * embedding_dim + n_dense, hidden_units, dropout, batch_norm)

    def forward(self, categorical, dense, sequence) -> torch.Tensor:
        embedded = self.embedding(categorical)
        mask = sequence > 0
        history = self.embedding(torch.where(mask, sequence - 1 + self.item_offset, 0)) * mask.unsqueeze(-1)
        interest = self.attention(history, embedded[:, self.item_field], mask.float())
        deep = self.mlp(torch.cat([embedded.flatten(1), interest, dense], dim=1)).squeeze(-1)
        return self.linear(categorical, dense) + fm_second_order(embedded) + deep


class DIN(CTRModelBase):
    """Needs a sequence column (default `history`, lists of item ids, most recent last) next to `item_id`."""

    def __init__(self, *, item_field: str = "item_id", history_field: str = "history", max_history: int = 20,
                 embedding_dim: int = 10, hidden_units: tuple = (200, 80), attention_units: tuple = (64, 32),
                 dropout: float = 0.1, batch_norm: bool = True, embedding_l2: float = 0.01, lr: float = 1e-3,
                 batch_size: int = 1024, max_epochs: int = 50, patience: int = 2, min_count: int = 1, seed: int = 0,
                 verbose: bool = True):
        self.item_field = item_field
        self.history_field = history_field
        self.max_history = max_history
        self.embedding_dim = embedding_dim
        self.hidden_units = hidden_units
        self.attention_units = attention_units
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

    def _sequence_fields(self) -> dict[str, str]:
        return {self.history_field: self.item_field}

    def _build_network(self, encoder) -> nn.Module:
        if self.item_field not in encoder.categorical:
            raise ValueError(f"DIN needs the item field {self.item_field!r} among the categorical features")
        return DINNet(encoder.n_embeddings, len(encoder.categorical), len(encoder.dense),
                      encoder.categorical.index(self.item_field), encoder.field_offset(self.item_field),
                      self.embedding_dim, tuple(self.hidden_units), tuple(self.attention_units), self.dropout,
                      self.batch_norm)
