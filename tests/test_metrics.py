import math

import numpy as np
import pytest

from shoplens.metrics import coverage, hr_at_k, mrr, ndcg_at_k, rank_of_target, ranking_metrics


def test_rank_counts_better_candidates_and_ties_against_target():
    scores = np.array([[0.1, 0.5, 0.3], [0.4, 0.4, 0.0], [-np.inf, 0.2, 0.1]])
    assert rank_of_target(scores, np.array([0.4, 0.4, 0.3])).tolist() == [1, 2, 0]


def test_hand_computed_values():
    ranks = [0, 1, 3, 10]
    assert hr_at_k(ranks, 1) == 0.25
    assert hr_at_k(ranks, 5) == 0.75
    assert hr_at_k(ranks, 20) == 1.0
    assert ndcg_at_k(ranks, 5) == pytest.approx((1 + 1 / math.log2(3) + 1 / math.log2(5)) / 4)
    assert ndcg_at_k(ranks, 1) == pytest.approx(0.25)
    assert mrr(ranks) == pytest.approx((1 + 1 / 2 + 1 / 4 + 1 / 11) / 4)


def test_perfect_and_empty():
    assert ndcg_at_k([0, 0], 10) == 1.0 and mrr([0]) == 1.0
    assert hr_at_k([], 10) == 0.0 and ndcg_at_k([], 10) == 0.0


def test_coverage_counts_distinct_items():
    assert coverage([[1, 2], [2, 3], np.array([3, 1])], 10) == pytest.approx(0.3)


def test_ranking_metrics_table():
    out = ranking_metrics([0, 4])
    assert set(out) == {"HR@1", "HR@5", "HR@10", "HR@20", "NDCG@5", "NDCG@10", "NDCG@20", "MRR"}
    assert out["HR@1"] == 0.5 and out["HR@5"] == 1.0
    assert out["NDCG@10"] == pytest.approx((1 + 1 / math.log2(6)) / 2)
