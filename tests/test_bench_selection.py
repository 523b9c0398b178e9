"""What a bench reports as its model is chosen on data it does not score: the Home Depot hybrid on the tuning
split, the CDNOW learned model's one output inside training, and the temporal CDNOW variant's training window."""

import numpy as np
import pandas as pd
import pytest

from shoplens.bench import churn as churn_bench
from shoplens.bench.search import relevance as relevance_bench
from shoplens.bench.search.scoring import QueryScores

GAINS = np.array([2.0, 1.0, 0.0, 0.0, 0.0])


def _table(seed: int = 0) -> tuple[QueryScores, list[str], list[str]]:
    """12 tuning and 12 evaluation queries: dense retriever "a" orders the tuning queries' candidates perfectly
    and the evaluation queries' backwards, "b" the opposite; the keyword scores are noise."""
    rng = np.random.default_rng(seed)
    table = QueryScores(seed)
    tune, evaluate = [f"t{i}" for i in range(12)], [f"e{i}" for i in range(12)]
    for query in tune + evaluate:
        order = rng.permutation(len(GAINS))
        gains = GAINS[order]
        right, wrong = gains + 0.1 * rng.random(len(gains)), -gains + 0.1 * rng.random(len(gains))
        a, b = (right, wrong) if query in tune else (wrong, right)
        table.add(query, gains, {"kw": rng.random(len(gains)), "a": a, "b": b})
    return table, tune, evaluate


FUSIONS = {"hybrid-weighted (a)": ("weighted", "kw", "a"), "hybrid-rrf (b)": ("rrf", "kw", "b"),
           "hybrid-weighted (b)": ("weighted", "kw", "b")}


def test_hybrid_is_chosen_on_tuning_queries_not_on_evaluation():
    table, tune, evaluate = _table()
    chosen, scores = relevance_bench.select_hybrid(table, tune, FUSIONS, seed=0, cross_validated={"hybrid-learned": 0.5})
    eval_best, _ = relevance_bench.select_hybrid(table, evaluate, FUSIONS, seed=0)
    assert eval_best != "hybrid-weighted (a)"  # the fixture's point: the two splits disagree
    assert chosen == "hybrid-weighted (a)"
    assert scores["hybrid-weighted (a)"] == pytest.approx(1.0)
    assert scores["hybrid-learned"] == 0.5 and set(scores) == {*FUSIONS, "hybrid-learned"}


def test_target_reports_the_chosen_hybrid_even_when_another_scores_higher_on_evaluation():
    metrics = {"eval/bm25+typo": {"lift": 0.10}, "eval/bm25 (snowball)": {"lift": 0.12},
               "eval/hybrid-weighted (m)": {"lift": 0.20}, "eval/hybrid-learned (m)": {"lift": 0.25}}
    target = relevance_bench._target(metrics, "hybrid-weighted (m)")
    assert target["chosen_hybrid"] == "hybrid-weighted (m)" and target["chosen_hybrid_lift"] == 0.20
    assert target["ratio_vs_bm25+typo"] == 2.0 and target["ratio_vs_strongest_bm25"] == pytest.approx(1.667, abs=1e-3)


def _cdnow_like_transactions(seed: int = 0) -> pd.DataFrame:
    """300 customers, first purchase in the cohort's first quarter, repeat purchases until mid-1998."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(300):
        day = pd.Timestamp("1997-01-01") + pd.Timedelta(days=int(rng.integers(0, 84)))
        rate = rng.gamma(1.0, 1 / 40)  # purchases a day
        while day <= pd.Timestamp(churn_bench.HOLDOUT_END):
            rows.append({"user_id": f"u{user:03d}", "ts": day, "value": float(rng.integers(5, 60)), "qty": 1})
            day += pd.Timedelta(days=1 + int(rng.exponential(1 / rate)))
    return pd.DataFrame(rows)


def test_temporal_training_rows_see_nothing_from_the_scored_holdout():
    master = _cdnow_like_transactions()
    holdout = master["ts"] > pd.Timestamp(churn_bench.CAL_END)
    assert holdout.sum() > 100 and churn_bench.TEMPORAL_WEEKS == 26
    features, counts = churn_bench.temporal_training_window(master)
    # Without the holdout period's transactions, or with three times as many there, the training rows are the same.
    moved = master[holdout].assign(ts=master.loc[holdout, "ts"] + pd.Timedelta(days=1))
    for variant in (master[~holdout], pd.concat([master[~holdout], master[holdout], moved, moved])):
        other_features, other_counts = churn_bench.temporal_training_window(variant)
        pd.testing.assert_frame_equal(features, other_features)
        pd.testing.assert_series_equal(counts, other_counts)
    # The labels are the purchase days in (TEMPORAL_CUT, CAL_END]; the features end at TEMPORAL_CUT.
    window = master[(master["ts"] > pd.Timestamp(churn_bench.TEMPORAL_CUT)) & ~holdout]
    expected = window.groupby("user_id")["ts"].nunique().reindex(counts.index, fill_value=0)
    assert (counts.to_numpy() == expected.to_numpy()).all() and counts.sum() > 0
    assert features["T"].max() <= (pd.Timestamp(churn_bench.TEMPORAL_CUT) - pd.Timestamp("1997-01-01")).days / 7


def test_one_output_is_the_training_deviance_argmin_and_is_what_predict_returns():
    master = _cdnow_like_transactions(seed=1)
    features, counts = churn_bench.temporal_training_window(master)
    model, record = churn_bench.fit_one_output(features, counts, churn_bench.TEMPORAL_WEEKS,
                                               {"n_estimators": 20, "min_child_samples": 10})
    deviance = record["cv_poisson_deviance_by_output"]
    assert set(deviance) == set(churn_bench.OUTPUTS) and model.output == record["output"] == min(deviance, key=deviance.get)
    assert record["point_quantile"] == min(record["cv_mae_by_point_quantile"], key=record["cv_mae_by_point_quantile"].get)
    bgnbd = np.full(len(features), 0.3)
    for output, weight in churn_bench.OUTPUTS.items():
        predicted = churn_bench.OneOutput(model.model, output).predict(features, bgnbd)
        wanted = (model.model.predict(features) if weight is None
                  else weight * model.model.predict_expected(features) + (1 - weight) * bgnbd)
        np.testing.assert_allclose(predicted, wanted)
