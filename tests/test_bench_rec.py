"""`shoplens bench rec`: the JSON names the command that wrote it, the protocol line says what full ranking leaves
out, and each training run says why it stopped."""

import json
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from shoplens.bench.harness import BenchResult, print_result
from shoplens.bench.rec import run
from shoplens.cli import app

runner = CliRunner()
TINY_SASREC = {"sasrec": {"dim": 8, "max_epochs": 2, "patience": 6}}


@pytest.fixture
def sequences_file(tmp_path):
    """40 users over items 1..60; the last user's test item (99) occurs nowhere else, so it is never trained on."""
    rng = np.random.default_rng(0)
    lines = [f"u{u} " + " ".join(map(str, rng.choice(np.arange(1, 61), 6, replace=False))) for u in range(40)]
    lines.append("u40 1 2 3 99")
    path = tmp_path / "seq.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_json_records_the_command_as_typed(sequences_file, tmp_path):
    out = tmp_path / "a result.json"  # a space: the command must come back quoted, ready to paste
    argv = ["bench", "rec", "--dataset", str(sequences_file), "--model", "popularity", "--seeds=1", "--out", str(out)]
    script = Path(sys.executable).with_name("shoplens")
    done = subprocess.run([str(script), *argv], capture_output=True, text=True, timeout=300, check=True)
    typed = shlex.join(["shoplens", *argv])
    assert json.loads(out.read_text())["command"] == typed
    assert json.loads(done.stdout.strip().splitlines()[-1])["command"] == typed  # the printed line too
    assert shlex.split(typed)[1:] == argv


def test_a_library_call_records_no_command(tmp_path):
    out = tmp_path / "r.json"
    print_result(BenchResult("rec", "d", "p"), out=out)  # not the CLI: pytest's argv is not a bench command
    assert json.loads(out.read_text())["command"] is None


def test_full_ranking_protocol_says_what_it_leaves_out(sequences_file):
    result = run(str(sequences_file), model="sasrec", seeds=(0,), params=TINY_SASREC)
    assert "except the user's history" in result.protocol
    assert "sasrec also leave out items never seen in training" in result.protocol
    rows = [line.split()[1:] for line in sequences_file.read_text().splitlines()]
    trained = {item for row in rows for item in row[:-2]}
    assert result.metrics["n_items"] == 99  # numeric ids: the catalogue is items 1..99
    assert result.metrics["items_never_seen_in_training"] == 99 - len(trained)
    assert result.metrics["test_targets_never_seen_in_training"] == sum(row[-1] not in trained for row in rows) >= 1
    baseline = run(str(sequences_file), model="popularity", seeds=(0,))
    assert "never seen in training (scored -inf)" not in baseline.protocol
    assert "popularity rank those items by their own scores" in baseline.protocol


def test_a_target_never_seen_in_training_ranks_last_for_sasrec(sequences_file):
    """What the protocol line claims: the sequence models score untrained items -inf, so such a target is ranked
    behind every other item (a miss at any cut-off)."""
    from shoplens.bench.rec import load_sequences
    from shoplens.recommend import SASRec
    from shoplens.recommend.evaluate import leave_one_out, target_ranks

    _, sequences, n_items, _, _ = load_sequences(str(sequences_file))
    split = leave_one_out(sequences)
    model = SASRec(dim=8, max_epochs=1).fit(split.train, n_items)
    ranks, _ = target_ranks(model, split.test_history, split.test_target)
    unseen = np.flatnonzero(np.bincount(np.concatenate(split.train), minlength=n_items) == 0)
    row = int(np.flatnonzero(np.isin(split.test_target, unseen))[0])
    assert ranks[row] >= n_items - 1
    assert np.median(ranks) < n_items - 1


