"""The one training loop shared by the sequence models (SASRec, HSTU, eSASRec).

Next-item prediction at every position of every training sequence. A user's whole history is cut into
windows of `max_len + 1` items (sliding, one item of overlap), so every item of a long history is a target once
per epoch, not only the last `max_len` (ml-100k users have ~106 items: one window would drop half the data).
Losses:
- "ce": full softmax cross-entropy over ALL items, computed only at non-padded positions.
  Beauty users have ~9 items, so a batch of 128 users gives ~1k real positions instead of
  128 x 50: that is what makes full CE affordable on a CPU (Klenitskiy & Vasilev 2023).
- "sampled": softmax over the positive and `n_negatives` uniformly sampled items.
- "gbce": gSASRec's generalised BCE (Petrov & Macdonald 2023): BCE with the positive's
  probability raised to beta, which undoes the overconfidence of negative sampling.
Early stopping on validation NDCG@10 (full ranking; or, when `valid_negatives` are given, the
validation item ranked against those sampled negatives, as the `sampled99` protocol ranks the test item);
the best epoch's weights are kept. Training stops only when `patience` epochs AND `patience_steps` optimiser
steps have passed without a new best: on a small set an epoch is a handful of steps and the validation curve is
noisy, and six epochs of five steps each stopped SASRec long before it had learnt (a 1,100-user music set).
`batch_size=None` sizes batches to the data: about 32 steps per epoch, between 32 and 256 windows.
Batches are bucketed by length and padded only to their own longest sequence.

`TrainingRun` trains one epoch at a time, so a settings search (tuning.py) can pause and resume candidates.
"""

from __future__ import annotations

import copy
import math
import sys
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from shoplens.recommend.base import RecommenderBase, load_torch_state, torch_state

LOSSES = ("ce", "sampled", "gbce")


def pad_left(rows: Sequence[np.ndarray], length: int | None = None, value: int = 0) -> np.ndarray:
    """Right-align each row in a [len(rows), length] array filled with `value`."""
    length = length or max(1, max((len(r) for r in rows), default=1))
    out = np.full((len(rows), length), value, dtype=np.int64)
    for i, r in enumerate(rows):
        r = r[-length:]
        if len(r):
            out[i, length - len(r):] = r
    return out


def training_windows(sequences, max_len: int) -> list[tuple[int, int, int]]:
    """(user, start, stop) slices of at most max_len + 1 items covering every next-item target of every sequence
    once: windows end at the sequence's end and step back by max_len (consecutive windows share one item)."""
    windows = []
    for user, sequence in enumerate(sequences):
        stop = len(sequence)
        while stop >= 2:
            windows.append((user, max(0, stop - max_len - 1), stop))
            stop -= max_len
    return windows


def auto_batch_size(n_windows: int) -> int:
    """About 32 optimiser steps per epoch, within [32, 256] windows per batch."""
    return int(np.clip(n_windows // 32, 32, 256))


def training_batches(sequences, max_len, batch_size, rng, times=None, actions=None, windows=None):
    """Yield (inputs, labels, input_times, input_actions) per batch: inputs are item index + 1 (0 = padding),
    labels the next item's index (-1 = no label); times and actions (event-type codes, 0 = padding) are
    aligned with the inputs, or None. The windows are `training_windows(sequences, max_len)`."""
    windows = training_windows(sequences, max_len) if windows is None else windows
    order = rng.permutation(len(windows))
    chunk = batch_size * 32  # sort within chunks so batches hold similar lengths, then shuffle batches
    batches = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start:start + chunk], key=lambda w: windows[w][2] - windows[w][1])
        batches += [part[i:i + batch_size] for i in range(0, len(part), batch_size)]

    def cut(per_user, w):
        user, start, stop = windows[w]
        return np.asarray(per_user[user][start:stop])

    def aligned_inputs(per_user, batch, length):
        if per_user is None:
            return None
        return pad_left([cut(per_user, w)[:-1] for w in batch], length)

    for b in rng.permutation(len(batches)):
        cuts = [cut(sequences, w) for w in batches[b]]
        inputs = pad_left([c[:-1] + 1 for c in cuts])
        labels = pad_left([c[1:] for c in cuts], inputs.shape[1], value=-1)
        length = inputs.shape[1]
        yield inputs, labels, aligned_inputs(times, batches[b], length), aligned_inputs(actions, batches[b], length)


