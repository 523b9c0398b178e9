"""`shoplens bench rec-peer --peer recbole`: RecBole's SASRec and Pop beside ShopLens's popularity, on the same
file, split and protocol (issue 18).

The sequences are ShopLens's own reader's (`shoplens.bench.rec.load_sequences`), written as RecBole atomic files
(`atomic.py`), and RecBole runs them in its own venv (`recbole_env.py`) through `recbole_runner.py`. Protocol:
leave-one-out by time order (RecBole `eval_args` split LS valid_and_test, order TO, group_by user), full ranking,
NDCG@10 / Hit@10 (= HR@10) / MRR@10, early stopping on validation NDCG@10. Pop on both sides is the check that
the two protocols rank alike. One difference stays, RecBole's own: for a sequential model (SASRec) RecBole ranks
the user's history items too; for Pop it masks them, as ShopLens does for every model."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from shoplens.bench.harness import BenchResult
from shoplens.bench.peers import atomic, recbole_env

DATASET = "shoplens"  # the atomic files' name: never one RecBole ships a config for (it has ml-100k.yaml)
COMMON = {
    "USER_ID_FIELD": "user_id", "ITEM_ID_FIELD": "item_id", "TIME_FIELD": "timestamp",
    "load_col": {"inter": ["user_id", "item_id", "timestamp"]},
    "user_inter_num_interval": "[0,inf)", "item_inter_num_interval": "[0,inf)",  # no filtering
    "eval_args": {"split": {"LS": "valid_and_test"}, "order": "TO", "group_by": "user", "mode": "full"},
    "metrics": ["NDCG", "Hit", "MRR"], "topk": [10], "valid_metric": "NDCG@10", "metric_decimal_place": 6,
    "train_neg_sample_args": None, "use_gpu": False, "show_progress": False, "state": "WARNING",
}
# SASRec: RecBole's own SASRec.yaml and overall.yaml otherwise: 2 layers, 2 heads, hidden 64, inner 256,
# dropout 0.5 (hidden and attention), lr 1e-3, batch 2048, weight decay 0, stopping_step 10, epochs 300.
# Pop: RecBole's Pop counts an item once per training batch (`item_cnt[item] = item_cnt[item] + 1` with a batch
# of indices: repeats within a batch collapse), so at its default batch of 2048 popular items' counts saturate.
# A batch of one makes its counts exact, RecBole's code unchanged; the default-batch Pop is reported beside it.
MODELS = {"sasrec": ("SASRec", {"loss_type": "CE", "MAX_ITEM_LIST_LENGTH": 50}),
          "pop": ("Pop", {"train_batch_size": 1}), "pop-batched": ("Pop", {})}
PEER_MODELS = ("sasrec",)  # what --model may name; the Pop runs are always made
REPORT = ("n_layers", "n_heads", "hidden_size", "inner_size", "hidden_dropout_prob", "attn_dropout_prob",
          "loss_type", "learning_rate", "train_batch_size", "weight_decay", "stopping_step", "epochs",
          "MAX_ITEM_LIST_LENGTH", "eval_args", "valid_metric", "seed")
METRICS = {"NDCG@10": "ndcg@10", "HR@10": "hit@10", "MRR@10": "mrr@10"}


def run(dataset: str, format: str | None = None, data=None, model: str = "sasrec", seeds: int = 1,
        max_minutes: float = 15.0, log=sys.stderr) -> BenchResult:
    """RecBole's `model` (seeds 0..seeds-1) and Pop, and ShopLens's popularity, on `dataset`; see the module doc.
    `max_minutes` caps each RecBole training run (not data loading or the test pass)."""
    from shoplens.bench import rec

    if model not in PEER_MODELS:
        raise ValueError(f"peer model must be one of: {', '.join(PEER_MODELS)}, got {model!r}")
    if seeds < 1 or max_minutes <= 0:
        raise ValueError("seeds must be >= 1 and max_minutes > 0")
    started = time.perf_counter()
    name, sequences, n_items, _, _ = rec.load_sequences(dataset, format, data)
    python = recbole_env.ensure_recbole(log)
    result = BenchResult("rec-peer", name, "leave-one-out by sequence order, full ranking; RecBole: eval_args split "
                         "LS valid_and_test, order TO, group_by user, mode full; early stopping on validation "
                         "NDCG@10; RecBole ranks history items for SASRec, masks them for Pop (as ShopLens does)")
    with tempfile.TemporaryDirectory(prefix="shoplens-recbole-") as folder:
        result.metrics["atomic_files"] = atomic.write_atomic(sequences, folder, DATASET)
        runs = {}
        for label, key, model_seeds in ((f"recbole {MODELS[model][0]}", model, range(seeds)),
                                        ("recbole Pop", "pop", range(1)),
                                        ("recbole Pop (batch 2048)", "pop-batched", range(1))):
            runs[label] = [_run_peer(python, folder, key, seed, max_minutes, log) for seed in model_seeds]
    shoplens_pop = rec.run(dataset, format=format, data=data, model="popularity", seeds=(0,))
    for label, peer_runs in runs.items():
        result.metrics[label] = _summarize(peer_runs)
        result.rows.append(_row(label, result.metrics[label]))
    pop = shoplens_pop.metrics["popularity"]
    result.metrics["shoplens popularity"] = {
        "NDCG@10": pop["NDCG@10"], "HR@10": pop["HR@10"], "MRR (not cut at 10)": pop["MRR"], "seeds": [0],
        "train_seconds": pop["train_seconds"], "epochs": None, "stopped_by": "one pass",
        "n_users": shoplens_pop.metrics["n_users"]}
    result.rows.append(_row("shoplens popularity", result.metrics["shoplens popularity"]))
    recbole_pop, n_test = result.metrics["recbole Pop"], shoplens_pop.metrics["n_users"]
    result.metrics["pop_check"] = {  # the two protocols rank alike when the same counts give the same numbers
        "NDCG@10_relative_difference": (recbole_pop["NDCG@10"] - pop["NDCG@10"]) / pop["NDCG@10"],
        "hits@10_recbole": round(recbole_pop["HR@10"] * n_test), "hits@10_shoplens": round(pop["HR@10"] * n_test),
        "hits@10_shoplens_ties_for_target": popularity_hits_ties_for_target(sequences, n_items), "test_users": n_test}
    result.metrics["n_items"], result.metrics["max_minutes"] = n_items, max_minutes
    result.metrics["peer_versions"] = recbole_env.installed_versions()
    result.seconds = time.perf_counter() - started
    return result


def popularity_hits_ties_for_target(sequences, n_items: int, k: int = 10) -> int:
    """Test hits@k of training-count popularity with ties broken FOR the target. ShopLens counts ties against it
    (`shoplens.metrics.rank_of_target`); RecBole's top-k orders equal scores by item index, between the two."""
    import numpy as np

    from shoplens.recommend.evaluate import leave_one_out

    split = leave_one_out(sequences, min_len=atomic.MIN_LEN)
    counts = np.bincount(np.concatenate(split.train), minlength=n_items).astype(np.float64)
    hits = 0
    for history, target in zip(split.test_history, split.test_target):
        scores = counts.copy()
        scores[history] = -np.inf  # the history does not compete; the target is not in its own way
        target_score, scores[target] = counts[target], -np.inf
        hits += int((scores > target_score).sum() < k)
    return hits


