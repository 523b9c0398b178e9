"""Text-aware item vectors for cold start.

item vector = learned id embedding + W · (fixed text embedding of the item)

An item with zero training interactions has no trained id embedding; its id part is
switched off (id_scale = 0) and it is scored through the text projection alone, so it can
still be recommended. `id_dropout` switches random items' id parts off during training,
which forces the projection W to carry signal on its own (otherwise it learns little
while the id embeddings do all the work).
"""

from __future__ import annotations


import numpy as np
import torch
from torch import nn


class ItemEmbedding(nn.Module):
    """Row 0 is padding; rows 1..n are items. `forward()` returns the whole [n + 1, dim] matrix."""

    def __init__(self, n_items: int, dim: int, item_text: np.ndarray | None = None,
                 trained: np.ndarray | None = None, id_dropout: float = 0.0):
        super().__init__()
        self.dim, self.id_dropout = dim, id_dropout
        self.id_embedding = nn.Embedding(n_items + 1, dim, padding_idx=0)
        nn.init.normal_(self.id_embedding.weight, std=dim ** -0.5)
        id_scale = torch.ones(n_items + 1)
        id_scale[0] = 0.0
        if trained is not None:
            id_scale[1:] = torch.as_tensor(np.asarray(trained, dtype=np.float32))
        self.register_buffer("id_scale", id_scale)
        self.text_dim = 0 if item_text is None else int(item_text.shape[1])
        if self.text_dim:
            text = torch.zeros(n_items + 1, self.text_dim)
            text[1:] = torch.as_tensor(np.asarray(item_text, dtype=np.float32))
            self.register_buffer("text", text)
            self.text_projection = nn.Linear(self.text_dim, dim, bias=False)

    def forward(self) -> torch.Tensor:
        scale = self.id_scale
        if self.training and self.id_dropout > 0:
            scale = scale * (torch.rand_like(scale) >= self.id_dropout)
        vectors = self.id_embedding.weight * scale[:, None]
        if self.text_dim:
            vectors = vectors + self.text_projection(self.text)
        return vectors

    def lookup(self, indices: torch.Tensor) -> torch.Tensor:
        """Vectors of the given rows only: serving one user must not touch a million-row table."""
        scale = self.id_scale[indices]
        if self.training and self.id_dropout > 0:
            scale = scale * (torch.rand_like(scale) >= self.id_dropout)
        vectors = self.id_embedding(indices) * scale.unsqueeze(-1)
        if self.text_dim:
            vectors = vectors + self.text_projection(self.text[indices])
        return vectors

    @torch.no_grad()
    def add_items(self, item_text: np.ndarray) -> np.ndarray:
        """Append items that have text but no trained id embedding; returns their 0-based indices."""
        if not self.text_dim:
            raise ValueError("this model was trained without item text, so it cannot embed new items")
        device = self.id_scale.device
        item_text = torch.as_tensor(np.asarray(item_text, dtype=np.float32), device=device)
        first = self.id_embedding.num_embeddings - 1
        weight = torch.cat([self.id_embedding.weight, torch.zeros(len(item_text), self.dim, device=device)])
        self.id_embedding = nn.Embedding.from_pretrained(weight, freeze=False, padding_idx=0)
        self.id_scale = torch.cat([self.id_scale, torch.zeros(len(item_text), device=device)])
        self.text = torch.cat([self.text, item_text])
        return np.arange(first, first + len(item_text))
