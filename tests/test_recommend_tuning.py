"""The budgeted settings search: chooses on validation, within its budget, and says what it chose and why."""

import time

import numpy as np
import pytest
import torch

from shoplens.recommend.evaluate import evaluate
from shoplens.recommend.tuning import BudgetedSearch, default_candidates

N_ITEMS = 20


def _cycles(n_users=40, length=10):
    return [np.array([(u + j) % N_ITEMS for j in range(length)], dtype=np.int64) for u in range(n_users)]


@pytest.fixture(scope="module")
def searched():
    torch.set_num_threads(2)
    sequences = _cycles()
    train = [s[:-1] for s in sequences]
    valid = (train, np.array([s[-1] for s in sequences]))
    candidates = [("defaults", {}), ("too slow", {"lr": 1e-6}), ("dim 16", {"dim": 16})]
    started = time.perf_counter()
    search = BudgetedSearch("sasrec", budget_minutes=0.2, candidates=candidates,
                            params={"dim": 8, "batch_size": 16, "max_epochs": 30, "dropout": 0.0}).fit(
        train, N_ITEMS, valid=valid)
    return search, valid, time.perf_counter() - started


def test_the_winner_has_the_best_validation_score_and_is_trained(searched):
    search, valid, _ = searched
    log = {entry["name"]: entry for entry in search.search_log_}
    assert [e["name"] for e in search.search_log_ if e["chosen"]] == [search.best_name_]
    assert log[search.best_name_]["best_valid_ndcg10"] == max(e["best_valid_ndcg10"] for e in search.search_log_)
    assert search.best_name_ != "too slow"  # lr 1e-6 learns nothing in 30 epochs
    assert evaluate(search.best_estimator_, *valid, top_k=0)["NDCG@10"] == pytest.approx(
        search.best_estimator_.training_log_["best_valid_ndcg10"])
    assert search.best_params_["dim"] == (16 if search.best_name_ == "dim 16" else 8)


def test_successive_halving_keeps_a_third_and_states_its_reason(searched):
    search, _, seconds = searched
    assert sum(e["rung"] == 2 for e in search.search_log_) == 1  # ceil(3 / 3) go on
    assert search.best_name_ in search.reason_ and "validation NDCG@10" in search.reason_
    assert seconds < 0.2 * 60 + 10  # the budget, plus at most one epoch per candidate over it


def test_long_histories_add_a_longer_context_candidate():
    short = [np.arange(10)] * 5
    long = [np.arange(120)] * 5
    assert "max_len 200" not in dict(default_candidates(short))
    assert dict(default_candidates(long))["max_len 200"] == {"max_len": 200}


@pytest.mark.parametrize("kwargs, message", [({"model": "als"}, "settings search is for"),
                                             ({"budget_minutes": 0}, "budget_minutes must be positive")])
def test_bad_settings_are_refused(kwargs, message):
    sequences = _cycles(5)
    with pytest.raises(ValueError, match=message):
        BudgetedSearch(**kwargs).fit(sequences, N_ITEMS, valid=(sequences, np.zeros(5, dtype=np.int64)))


def test_the_cli_default_budget_is_the_library_default():
    from shoplens.cli.recommend_commands import DEFAULT_BUDGET_MINUTES
    from shoplens.recommend.tuning import DEFAULT_BUDGET_MINUTES as library

    assert DEFAULT_BUDGET_MINUTES == library


def test_a_budget_too_small_to_compare_them_all_compares_the_first_ones(monkeypatch):
    import shoplens.recommend.tuning as tuning

    monkeypatch.setattr(tuning, "MIN_RUNG_EPOCHS", 10**6)  # no candidate can get its first-rung epochs
    sequences = _cycles(20)
    valid = (sequences, np.array([s[-1] for s in sequences]))
    search = BudgetedSearch("sasrec", budget_minutes=0.01, candidates=[("defaults", {}), ("other", {"lr": 1e-2})],
                            params={"dim": 8, "max_epochs": 3}).fit(sequences, N_ITEMS, valid=valid)
    assert search.best_name_ == "defaults"
    assert [e["rung"] for e in search.search_log_] == [2, 0]  # the defaults alone, taken on; the other never ran
    assert search.search_log_[1]["epochs"] == 0
