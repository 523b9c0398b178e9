import numpy as np
import pytest

from shoplens.recommend.evaluate import evaluate, leave_one_out, sample_negatives, target_ranks


class FixedScores:
    """Scores item i with `scores[i]` for every history."""

    def __init__(self, scores):
        self.scores = np.asarray(scores, dtype=np.float32)
        self.n_items = len(scores)

    def score(self, histories, users=None, times=None, actions=None):
        return np.tile(self.scores, (len(histories), 1))


def test_leave_one_out_split():
    split = leave_one_out([np.array([0, 1, 2, 3]), np.array([4, 5]), np.array([6, 7, 8])])
    assert split.users.tolist() == [0, 2]
    assert [t.tolist() for t in split.train] == [[0, 1], [4, 5], [6]]
    assert split.valid_target.tolist() == [2, 7] and split.test_target.tolist() == [3, 8]
    assert [h.tolist() for h in split.test_history] == [[0, 1, 2], [6, 7]]


def test_seen_items_are_excluded_but_never_the_target():
    model = FixedScores([9.0, 8.0, 7.0, 1.0, 0.0])
    # item 0 is the best scored but was seen -> excluded; item 2 is the target AND in the history (a re-purchase)
    ranks, _ = target_ranks(model, [np.array([0, 2])], np.array([2]))
    assert ranks.tolist() == [1]  # only item 1 beats it; the target is not removed as "seen"
    assert evaluate(model, [np.array([0, 1, 2])], np.array([2]))["HR@1"] == 1.0


def test_sampled_protocol_uses_exactly_the_given_negatives():
    model = FixedScores(np.arange(100, dtype=np.float32))  # item i scores i
    histories, targets = [np.array([1]), np.array([1])], np.array([50, 50])
    negatives = np.array([[10, 20, 30], [10, 60, 70]])
    ranks, _ = target_ranks(model, histories, targets, protocol="sampled99", negatives=negatives)
    assert ranks.tolist() == [0, 2]  # items 51..99 (not given) never count
    with pytest.raises(ValueError):
        target_ranks(model, histories, targets, protocol="sampled99")


def test_sample_negatives_avoids_interacted_items():
    interacted = [np.arange(0, 150), np.array([3])]
    negatives = sample_negatives(interacted, 250, 99, seed=1)
    assert negatives.shape == (2, 99)
    assert all(len(set(row)) == 99 for row in negatives.tolist())
    assert not set(negatives[0].tolist()) & set(range(150)) and 3 not in negatives[1]
    assert np.array_equal(negatives, sample_negatives(interacted, 250, 99, seed=1))


def test_batching_does_not_change_results():
    rng = np.random.default_rng(0)
    model = FixedScores(rng.random(40))
    histories = [rng.integers(0, 40, size=rng.integers(1, 6)) for _ in range(30)]
    targets = rng.integers(0, 40, size=30)
    assert evaluate(model, histories, targets, batch_size=1) == evaluate(model, histories, targets, batch_size=64)