def next_item_loss(hidden, labels, item_matrix, loss="ce", n_negatives=256, gbce_t=0.75, generator=None):
    """hidden [B, L, d], labels [B, L] (-1 = padding), item_matrix [n_items, d] -> scalar loss.

    "sampled" and "gbce" draw `n_negatives` uniform negatives independently for EVERY position, as
    gSASRec does. One draw shared by the whole batch (~1k positions) made the negative term's
    gradient the same random vector at every position, so it did not average out over the batch and
    drowned the positives' signal: gBCE did not learn at all and sampled softmax learned slowly."""
    real = labels >= 0
    h, y = hidden[real], labels[real]  # only the positions that have a next item
    n_items = item_matrix.shape[0]
    if loss == "ce":
        return F.cross_entropy(h @ item_matrix.T, y)
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    negatives = torch.randint(0, n_items, (len(y), n_negatives), generator=generator).to(h.device)
    positive = (h * item_matrix[y]).sum(-1, keepdim=True)
    if n_items <= n_negatives * h.shape[1]:  # the [positions, n_items] score matrix is the smaller tensor
        negative = (h @ item_matrix.T).gather(1, negatives)
    else:  # large catalogue: score only the sampled rows, [positions, n_negatives, d]
        negative = torch.einsum("pd,pkd->pk", h, item_matrix[negatives])
    negative = negative.masked_fill(negatives == y[:, None], -1e9 if loss == "sampled" else -30.0)  # accidental hits
    if loss == "sampled":
        return F.cross_entropy(torch.cat([positive, negative], 1), torch.zeros(len(y), dtype=torch.long, device=h.device))
    alpha = n_negatives / (n_items - 1)  # negative sampling rate
    beta = alpha * (gbce_t * (1 - 1 / alpha) + 1 / alpha)
    return -(beta * F.logsigmoid(positive)).mean() - F.logsigmoid(-negative).sum(1).mean()


