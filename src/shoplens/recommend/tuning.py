"""Settings chosen for the data at hand, on validation only, within a time budget.

    search = BudgetedSearch("sasrec", budget_minutes=20).fit(train, n_items, valid=(histories, targets))
    search.best_estimator_, search.best_params_, search.reason_

Defaults chosen on one dataset do not carry to the next (SASRec's, chosen on Beauty, stopped at half the
published figure on a small music set), and a shop's own data is always a new dataset. So a few candidate
settings train side by side by successive halving (Jamieson & Talwalkar 2016), resumed rather than restarted:
every candidate trains for an equal share of the first 40% of the budget, the best third by validation
NDCG@10 go on for another 25%, and the winner trains on to its early stop with what is left. A candidate that
stops early (patience) is finished, so on a small shop the search is a plain grid of fully trained models;
on a big one the budget decides how far each gets, and when the first share cannot give every candidate
`MIN_RUNG_EPOCHS` epochs, only the first few candidates are compared. The test items are never seen.
"""

from __future__ import annotations

import math
import time

import numpy as np
from sklearn.base import BaseEstimator

from shoplens.recommend import MODELS, SEQUENCE_MODELS

DEFAULT_BUDGET_MINUTES = 20.0
RUNG_SHARES = (0.40, 0.25)  # of the budget: rung 1 (all candidates), rung 2 (the best third); the rest: the winner
# A first rung shorter than this compares how fast settings start, not where they end: with less time per
# candidate, fewer candidates (in the order listed) are compared, down to the defaults alone.
MIN_RUNG_EPOCHS, MIN_RUNG_STEPS = 8, 300


def default_candidates(sequences) -> list[tuple[str, dict]]:
    """Named overrides of the model's defaults: regularisation and learning rate, which move most between
    datasets (small sets want more dropout), capacity for large ones, and a longer context when histories
    are long."""
    candidates = [("defaults", {}), ("dropout 0.5", {"dropout": 0.5}),
                  ("dropout 0.5, lr 1e-3", {"dropout": 0.5, "lr": 1e-3}), ("dropout 0.1", {"dropout": 0.1}),
                  ("dim 128", {"dim": 128})]
    lengths = np.array([len(s) for s in sequences])
    if len(lengths) and np.percentile(lengths, 75) > 50:
        candidates.append(("max_len 200", {"max_len": 200}))
    else:
        candidates.append(("2 heads, 3 blocks", {"n_heads": 2, "n_blocks": 3}))
    return candidates


class BudgetedSearch(BaseEstimator):
    """Successive halving over `candidates` (default: `default_candidates(train)`) for a sequence model; see the
    module docstring. `params` are the base hyper-parameters the candidates override."""

    def __init__(self, model: str = "sasrec", budget_minutes: float = DEFAULT_BUDGET_MINUTES,
                 candidates: list[tuple[str, dict]] | None = None, params: dict | None = None, seed: int = 0,
                 verbose: bool = False, device: str = "cpu"):
        self.model, self.budget_minutes, self.candidates, self.params = model, budget_minutes, candidates, params
        self.seed, self.verbose, self.device = seed, verbose, device

    def fit(self, sequences, n_items=None, valid=None, **fit_kw) -> "BudgetedSearch":
        if self.model not in SEQUENCE_MODELS:
            raise ValueError(f"the settings search is for {', '.join(SEQUENCE_MODELS)}, not {self.model!r}")
        if valid is None:
            raise ValueError("the settings search needs validation data (valid=...)")
        budget = float(self.budget_minutes) * 60
        if not budget > 0:
            raise ValueError(f"budget_minutes must be positive, got {self.budget_minutes!r}")
        started = time.perf_counter()
        candidates = self.candidates or default_candidates(sequences)
        estimators, runs = [], []
        for _, overrides in candidates:
            settings = {**(self.params or {}), **overrides, "seed": self.seed, "verbose": False, "device": self.device}
            estimators.append(MODELS[self.model](**settings))
            runs.append(estimators[-1].start_training(sequences, n_items, valid, **fit_kw))
        runs[0].epoch()  # how long an epoch takes here decides how many candidates the budget can compare
        per_epoch = max(runs[0].seconds, 1e-3)
        rung_epochs = max(MIN_RUNG_EPOCHS, math.ceil(MIN_RUNG_STEPS / runs[0].steps_per_epoch))
        affordable = int(RUNG_SHARES[0] * budget // (rung_epochs * per_epoch))
        alive = list(range(max(1, min(len(candidates), affordable))))
        if len(alive) < len(candidates):
            self._say(f"budget: {len(alive)} of {len(candidates)} candidates ({per_epoch:.1f} s an epoch; each needs "
                      f"{rung_epochs} epochs in the first rung to be compared)")
        reached = [1 if c in alive else 0 for c in range(len(candidates))]
        for rung, share in enumerate(RUNG_SHARES, start=1):
            for c in alive:
                runs[c].run(share * budget / len(alive) - (per_epoch if rung == 1 and c == 0 else 0))
                self._say(f"rung {rung}: {candidates[c][0]}: best validation NDCG@10 "
                          f"{runs[c].log['best_valid_ndcg10']:.4f} after {runs[c].epochs_run} epochs"
                          f"{' (stopped)' if runs[c].done else ''}")
            if rung < len(RUNG_SHARES):
                alive = sorted(alive, key=lambda c: (-runs[c].log["best_valid_ndcg10"], c))[:math.ceil(len(alive) / 3)]
                for c in alive:
                    reached[c] = rung + 1
        best = min((c for c in range(len(candidates)) if reached[c]),
                   key=lambda c: (-runs[c].log["best_valid_ndcg10"], c))
        left = budget - (time.perf_counter() - started)
        if not runs[best].done and left > 0:
            runs[best].run(left)
        self.best_estimator_ = estimators[best].end_training(runs[best], stopped_by="budget")
        self.best_params_ = {**(self.params or {}), **candidates[best][1]}
        self.best_name_ = candidates[best][0]
        self.search_log_ = [{"name": name, "overrides": overrides, "rung": reached[c],  # 0: not compared
                             "epochs": runs[c].epochs_run, "best_valid_ndcg10": runs[c].log["best_valid_ndcg10"],
                             "seconds": round(runs[c].seconds, 2), "finished": runs[c].done, "chosen": c == best}
                            for c, (name, overrides) in enumerate(candidates)]
        self.seconds_ = round(time.perf_counter() - started, 2)
        self.reason_ = self._reason(best)
        self._say(self.reason_)
        return self

    def _reason(self, best: int) -> str:
        log = {entry["name"]: entry for entry in self.search_log_}
        chosen = self.search_log_[best]
        default = log.get("defaults")
        versus = (f" against {default['best_valid_ndcg10']:.4f} for the defaults"
                  if default is not None and not chosen is default else "")
        return (f"{self.model} settings: {chosen['name']} ({chosen['overrides'] or 'the defaults'}): validation "
                f"NDCG@10 {chosen['best_valid_ndcg10']:.4f}{versus}; {len(self.search_log_)} candidates, successive "
                f"halving in {self.seconds_:.0f} s of a {self.budget_minutes:g}-minute budget")

    def _say(self, line: str) -> None:
        if self.verbose:
            import sys

            from tqdm.auto import tqdm

            tqdm.write(line, file=sys.stderr)
