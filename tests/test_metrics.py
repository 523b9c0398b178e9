import math

import numpy as np
import pytest

from shoplens.metrics import coverage, graded_ndcg_at_k, hr_at_k, mrr, ndcg_at_k, rank_of_target, ranking_metrics


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


def test_nan_target_score_ranks_last_not_first():
    # `x >= NaN` is False for every x: counted naively, a NaN target would beat every candidate (rank 0)
    scores = np.array([[0.1, 0.5, -np.inf], [0.2, 0.3, 0.4]])
    assert rank_of_target(scores, np.array([np.nan, 0.35])).tolist() == [3, 1]
    assert hr_at_k(rank_of_target(scores[:1], np.array([np.nan])), 1) == 0.0


def test_nan_candidate_scores_rank_last():
    scores = np.array([[np.nan, 0.5, np.nan], [np.nan, np.nan, np.nan]])
    # a NaN candidate is above no real target, even -inf; two NaNs tie, and ties count against the target
    assert rank_of_target(scores, np.array([0.4, -np.inf])).tolist() == [1, 0]
    assert rank_of_target(scores[1:], np.array([np.nan])).tolist() == [3]


@pytest.mark.parametrize("metric", [lambda r: hr_at_k(r, 10), lambda r: ndcg_at_k(r, 10), mrr, ranking_metrics])
@pytest.mark.parametrize("bad", [[0, np.nan], [0, -1], [0.5], [np.inf]])
def test_rank_metrics_refuse_invalid_ranks(metric, bad):
    with pytest.raises(ValueError, match="non-negative integers"):
        metric(bad)


def test_graded_ndcg_ranks_nan_scores_last():
    gains = np.array([2.0, 0.0, 1.0, 0.0])
    # order 0.9, 0.5, -inf, NaN: the NaN-scored best item goes last, after the -inf one
    ndcg = graded_ndcg_at_k(gains, np.array([np.nan, 0.9, 0.5, -np.inf]), 10)
    ideal = 2 + 1 / math.log2(3)
    assert ndcg == pytest.approx((1 / math.log2(3) + 2 / math.log2(5)) / ideal)
    # NaN ties are broken by tie_break like any other tie
    assert graded_ndcg_at_k(np.array([0.0, 1.0]), np.array([np.nan, np.nan]), 1, tie_break=np.array([1, 0])) == 1.0


@pytest.mark.parametrize("gains", [[0.0, 0.0], [1.0, np.nan], [1.0, -1.0]])
def test_graded_ndcg_refuses_undefined_gains(gains):
    with pytest.raises(ValueError, match="gains"):
        graded_ndcg_at_k(np.array(gains), np.array([0.1, 0.2]), 10)
