"""Run one RecBole model on atomic files; executed by the peer venv's python, never imported by ShopLens.

    python recbole_runner.py JOB.json

JOB: {"data_path", "dataset", "model", "seed", "max_minutes", "config": {RecBole settings}}. Prints progress on
stderr and, as its last stdout line, one JSON object: test metrics, epochs, stopped_by, seconds, the validation
curve, and how many of RecBole's test targets are the ones ShopLens's split chose (targets.json beside the data).
The training cap is a time-based stop: an epoch (training + validation) is not started when the last one would
end past `max_minutes`; RecBole's own early stopping (`stopping_step`) ends training otherwise."""

import json
import sys
import time
import warnings
from pathlib import Path

import torch

_torch_load = torch.load


def _load_trusted(*args, **kwargs):
    # RecBole 1.2.1 reloads its own checkpoint with torch.load(file); torch >= 2.6 refuses that by default
    # (weights_only=True). The file is the one this process just wrote.
    kwargs.setdefault("weights_only", False)
    return _torch_load(*args, **kwargs)


torch.load = _load_trusted


class TimeCap(Exception):
    pass


def main(job_path: str) -> None:
    job = json.loads(Path(job_path).read_text())
    sys.argv = sys.argv[:1]  # RecBole's Config reads command-line settings: the job file is not one
    warnings.filterwarnings("ignore", category=FutureWarning)  # torch's notes on RecBole's calls, every run
    stdout, sys.stdout = sys.stdout, sys.stderr  # RecBole prints; stdout carries only the result line
    torch.set_num_threads(min(2, torch.get_num_threads()))

    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import get_model, get_trainer, init_logger, init_seed

    config = Config(model=job["model"], dataset=job["dataset"],
                    config_dict={**job["config"], "data_path": job["data_path"], "seed": job["seed"]})
    init_seed(config["seed"], config["reproducibility"])
    init_logger(config)
    dataset = create_dataset(config)
    train_data, valid_data, test_data = data_preparation(config, dataset)
    init_seed(config["seed"] + config["local_rank"], config["reproducibility"])
    model = get_model(config["model"])(config, train_data._dataset).to(config["device"])
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)

    cap_seconds, started = job["max_minutes"] * 60, time.perf_counter()
    epochs, train_epoch = [], trainer._train_epoch

    def capped_train_epoch(train_data, epoch_idx, *args, **kwargs):
        elapsed = time.perf_counter() - started
        last = epochs[-1].get("seconds", 0.0) if epochs else 0.0
        if epochs and elapsed + last > cap_seconds:
            raise TimeCap
        epochs.append({"epoch": epoch_idx + 1, "started": elapsed, "cpu_started": time.process_time()})
        loss = train_epoch(train_data, epoch_idx, *args, **kwargs)
        epochs[-1]["loss"] = float(loss if not isinstance(loss, tuple) else sum(loss))
        return loss

    def after_validation(epoch_idx, valid_score):
        epoch = epochs[-1]
        epoch["valid_NDCG@10"] = float(valid_score)
        epoch["seconds"] = time.perf_counter() - started - epoch["started"]
        epoch["cpu_seconds"] = time.process_time() - epoch.pop("cpu_started")  # a busy machine: wall >> CPU
        print(f"recbole {job['model']} seed {job['seed']}: epoch {epoch['epoch']} loss {epoch['loss']:.4f} (sum over "
              f"batches) valid NDCG@10 {valid_score:.4f} ({epoch['seconds']:.1f}s, {epoch['cpu_seconds']:.1f} CPU s)",
              file=sys.stderr, flush=True)

    trainer._train_epoch = capped_train_epoch
    try:
        trainer.fit(train_data, valid_data, saved=True, show_progress=False, callback_fn=after_validation)
        stopped_by = "patience" if len(epochs) < config["epochs"] else "epochs"
    except TimeCap:
        stopped_by = "max_minutes"
    train_seconds = time.perf_counter() - started
    if len(epochs) == 1 and config["MODEL_TYPE"].name == "TRADITIONAL":
        stopped_by = "one pass"  # Pop and the like: counting, no epochs to stop
    test = trainer.evaluate(test_data, load_best_model=True, show_progress=False)
    result = {
        "model": job["model"], "seed": job["seed"],
        "test": {k: float(v) for k, v in test.items()},
        "epochs": len(epochs), "stopped_by": stopped_by, "train_seconds": train_seconds,
        "best_epoch": max(epochs, key=lambda e: e.get("valid_NDCG@10", -1.0))["epoch"] if epochs else None,
        "curve": epochs, "targets": check_targets(test_data, job),
        "n_items": dataset.item_num - 1, "n_users": dataset.user_num - 1,  # RecBole's counts include [PAD]
        "config": {k: config[k] for k in job["report"] if k in config},
    }
    print(json.dumps(result), file=stdout, flush=True)


def check_targets(test_data, job) -> dict:
    """How many of RecBole's test interactions are (user, last item) of ShopLens's split."""
    expected = json.loads((Path(job["data_path"]) / job["dataset"] / "targets.json").read_text())
    dataset = test_data._dataset
    users = dataset.id2token(dataset.uid_field, dataset.inter_feat[dataset.uid_field].numpy())
    items = dataset.id2token(dataset.iid_field, dataset.inter_feat[dataset.iid_field].numpy())
    same = sum(expected.get(str(u), [None, None])[1] == str(i) for u, i in zip(users, items))
    return {"recbole_test_users": len(users), "shoplens_test_users": len(expected), "same_target": int(same)}


if __name__ == "__main__":
    main(sys.argv[1])