class TrainingRun:
    """Adam on next-item loss, one epoch per `epoch()` call; after each epoch `validate()` returns NDCG@10 and
    the best weights are kept. `run(seconds)` trains until stopped (patience), `max_epochs`, or `seconds`;
    `finish()` restores the best weights and returns the log."""

    def __init__(self, network, sequences, *, loss, n_negatives, gbce_t, lr, weight_decay, batch_size, max_len,
                 max_epochs, patience, validate: Callable[[], float] | None, seed, patience_steps=300,
                 verbose=True, times=None, actions=None, device="cpu"):
        torch.manual_seed(seed)
        self.network, self.sequences, self.times, self.actions = network, sequences, times, actions
        self.loss, self.n_negatives, self.gbce_t, self.max_len = loss, n_negatives, gbce_t, max_len
        self.max_epochs, self.patience, self.patience_steps = max_epochs, patience, patience_steps
        self.validate, self.verbose, self.device = validate, verbose, device
        self.rng, self.generator = np.random.default_rng(seed), torch.Generator().manual_seed(seed)
        self.optimizer = torch.optim.Adam(network.parameters(), lr=lr, weight_decay=weight_decay)
        self.windows = training_windows(sequences, max_len)
        self.batch_size = batch_size or auto_batch_size(len(self.windows))
        self.steps_per_epoch = math.ceil(len(self.windows) / self.batch_size)
        self.log = {"epochs": [], "best_epoch": 0, "best_valid_ndcg10": -1.0, "batch_size": self.batch_size,
                    "windows": len(self.windows), "stopped_by": None}
        self.best_state, self.best_step, self.seconds = None, 0, 0.0
        # dropout draws from torch's global generator: each run keeps its own state, so a run paused and resumed
        # between other runs (the settings search) trains exactly as it would alone
        self.torch_rng = torch.get_rng_state()

    @property
    def epochs_run(self) -> int:
        return len(self.log["epochs"])

    @property
    def done(self) -> bool:
        return self.log["stopped_by"] is not None

    def epoch(self) -> dict:
        started, total = time.perf_counter(), 0.0
        epoch = self.epochs_run + 1
        torch.set_rng_state(self.torch_rng)
        self.network.train()
        bar = tqdm(training_batches(self.sequences, self.max_len, self.batch_size, self.rng, self.times,
                                    self.actions, self.windows),
                   total=self.steps_per_epoch, desc=f"epoch {epoch}", leave=False,
                   disable=not (self.verbose and sys.stderr.isatty()))  # in a log: the epoch lines only
        for inputs, labels, input_times, input_actions in bar:
            hidden = self.network(*(None if t is None else torch.from_numpy(t).to(self.device)
                                    for t in (inputs, input_times, input_actions)))
            batch_loss = next_item_loss(hidden, torch.from_numpy(labels).to(self.device),
                                        self.network.item_matrix()[1:], self.loss, self.n_negatives, self.gbce_t,
                                        self.generator)
            self.optimizer.zero_grad()
            batch_loss.backward()
            self.optimizer.step()
            total += batch_loss.item()
            bar.set_postfix(loss=f"{batch_loss.item():.3f}")
        self.torch_rng = torch.get_rng_state()
        entry = {"epoch": epoch, "loss": total / max(self.steps_per_epoch, 1),
                 "train_seconds": round(time.perf_counter() - started, 2)}
        step = epoch * self.steps_per_epoch
        if self.validate is not None:
            self.network.eval()
            entry["valid_ndcg10"] = self.validate()
            if entry["valid_ndcg10"] >= self.log["best_valid_ndcg10"]:  # a tie goes to the longer-trained weights
                self.log.update(best_epoch=epoch, best_valid_ndcg10=entry["valid_ndcg10"])
                self.best_state, self.best_step = copy.deepcopy(self.network.state_dict()), step
        entry["seconds"] = round(time.perf_counter() - started, 2)
        self.seconds += entry["seconds"]
        self.log["epochs"].append(entry)
        if self.verbose:
            tqdm.write(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in entry.items()),
                       file=sys.stderr)  # stdout carries tables and --json
        waited = epoch - self.log["best_epoch"]
        if self.validate is not None and waited >= self.patience and step - self.best_step >= self.patience_steps:
            self.log["stopped_by"] = "patience"
        elif epoch >= self.max_epochs:
            self.log["stopped_by"] = "max_epochs"
        return entry

    def run(self, seconds: float | None = None) -> "TrainingRun":
        """Train until done, or until about `seconds` more have passed (checked after each epoch)."""
        started = time.perf_counter()
        while not self.done:
            self.epoch()
            if seconds is not None and time.perf_counter() - started > seconds and not self.done:
                break
        return self

    def finish(self, stopped_by: str | None = None) -> dict:
        if stopped_by and not self.done:
            self.log["stopped_by"] = stopped_by
        if self.best_state is not None:
            self.network.load_state_dict(self.best_state)
        self.network.eval()
        self.log["seconds"] = round(self.seconds, 2)
        self.log["seconds_per_epoch"] = round(float(np.mean([e["train_seconds"] for e in self.log["epochs"]] or [0])), 2)
        return self.log