def _run_peer(python: Path, folder: str, model: str, seed: int, max_minutes: float, log) -> dict:
    recbole_model, settings = MODELS[model]
    job = Path(folder) / f"job-{model}-{seed}.json"
    job.write_text(json.dumps({
        "data_path": folder, "dataset": DATASET, "model": recbole_model, "seed": seed, "max_minutes": max_minutes,
        "config": {**COMMON, **settings, "checkpoint_dir": str(Path(folder) / "saved")}, "report": REPORT}))
    print(f"peer recbole: {recbole_model} seed {seed} (training capped at {max_minutes:g} min)", file=log, flush=True)
    runner = Path(__file__).with_name("recbole_runner.py")  # run isolated (-I): its folder must not shadow recbole
    timeout = max_minutes * 60 * 2 + 1800  # loading, one epoch past the cap's estimate, the test pass
    try:
        done = subprocess.run([str(python), "-I", str(runner), str(job)], cwd=folder, stdout=subprocess.PIPE,
                              stderr=log, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"peer recbole: {recbole_model} seed {seed} ran past {timeout / 60:.0f} minutes") from None
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"peer recbole: {recbole_model} seed {seed} failed (exit {done.returncode}); "
                           "its output is above")
    return json.loads(lines[-1])


def _summarize(runs: list[dict]) -> dict:
    import numpy as np

    summary = {}
    for key, recbole_key in METRICS.items():
        values = np.array([r["test"][recbole_key] for r in runs])
        summary[key], summary[f"{key}_std"] = float(values.mean()), float(values.std())
    summary.update(seeds=[r["seed"] for r in runs], train_seconds=float(np.mean([r["train_seconds"] for r in runs])),
                   epochs=[r["epochs"] for r in runs], best_epochs=[r["best_epoch"] for r in runs],
                   stopped_by=[r["stopped_by"] for r in runs], targets=runs[0]["targets"],
                   n_users=runs[0]["n_users"], n_items=runs[0]["n_items"], config=runs[0]["config"],
                   valid_curves=[[(e["epoch"], e.get("valid_NDCG@10")) for e in r["curve"]] for r in runs],
                   epoch_seconds=[[round(e.get("seconds", 0.0), 2) for e in r["curve"]] for r in runs],
                   epoch_cpu_seconds=[[round(e.get("cpu_seconds", 0.0), 2) for e in r["curve"]] for r in runs])
    return summary


def _row(label: str, summary: dict) -> dict:
    def listed(v):
        return ", ".join(map(str, v)) if isinstance(v, list) else ("" if v is None else str(v))

    return {"model": label, "NDCG@10": f"{summary['NDCG@10']:.4f}", "HR@10": f"{summary['HR@10']:.4f}",
            "seeds": len(summary["seeds"]), "seconds": round(summary["train_seconds"], 1),
            "epochs": listed(summary["epochs"]), "stopped_by": listed(summary["stopped_by"])}
