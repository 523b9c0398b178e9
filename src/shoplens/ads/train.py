"""The one training loop every CTR network here shares (BARS / FuxiCTR recipe).

Adam on binary cross-entropy over shuffled mini-batches, plus (λ/2)·‖E‖² over EVERY embedding table each
step (FuxiCTR's `embedding_regularizer`; on Frappe this is what lets DeepFM keep improving after epoch 7).
After each epoch: validation AUC; an epoch that does not improve it multiplies the learning rate by 0.1
(ReduceLROnPlateau, patience 0) and `patience` such epochs in a row stop training. The best epoch's
weights are restored. Test data never enters here.
"""

from __future__ import annotations

import copy
import math
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import log_loss, roc_auc_score
from tqdm.auto import tqdm

from shoplens.ads.features import Batch

MIN_IMPROVEMENT = 1e-6  # validation AUC must beat the best by this much to count as progress


def default_device() -> torch.device:
    """A GPU when there is one (same results, faster), else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def to_tensors(batch: Batch, device=None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    sequence = None if batch.sequence is None else torch.from_numpy(batch.sequence).to(device)
    return torch.from_numpy(batch.categorical).to(device), torch.from_numpy(batch.dense).to(device), sequence


@torch.no_grad()
def predict_logits(network: torch.nn.Module, batch: Batch, batch_size: int = 16384) -> np.ndarray:
    network.eval()
    categorical, dense, sequence = to_tensors(batch, next(network.parameters()).device)
    out = [network(categorical[s:s + batch_size], dense[s:s + batch_size],
                   None if sequence is None else sequence[s:s + batch_size])
           for s in range(0, len(batch), batch_size)]
    return torch.cat(out).cpu().numpy().astype(np.float64) if out else np.zeros(0)


def classification_metrics(y: np.ndarray, logits: np.ndarray) -> dict[str, float]:
    """AUC and logloss from logits (AUC is NaN when only one class is present)."""
    p = 1.0 / (1.0 + np.exp(-logits))
    auc = roc_auc_score(y, logits) if len(np.unique(y)) == 2 else math.nan
    return {"auc": float(auc), "logloss": float(log_loss(y, np.clip(p, 1e-7, 1 - 1e-7), labels=[0, 1]))}


def train_network(network: torch.nn.Module, train: Batch, y_train: np.ndarray, valid: Batch, y_valid: np.ndarray, *,
                  lr: float = 1e-3, batch_size: int = 4096, max_epochs: int = 100, patience: int = 2,
                  embedding_l2: float = 0.0, seed: int = 0, verbose: bool = True, lr_factor: float = 0.1,
                  min_lr: float = 1e-6, name: str = "") -> list[dict]:
    """Train in place, restore the best-on-validation weights; return one dict per epoch."""
    device = default_device()
    network.to(device)
    generator = torch.Generator().manual_seed(seed)
    categorical, dense, sequence = to_tensors(train, device)
    labels = torch.from_numpy(np.asarray(y_train, dtype=np.float32)).to(device)
    optimizer = torch.optim.Adam(network.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=lr_factor, patience=0,
                                                           threshold=MIN_IMPROVEMENT, threshold_mode="abs", min_lr=min_lr)
    embeddings = [p for n, p in network.named_parameters() if "embedding" in n]
    best_auc, best_state, epochs_without_gain, history = -math.inf, None, 0, []
    for epoch in range(1, max_epochs + 1):
        network.train()
        started, total_loss, n_seen = time.perf_counter(), 0.0, 0
        order = torch.randperm(len(train), generator=generator)
        starts = range(0, len(train), batch_size)
        for start in tqdm(starts, desc=f"{name} epoch {epoch}", disable=not verbose, leave=False):
            rows = order[start:start + batch_size].to(device)
            if len(rows) < 2:  # batch norm cannot train on a single row
                continue
            logits = network(categorical[rows], dense[rows], None if sequence is None else sequence[rows])
            loss = F.binary_cross_entropy_with_logits(logits, labels[rows])
            total_loss += float(loss.detach()) * len(rows)
            n_seen += len(rows)
            if embedding_l2:
                loss = loss + embedding_l2 / 2 * sum(p.pow(2).sum() for p in embeddings)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        seconds = time.perf_counter() - started
        metrics = classification_metrics(np.asarray(y_valid), predict_logits(network, valid))
        history.append({"epoch": epoch, "train_logloss": total_loss / max(n_seen, 1), "valid_auc": metrics["auc"],
                        "valid_logloss": metrics["logloss"], "lr": optimizer.param_groups[0]["lr"], "seconds": seconds})
        if verbose:
            print(f"{name} epoch {epoch}: valid AUC {metrics['auc']:.5f} logloss {metrics['logloss']:.5f} "
                  f"lr {optimizer.param_groups[0]['lr']:.0e} ({seconds:.1f}s)", file=sys.stderr, flush=True)  # stdout: --json
        auc = metrics["auc"] if not math.isnan(metrics["auc"]) else -metrics["logloss"]
        if auc > best_auc + MIN_IMPROVEMENT:
            best_auc, best_state, epochs_without_gain = auc, copy.deepcopy(network.state_dict()), 0
        else:
            epochs_without_gain += 1
        scheduler.step(auc)
        if epochs_without_gain >= patience:
            break
    if best_state is not None:
        network.load_state_dict(best_state)
    network.cpu().eval()  # saved and served from the CPU
    return history
