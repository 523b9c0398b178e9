"""SASRec: self-attentive sequential recommendation (Kang & McAuley, ICDM 2018).

A causal Transformer reads a user's item sequence; the hidden state after item t is
dotted with every item's embedding (tied input/output embeddings) to score item t + 1:

    x_0   = E[items] * sqrt(d) + P[position from the end]
    x     = x + Dropout(Attention(LN(x)))          attention: softmax(QK^T / sqrt(d_h) + causal mask) V
    x     = x + Dropout(FFN(LN(x)))                FFN: W2 ReLU(W1 x)
    score = LN(x_t) · E[item]

Positions count from the END of the sequence, so the newest item always has position 0
and a batch only needs padding to its own longest sequence. Trained by train.py with full
cross-entropy by default (much better than the paper's BCE with one negative).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from shoplens.recommend.text_items import ItemEmbedding
from shoplens.recommend.train import SequenceRecommender


def attention_mask(items: torch.Tensor) -> torch.Tensor:
    """[B, 1, L, L] True where query i may look at key j: j <= i and j is not padding (or j == i,
    so that padding queries have one key and softmax stays finite)."""
    length = items.shape[1]
    causal = torch.ones(length, length, dtype=torch.bool, device=items.device).tril()
    real_key = (items != 0)[:, None, None, :]
    return causal & (real_key | torch.eye(length, dtype=torch.bool, device=items.device))


class CausalSelfAttention(nn.Module):
    def __init__(self, dim: int, n_heads: int, dropout: float):
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        B, L, D = x.shape
        q, k, v = self.qkv(x).view(B, L, 3, self.n_heads, D // self.n_heads).permute(2, 0, 3, 1, 4)
        weights = (q @ k.transpose(-1, -2)) / math.sqrt(D // self.n_heads)
        weights = self.dropout(weights.masked_fill(~mask, float("-inf")).softmax(-1))
        return self.out((weights @ v).transpose(1, 2).reshape(B, L, D))


class Block(nn.Module):
    def __init__(self, dim: int, n_heads: int, dropout: float):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attention = CausalSelfAttention(dim, n_heads, dropout)
        self.ffn = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Dropout(dropout), nn.Linear(dim, dim))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, mask):
        x = x + self.dropout(self.attention(self.norm1(x), mask))
        return x + self.dropout(self.ffn(self.norm2(x)))


class SASRecNetwork(nn.Module):
    def __init__(self, n_items, max_len, dim, n_blocks, n_heads, dropout, item_text=None, trained=None, id_dropout=0.0):
        super().__init__()
        self.item_embedding = ItemEmbedding(n_items, dim, item_text, trained, id_dropout)
        self.position = nn.Embedding(max_len, dim)
        self.dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(dim, n_heads, dropout) for _ in range(n_blocks))
        self.final_norm = nn.LayerNorm(dim)

    def item_matrix(self) -> torch.Tensor:
        return self.item_embedding()

    def forward(self, items: torch.Tensor, times: torch.Tensor | None = None, actions: torch.Tensor | None = None):
        """items [B, L] (item index + 1, 0 = padding, right-aligned) -> hidden states [B, L, d].
        SASRec reads item ids and positions only, as in the paper: `times` and `actions` are ignored."""
        length = items.shape[1]
        from_end = torch.arange(length - 1, -1, -1, device=items.device)
        x = self.item_embedding.lookup(items) * math.sqrt(self.item_embedding.dim) + self.position(from_end)
        real = (items != 0).unsqueeze(-1)
        x, mask = self.dropout(x) * real, attention_mask(items)
        for block in self.blocks:
            x = block(x, mask) * real  # keep padding rows at zero
        return self.final_norm(x)


class SASRec(SequenceRecommender):
    """sklearn-style SASRec. `fit(sequences, n_items, valid=(histories, targets), item_text=None)`."""

    def _build_network(self, n_items, item_text, trained):
        return SASRecNetwork(n_items, self.max_len, self.dim, self.n_blocks, self.n_heads, self.dropout,
                             item_text, trained, self.id_dropout)
