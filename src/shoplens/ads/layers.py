"""The pieces every CTR network here shares: one field-offset embedding table and an MLP tower.

Initialisation follows FuxiCTR (the code behind the BARS numbers): embeddings ~ N(0, 1e-4), linear
weights Xavier-normal, biases zero. The tiny embedding init matters with a strong L2 on embeddings.
"""

from __future__ import annotations

import torch
from torch import nn

EMBEDDING_STD = 1e-4


class FieldEmbedding(nn.Embedding):
    """[B, n_fields] global indices -> [B, n_fields, dim]. Named `*embedding*` so the L2 penalty finds it."""

    def __init__(self, n_embeddings: int, dim: int):
        super().__init__(max(n_embeddings, 1), dim)
        nn.init.normal_(self.weight, std=EMBEDDING_STD)


class MLP(nn.Sequential):
    """Linear -> BatchNorm -> ReLU -> Dropout per hidden layer (FuxiCTR's MLP_Layer), optional output unit."""

    def __init__(self, in_dim: int, hidden_units=(400, 400, 400), dropout: float = 0.0, batch_norm: bool = True,
                 output_dim: int | None = 1):
        layers: list[nn.Module] = []
        for units in hidden_units:
            layers += [nn.Linear(in_dim, units)]
            layers += [nn.BatchNorm1d(units)] if batch_norm else []
            layers += [nn.ReLU()] + ([nn.Dropout(dropout)] if dropout > 0 else [])
            in_dim = units
        if output_dim is not None:
            layers.append(nn.Linear(in_dim, output_dim))
        super().__init__(*layers)
        self.out_dim = output_dim if output_dim is not None else in_dim
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_normal_(module.weight)
                nn.init.zeros_(module.bias)


def fm_second_order(embedded: torch.Tensor) -> torch.Tensor:
    """Sum over field pairs of <v_i, v_j> in O(n_fields·dim): ½((Σv)² − Σv²) summed over dim. [B, F, d] -> [B]."""
    square_of_sum = embedded.sum(dim=1).pow(2)
    sum_of_square = embedded.pow(2).sum(dim=1)
    return 0.5 * (square_of_sum - sum_of_square).sum(dim=1)


class FirstOrder(nn.Module):
    """Logistic-regression part: one weight per categorical value, a linear map of dense features, a bias."""

    def __init__(self, n_embeddings: int, n_dense: int):
        super().__init__()
        self.embedding = FieldEmbedding(n_embeddings, 1)
        self.dense = nn.Linear(n_dense, 1, bias=False) if n_dense else None
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, categorical: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
        out = self.embedding(categorical).sum(dim=(1, 2)) + self.bias
        return out + self.dense(dense).squeeze(-1) if self.dense is not None else out
