"""HSTU-style generative recommender (Zhai et al., ICML 2024, "Actions Speak Louder than Words").

Each layer replaces softmax attention with POINTWISE aggregated attention and gates the result:

    U, V, Q, K = split(SiLU(f1(LN(x))))
    A          = SiLU(Q Kᵀ + rab_position(i - j) + rab_time(bucket(t_i - t_j))) * causal_mask / N
    x          = x + Dropout(f2(LN(A V) ⊙ U))

No softmax means the weights do not have to sum to one, so how MUCH of the history points
at an interest is kept (the paper's argument for streaming, non-stationary vocabularies).
N is the maximum sequence length (a constant, so padding never changes the result).
The time bias is used when timestamps are given (seconds); the S3-Rec files have none.
Event types (view, click, cart, purchase ...), when given at fit time, enter as a learnt action embedding
added to each position's item embedding: the paper's "actions" merged into the item token, so the model
can tell an item the user only glanced at from one they put in the cart.
Scores as SASRec: final hidden state · tied item embeddings; trained by train.py.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from shoplens.recommend.sasrec import attention_mask
from shoplens.recommend.text_items import ItemEmbedding
from shoplens.recommend.train import SequenceRecommender

N_TIME_BUCKETS = 64


def time_buckets(times: torch.Tensor) -> torch.Tensor:
    """[B, L] seconds -> [B, L, L] bucket of |t_i - t_j| on a log scale (0 = same second)."""
    gap = (times[:, :, None] - times[:, None, :]).abs().float()
    return (torch.log1p(gap) / math.log(1.5)).long().clamp(max=N_TIME_BUCKETS - 1)


class PointwiseAttention(nn.Module):
    def __init__(self, dim: int, n_heads: int, max_len: int, dropout: float):
        super().__init__()
        self.n_heads, self.max_len = n_heads, max_len
        self.norm_in, self.norm_out = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.f1 = nn.Linear(dim, 4 * dim)
        self.f2 = nn.Linear(dim, dim)
        self.position_bias = nn.Parameter(torch.zeros(n_heads, max_len))  # by distance i - j >= 0
        self.time_bias = nn.Parameter(torch.zeros(n_heads, N_TIME_BUCKETS))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, mask, times=None):
        B, L, D = x.shape
        H = self.n_heads
        u, v, q, k = F.silu(self.f1(self.norm_in(x))).split(D, dim=-1)
        q, k, v = (t.view(B, L, H, D // H).transpose(1, 2) for t in (q, k, v))
        steps = torch.arange(L, device=x.device)
        distance = (steps[:, None] - steps[None, :]).clamp(0, self.max_len - 1)
        logits = q @ k.transpose(-1, -2) + self.position_bias[:, distance]  # [B, H, L, L]
        if times is not None:
            logits = logits + self.time_bias[:, time_buckets(times)].permute(1, 0, 2, 3)
        weights = F.silu(logits) * mask / self.max_len
        attended = (self.dropout(weights) @ v).transpose(1, 2).reshape(B, L, D)
        return x + self.dropout(self.f2(self.norm_out(attended) * u))


class HSTUNetwork(nn.Module):
    def __init__(self, n_items, max_len, dim, n_blocks, n_heads, dropout, item_text=None, trained=None, id_dropout=0.0,
                 n_actions=0):
        super().__init__()
        self.item_embedding = ItemEmbedding(n_items, dim, item_text, trained, id_dropout)
        self.position = nn.Embedding(max_len, dim)
        self.n_actions = n_actions  # 0 = trained without event types
        self.action = nn.Embedding(n_actions, dim, padding_idx=0) if n_actions else None
        self.dropout = nn.Dropout(dropout)
        self.layers = nn.ModuleList(PointwiseAttention(dim, n_heads, max_len, dropout) for _ in range(n_blocks))
        self.final_norm = nn.LayerNorm(dim)

    def item_matrix(self) -> torch.Tensor:
        return self.item_embedding()

    def forward(self, items: torch.Tensor, times: torch.Tensor | None = None,
                actions: torch.Tensor | None = None) -> torch.Tensor:
        """items [B, L] (index + 1, 0 = padding, right-aligned), times [B, L] seconds or None, actions [B, L]
        event-type codes (0 = unknown) or None -> [B, L, d]."""
        length = items.shape[1]
        from_end = torch.arange(length - 1, -1, -1, device=items.device)
        x = self.item_embedding.lookup(items) * math.sqrt(self.item_embedding.dim) + self.position(from_end)
        if self.action is not None and actions is not None:
            x = x + self.action(torch.where(actions < self.n_actions, actions, 0))  # a code never trained: unknown
        real = (items != 0).unsqueeze(-1)
        x, mask = self.dropout(x) * real, attention_mask(items)
        for layer in self.layers:
            x = layer(x, mask, times) * real
        return self.final_norm(x)


class HSTU(SequenceRecommender):
    """sklearn-style HSTU. `fit(sequences, n_items, valid=(histories, targets[, times[, actions]]), times=None,
    actions=None, item_text=None)`."""

    def _build_network(self, n_items, item_text, trained):
        return HSTUNetwork(n_items, self.max_len, self.dim, self.n_blocks, self.n_heads, self.dropout,
                           item_text, trained, self.id_dropout, self.n_actions_)
