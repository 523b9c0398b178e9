"""The shared training loop: every target of a long history is trained on, batches fit the data, and early
stopping waits for both epochs and optimiser steps."""

import numpy as np
import pytest
import torch

from shoplens.recommend import ESASRec, SASRec
from shoplens.recommend.train import TrainingRun, auto_batch_size, training_batches, training_windows


def test_windows_cover_every_target_of_a_long_history_once():
    sequences = [np.arange(23), np.arange(3), np.arange(1), np.arange(11)]
    windows = training_windows(sequences, max_len=5)
    assert all(stop - start <= 6 for _, start, stop in windows)
    for user, sequence in enumerate(sequences):
        targets = [t for u, start, stop in windows if u == user for t in range(start + 1, stop)]
        assert sorted(targets) == list(range(1, len(sequence)))  # each next-item target exactly once


def test_batches_label_each_window_with_its_next_items():
    sequences = [np.arange(100, 112)]
    batches = list(training_batches(sequences, max_len=4, batch_size=8, rng=np.random.default_rng(0)))
    pairs = set()
    for inputs, labels, _, _ in batches:
        for row_in, row_label in zip(inputs, labels):
            pairs |= {(int(i) - 1, int(y)) for i, y in zip(row_in, row_label) if y >= 0}
    assert pairs == {(100 + t, 101 + t) for t in range(11)}


@pytest.mark.parametrize("n_windows, expected", [(100, 32), (4_000, 125), (100_000, 256)])
def test_auto_batch_size_gives_about_32_steps_within_bounds(n_windows, expected):
    assert auto_batch_size(n_windows) == expected


def _cycles(n_users=40, length=30, n_items=20):
    return [np.array([(u + j) % n_items for j in range(length)], dtype=np.int64) for u in range(n_users)]


def _run(sequences, patience, patience_steps, scores):
    """A real TrainingRun whose validation scores are scripted: the stopping rule is what is tested."""
    from shoplens.recommend.sasrec import SASRecNetwork

    network = SASRecNetwork(20, 10, 8, 1, 1, 0.0)
    return TrainingRun(network, sequences, loss="ce", n_negatives=8, gbce_t=0.75, lr=1e-3, weight_decay=0.0,
                       batch_size=16, max_len=10, max_epochs=len(scores), patience=patience,
                       patience_steps=patience_steps, validate=iter(scores).__next__, seed=0, verbose=False).run()


def test_patience_counts_steps_as_well_as_epochs():
    torch.set_num_threads(2)
    sequences = _cycles(n_users=40, length=12)  # 80 windows of <= 11 items: 5 steps per epoch
    scores = [0.1, 0.3, 0.2] + [0.25] * 20  # best at epoch 2, never beaten
    by_epochs = _run(sequences, patience=2, patience_steps=0, scores=scores)
    assert by_epochs.steps_per_epoch == 5
    assert by_epochs.log["stopped_by"] == "patience" and by_epochs.epochs_run == 4
    by_steps = _run(sequences, patience=2, patience_steps=32, scores=scores)
    assert by_steps.log["stopped_by"] == "patience" and by_steps.epochs_run == 2 + 7  # 7 epochs x 5 steps >= 32
    assert by_steps.finish()["best_epoch"] == 2
    never = _run(sequences, patience=2, patience_steps=10_000, scores=scores)
    assert never.log["stopped_by"] == "max_epochs" and never.epochs_run == len(scores)


def test_esasrec_learns_a_cycle_and_reloads_exactly(tmp_path):
    torch.set_num_threads(2)
    sequences = _cycles(length=10)
    model = ESASRec(dim=32, dropout=0.0, lr=5e-3, batch_size=16, max_epochs=40).fit(sequences, 20)
    scores = model.score([s[:-1] for s in sequences])
    assert np.mean(scores.argmax(1) == np.array([s[-1] for s in sequences])) >= 0.95
    model.save(tmp_path / "m")
    again = ESASRec.load(tmp_path / "m")
    np.testing.assert_allclose(again.score([s[:-1] for s in sequences]), scores, rtol=1e-5, atol=1e-5)


def test_a_run_paused_between_other_runs_trains_as_it_would_alone():
    """The settings search trains candidates in turns; each run keeps its own random state (dropout), so the
    search's "defaults" candidate is the very model `fit` trains."""
    from shoplens.recommend.sasrec import SASRecNetwork

    torch.set_num_threads(2)
    sequences = _cycles(n_users=40, length=12)

    def new_run():
        torch.manual_seed(0)
        network = SASRecNetwork(20, 10, 8, 1, 1, 0.5)
        return TrainingRun(network, sequences, loss="ce", n_negatives=8, gbce_t=0.75, lr=1e-2, weight_decay=0.0,
                           batch_size=16, max_len=10, max_epochs=3, patience=3, validate=None, seed=0, verbose=False)

    alone = new_run()
    alone_losses = [alone.epoch()["loss"] for _ in range(3)]
    paused, other = new_run(), new_run()
    losses = [paused.epoch()["loss"]]
    other.epoch(), other.epoch()
    losses += [paused.epoch()["loss"], paused.epoch()["loss"]]
    assert losses == alone_losses
