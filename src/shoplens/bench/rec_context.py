"""`shoplens bench rec-context`: what event times and event types add to HSTU, on the marketplace simulator.

The public sequence sets carry neither (S3-Rec Amazon) or only timestamps (ml-100k), so this runs on the
simulator, whose users walk a view > click > cart > purchase funnel driven by their taste: a click or a cart says
more about what they like than a view. Each user's events become one sequence (repeats of one item in a row
collapse to one step that keeps its first time and its last event type, as `fit_workspace_model` does);
leave-one-out with full ranking over all items, early stopping on validation, mean ± std over seeds. Variants:
HSTU on item ids only, + event times (relative time bias), + event types (action embedding), next to SASRec and
popularity. The simulator changes nothing between variants: the same split, seeds and hyper-parameters.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from shoplens.bench.harness import BenchResult
from shoplens.bench.rec import PARAMS, fit_and_score, summarize
from shoplens.recommend.evaluate import leave_one_out

# variant -> (model, reads event times, reads event types)
VARIANTS = {
    "popularity": ("popularity", False, False),
    "sasrec": ("sasrec", False, False),
    "hstu, item ids only": ("hstu", False, False),
    "hstu + event times": ("hstu", True, False),
    "hstu + event times + event types": ("hstu", True, True),
}
SIMULATOR = {"n_users": 2000, "n_items": 1000, "days": 180}
SEQUENCE_PARAMS = {"patience": 4}  # on top of bench.rec.PARAMS: sized for a 2-core machine
QUICK = {"n_users": 400, "n_items": 200, "days": 60, "max_epochs": 2, "seeds": (0,)}


def simulator_sequences(n_users: int, n_items: int, days: int, seed: int = 0):
    """Collapsed per-user (items, times, actions) from the simulator's events, plus the catalogue size."""
    from shoplens.datasets.synthetic import marketplace
    from shoplens.recommend.workspace_models import collapsed_event_sequences

    world = marketplace(n_users=n_users, n_items=n_items, days=days, seed=seed)
    _, items, sequences, times, actions = collapsed_event_sequences(world.tables["events"])
    return sequences, times, actions, len(items)


def run(seeds=(0, 1, 2), quick: bool = False, simulator_seed: int = 0, device: str = "cpu") -> BenchResult:
    torch.set_num_threads(min(2, torch.get_num_threads()))
    started = time.perf_counter()
    size = {k: QUICK[k] for k in SIMULATOR} if quick else dict(SIMULATOR)
    seeds = QUICK["seeds"] if quick else tuple(seeds)
    sequences, times, actions, n_items = simulator_sequences(**size, seed=simulator_seed)
    split = leave_one_out(sequences)
    lengths = np.array([len(s) for s in sequences])
    result = BenchResult("rec-context", f"simulator ({size['n_users']} users, {n_items} items, {size['days']} days)",
                         "leave-one-out over collapsed event sequences, full ranking over all items; "
                         "early stopping on validation NDCG@10")
    for variant, (model, use_times, use_actions) in VARIANTS.items():
        params = dict(PARAMS.get(model, {}))
        if model in ("sasrec", "hstu"):
            params.update(SEQUENCE_PARAMS, device=device)
            if quick:
                params.update(max_epochs=QUICK["max_epochs"], dim=32)
        model_seeds = seeds if model != "popularity" else seeds[:1]  # deterministic: once
        runs = [fit_and_score(model, split, n_items, "full", None, seed, params,
                              times=times if use_times else None, actions=actions if use_actions else None)
                for seed in model_seeds]
        result.metrics[variant], row = summarize(variant, runs, model_seeds, params)
        result.rows.append(row)
    result.metrics["n_users"], result.metrics["n_items"] = len(split.users), n_items
    result.metrics["median_sequence_length"] = float(np.median(lengths))
    result.metrics["quick"] = quick
    result.seconds = time.perf_counter() - started
    return result
