"""eSASRec: SASRec with the modular improvements that add up (Tikhonovich et al., RecSys 2025, "eSASRec:
Enhancing Transformer-based Recommendations in a Modular Fashion").

SASRec's objective (next item at every position, causal attention), trained with a softmax over many items
(full cross-entropy here, or sampled softmax for big catalogues: `loss="sampled"`), and LiGR-style layers
(LinkedIn 2025): pre-normalisation, gated residuals and a SwiGLU feed-forward:

    x_0   = E[items] * sqrt(d) + P[position from the end]
    x     = x + σ(G_a · n) ⊙ Dropout(Attention(n)),   n = RMSNorm(x)     attention as SASRec's, causal
    x     = x + σ(G_f · n) ⊙ Dropout(SwiGLU(n)),      n = RMSNorm(x)     SwiGLU(n) = W2 (SiLU(W1 n) ⊙ W3 n)
    score = RMSNorm(x_t) · E[item]

The gates let a layer leave the residual stream alone where it has nothing to add (a deeper model trains as
stably as a shallow one); SwiGLU is the feed-forward of today's language models, 4·d wide here where
SASRec's is d. Everything else (item embeddings with text for cold start, training loop, early stopping,
saving) is shared with SASRec through train.py.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from shoplens.recommend.sasrec import attention_mask
from shoplens.recommend.text_items import ItemEmbedding
from shoplens.recommend.train import SequenceRecommender


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.eps, self.weight = eps, nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class GatedBlock(nn.Module):
    def __init__(self, dim: int, n_heads: int, dropout: float, ffn_mult: int = 4):
        super().__init__()
        self.n_heads = n_heads
        self.norm1, self.norm2 = RMSNorm(dim), RMSNorm(dim)
        self.qkv, self.out = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.gate_attention, self.gate_ffn = nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.w1, self.w3 = nn.Linear(dim, ffn_mult * dim), nn.Linear(dim, ffn_mult * dim)
        self.w2 = nn.Linear(ffn_mult * dim, dim)
        self.dropout = dropout

    def attention(self, x, mask):
        B, L, D = x.shape
        q, k, v = self.qkv(x).view(B, L, 3, self.n_heads, D // self.n_heads).permute(2, 0, 3, 1, 4)
        weights = (q @ k.transpose(-1, -2)) / math.sqrt(D // self.n_heads)
        weights = F.dropout(weights.masked_fill(~mask, float("-inf")).softmax(-1), self.dropout, self.training)
        return self.out((weights @ v).transpose(1, 2).reshape(B, L, D))

    def forward(self, x, mask):
        n = self.norm1(x)
        x = x + torch.sigmoid(self.gate_attention(n)) * F.dropout(self.attention(n, mask), self.dropout, self.training)
        n = self.norm2(x)
        ffn = self.w2(F.dropout(F.silu(self.w1(n)) * self.w3(n), self.dropout, self.training))
        return x + torch.sigmoid(self.gate_ffn(n)) * F.dropout(ffn, self.dropout, self.training)


class ESASRecNetwork(nn.Module):
    def __init__(self, n_items, max_len, dim, n_blocks, n_heads, dropout, item_text=None, trained=None, id_dropout=0.0):
        super().__init__()
        self.item_embedding = ItemEmbedding(n_items, dim, item_text, trained, id_dropout)
        self.position = nn.Embedding(max_len, dim)
        self.dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(GatedBlock(dim, n_heads, dropout) for _ in range(n_blocks))
        self.final_norm = RMSNorm(dim)

    def item_matrix(self) -> torch.Tensor:
        return self.item_embedding()

    def forward(self, items: torch.Tensor, times: torch.Tensor | None = None, actions: torch.Tensor | None = None):
        """items [B, L] (item index + 1, 0 = padding, right-aligned) -> hidden states [B, L, d]; like SASRec,
        `times` and `actions` are ignored."""
        length = items.shape[1]
        from_end = torch.arange(length - 1, -1, -1, device=items.device)
        x = self.item_embedding.lookup(items) * math.sqrt(self.item_embedding.dim) + self.position(from_end)
        real = (items != 0).unsqueeze(-1)
        x, mask = self.dropout(x) * real, attention_mask(items)
        for block in self.blocks:
            x = block(x, mask) * real
        return self.final_norm(x)


class ESASRec(SequenceRecommender):
    """sklearn-style eSASRec: the same hyper-parameters and `fit` as SASRec (`loss="sampled"` with `n_negatives`
    in the thousands for a catalogue too big for a full softmax)."""

    def _build_network(self, n_items, item_text, trained):
        return ESASRecNetwork(n_items, self.max_len, self.dim, self.n_blocks, self.n_heads, self.dropout,
                              item_text, trained, self.id_dropout)