class SequenceRecommender(RecommenderBase):
    """fit / score / save for a network with `forward(items, times, actions) -> [B, L, d]` and `item_matrix()`.
    Subclasses define `_build_network`; the hyper-parameters are `__init__`'s, shared by all of them.
    `times` (seconds) and `actions` (event-type codes >= 1, see `shoplens.data.schema.EVENT_TYPES`) are optional
    per-position side information, aligned with each sequence; a network may ignore them (SASRec does)."""

    n_actions_: int = 0  # event-type codes seen in training + 1 (0 = trained without actions)

    def __init__(self, max_len=50, dim=64, n_blocks=2, n_heads=1, dropout=0.3, loss="ce", n_negatives=256,
                 gbce_t=0.75, lr=2e-3, weight_decay=0.0, batch_size=None, max_epochs=200, patience=6,
                 patience_steps=300, max_seconds=None, id_dropout=0.0, seed=0, verbose=False, device="cpu"):
        """The hyper-parameters every sequence model shares (explicit keywords, as sklearn's get_params reads them):
        network size, loss (`n_negatives`, `gbce_t` for the sampled ones), optimiser, batches (None = sized to the
        data), early stopping (`patience` epochs and `patience_steps` steps), a time cap, id dropout for cold start."""
        self.max_len, self.dim, self.n_blocks, self.n_heads, self.dropout = max_len, dim, n_blocks, n_heads, dropout
        self.loss, self.n_negatives, self.gbce_t = loss, n_negatives, gbce_t
        self.lr, self.weight_decay, self.batch_size = lr, weight_decay, batch_size
        self.max_epochs, self.patience, self.patience_steps = max_epochs, patience, patience_steps
        self.max_seconds = max_seconds
        self.id_dropout, self.seed, self.verbose, self.device = id_dropout, seed, verbose, device

    def _build_network(self, n_items: int, item_text: np.ndarray | None, trained: np.ndarray) -> torch.nn.Module:
        raise NotImplementedError

    def fit(self, sequences, n_items=None, valid=None, times=None, item_text=None, valid_negatives=None, actions=None):
        """sequences: per user, time-ordered item indices. valid: (histories, targets) for early stopping, optionally
        followed by their times and actions: (histories, targets, times[, actions]). valid_negatives:
        [len(targets), k] items; when given, early stopping ranks each validation target against its own row of
        negatives (the `sampled99` protocol) instead of against all items. item_text: [n_items, text_dim] fixed
        text embeddings (cold start). times / actions: per sequence, event times in seconds / event-type codes."""
        run = self.start_training(sequences, n_items, valid, times, item_text, valid_negatives, actions)
        self.end_training(run.run(self.max_seconds), stopped_by="max_seconds")
        return self

    def start_training(self, sequences, n_items=None, valid=None, times=None, item_text=None, valid_negatives=None,
                       actions=None) -> TrainingRun:
        """Build the network and return its `TrainingRun`, not yet trained (`fit` = start, run, end)."""
        torch.manual_seed(self.seed)
        self.n_items = int(n_items or 1 + max(int(s.max()) for s in sequences if len(s)))
        self.n_actions_ = 0 if actions is None else 1 + max((int(np.max(a)) for a in actions if len(a)), default=0)
        counts = np.bincount(np.concatenate([np.asarray(s) for s in sequences]), minlength=self.n_items)
        self.network_ = self._build_network(self.n_items, item_text, counts > 0).to(self.device)
        validate = None
        if valid is not None:
            from shoplens.recommend.evaluate import evaluate

            v_hist, v_target, v_times, v_actions = (*valid, None, None)[:4]
            protocol = "full" if valid_negatives is None else "sampled99"
            validate = lambda: evaluate(self, v_hist, v_target, protocol=protocol, negatives=valid_negatives,
                                       times=v_times, actions=v_actions, top_k=0)["NDCG@10"]
        self.valid_protocol_ = None if valid is None else ("full" if valid_negatives is None else "sampled")
        return TrainingRun(
            self.network_, sequences, loss=self.loss, n_negatives=self.n_negatives, gbce_t=self.gbce_t,
            lr=self.lr, weight_decay=self.weight_decay, batch_size=self.batch_size, max_len=self.max_len,
            max_epochs=self.max_epochs, patience=self.patience, patience_steps=self.patience_steps,
            validate=validate, seed=self.seed, verbose=self.verbose, times=times, actions=actions,
            device=self.device)

    def end_training(self, run: TrainingRun, stopped_by: str | None = None) -> "SequenceRecommender":
        """Keep the run's best weights and its log as `training_log_`."""
        self.training_log_ = run.finish(stopped_by)
        self.training_log_["valid_protocol"] = self.valid_protocol_
        return self

    @torch.no_grad()
    def last_hidden(self, histories, times=None, actions=None) -> torch.Tensor:
        """[len(histories), d]: the sequence representation after each history's last item."""
        if self.network_.training:  # eval() walks every module: not on each request
            self.network_.eval()
        out = torch.empty(len(histories), self.network_.item_embedding.dim, device=self.device)
        by_length = np.argsort([min(len(h), self.max_len) for h in histories], kind="stable")
        for start in range(0, len(histories), 256):  # similar lengths together: little padding
            rows = by_length[start:start + 256]
            items = pad_left([np.asarray(histories[r], dtype=np.int64)[-self.max_len:] + 1 for r in rows])
            aligned = [None if per_history is None else torch.from_numpy(
                pad_left([np.asarray(per_history[r])[-self.max_len:] for r in rows], items.shape[1])).to(self.device)
                for per_history in (times, actions)]
            out[torch.from_numpy(rows).to(self.device)] = self.network_(
                torch.from_numpy(items).to(self.device), *aligned)[:, -1]
        return out

    @torch.no_grad()
    def score(self, histories, users=None, times=None, actions=None) -> np.ndarray:
        scores = self.last_hidden(histories, times, actions) @ self.item_matrix()[1:].T
        return scores.masked_fill(~self.representable_items(), -torch.inf).cpu().numpy()

    @torch.no_grad()
    def item_matrix(self) -> torch.Tensor:
        """[n_items + 1, d] output item vectors, recomputed only after an item parameter or buffer changed (an
        optimiser step bumps a tensor's version; add_items replaces the buffers): serving reuses it."""
        embedding = self.network_.item_embedding
        key = (embedding.training, *((t.data_ptr(), t._version) for t in (*embedding.parameters(), *embedding.buffers())))
        if getattr(self, "_item_matrix_key", None) != key:
            self._item_matrix, self._item_matrix_key = self.network_.item_matrix(), key
        return self._item_matrix

    @torch.no_grad()
    def representable_items(self) -> torch.Tensor:
        """[n_items] bool: items with a trained id vector or a text vector. The others would score exactly 0,
        which a calibrated loss (gBCE) ranks above every real item, so they are never recommended."""
        embedding = self.network_.item_embedding
        trained = embedding.id_scale[1:] > 0
        return torch.ones_like(trained) if embedding.text_dim else trained

    @torch.no_grad()
    def item_vectors(self) -> np.ndarray:
        return self.item_matrix()[1:].cpu().numpy()

    def add_items(self, item_text: np.ndarray) -> np.ndarray:
        """Append new items known only by their text embedding; returns their indices."""
        new = self.network_.item_embedding.add_items(item_text)
        self.n_items += len(new)
        return new

    def _state(self):
        return torch_state(self.network_), {"n_items": self.n_items, "text_dim": self.network_.item_embedding.text_dim,
                                            "n_actions": self.n_actions_}

    def _set_state(self, tensors, extra):
        text_dim, self.n_actions_ = extra["text_dim"], extra.get("n_actions", 0)
        n_rows = tensors["item_embedding.id_embedding.weight"].shape[0] - 1
        self.network_ = self._build_network(n_rows, np.zeros((n_rows, text_dim), np.float32) if text_dim else None,
                                            np.ones(n_rows, bool))
        load_torch_state(self.network_, tensors)
        if not torch.cuda.is_available():
            self.device = "cpu"  # a model trained on a GPU still serves on a CPU
        self.network_.to(self.device).eval()