def test_each_run_records_why_it_stopped(sequences_file):
    by_epochs = run(str(sequences_file), model="sasrec", seeds=(0, 1), params=TINY_SASREC)
    assert by_epochs.metrics["sasrec"]["stopped_by"] == ["max_epochs", "max_epochs"]
    assert by_epochs.metrics["sasrec"]["epochs_run"] == [2, 2]
    capped = run(str(sequences_file), model="sasrec", seeds=(0,), params=TINY_SASREC, max_seconds=1e-9)
    assert capped.metrics["sasrec"]["stopped_by"] == ["max_seconds"]
    assert capped.metrics["sasrec"]["epochs_run"] == [1]
    assert capped.metrics["sasrec"]["params"]["max_seconds"] == 1e-9
    patient = run(str(sequences_file), model="sasrec", seeds=(0,),
                  params={"sasrec": {"dim": 8, "max_epochs": 50, "patience": 1, "patience_steps": 0, "lr": 0.5}})
    log = patient.metrics["sasrec"]
    assert log["stopped_by"] == ["patience"] and log["epochs_run"][0] == log["best_epochs"][0] + 1


@pytest.mark.parametrize("option, value, message", [
    ("--max-seconds", "0", "--max-seconds must be a positive number"),
    ("--max-seconds", "nan", "--max-seconds must be a positive number"),
    ("--select-on", "test", "--select-on must be full or sampled99"),
    ("--device", "tpu", "--device must be cpu or cuda"),
    ("--seeds", "0", "--seeds must be at least 1"),
    ("--protocol", "sampled50", "--protocol must be full or sampled99"),
    ("--budget-minutes", "-1", "--budget-minutes must be 0 or a positive number"),
    ("--published", "NDCG@11=0.03", "unknown metric 'NDCG@11'"),
    ("--published", "NDCG@10=abc", "NDCG@10 needs a number"),
    ("--published", "NDCG@10=3", "NDCG@10 must be between 0 and 1"),
])
def test_bad_options_are_refused_and_nothing_is_written(sequences_file, tmp_path, option, value, message):
    out = tmp_path / "r.json"
    result = runner.invoke(app, ["bench", "rec", "--dataset", str(sequences_file), "--model", "popularity",
                                 option, value, "--out", str(out)])
    assert result.exit_code != 0 and message in " ".join(result.output.split())
    assert not out.exists()


def test_progress_after_each_seed_keeps_what_finished(sequences_file):
    seen = []
    result = run(str(sequences_file), model="sasrec", seeds=(0, 1, 2), params=TINY_SASREC,
                 on_progress=lambda partial: seen.append((partial.metrics["complete"],
                                                          list(partial.metrics["sasrec"]["seeds"]))))
    assert seen == [(False, [0]), (False, [0, 1])]  # not after the last seed: the final result follows
    assert result.metrics["complete"] and result.metrics["sasrec"]["seeds"] == [0, 1, 2]


def test_the_cli_rewrites_out_after_each_seed(sequences_file, tmp_path):
    out = tmp_path / "r.json"
    result = runner.invoke(app, ["bench", "rec", "--dataset", str(sequences_file), "--model", "sasrec",
                                 "--seeds", "2", "--max-seconds", "5", "--budget-minutes", "0", "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert [(p["metrics"]["complete"], p["metrics"]["sasrec"]["seeds"]) for p in lines] == [(False, [0]),
                                                                                             (True, [0, 1])]
    assert json.loads(out.read_text())["metrics"] == lines[-1]["metrics"]


def test_a_published_reference_is_shown_beside_the_results(sequences_file, tmp_path):
    out = tmp_path / "r.json"
    result = runner.invoke(app, ["bench", "rec", "--dataset", str(sequences_file), "--model", "popularity",
                                 "--seeds", "1", "--published", "NDCG@10=0.039,HR@10=0.07", "--out", str(out)])
    assert result.exit_code == 0, result.output
    saved = json.loads(out.read_text())
    assert saved["baselines"]["published (given)"] == {"NDCG@10": 0.039, "HR@10": 0.07}
    assert {"model": "published (given)", "NDCG@10": "0.0390", "HR@10": "0.0700"} in saved["rows"]


def test_the_default_bench_searches_settings_on_validation_and_says_what_it_chose(sequences_file):
    result = run(str(sequences_file), model="sasrec", seeds=(0,), budget_minutes=0.05,
                 params={"sasrec": {"dim": 8, "max_epochs": 3}})
    summary = result.metrics["sasrec"]
    assert result.metrics["budget_minutes"] == 0.05
    assert len(summary["chosen"]) == 1 and summary["chosen"][0] in {e["name"] for e in summary["search"][0]}
    assert summary["chosen"][0] in summary["reasons"][0]
