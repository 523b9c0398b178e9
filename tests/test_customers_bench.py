"""The two customer bench suites run end to end in quick mode and report what the docs quote."""

import json

from conftest import dataset_dir
from shoplens.bench import churn, profiles
from shoplens.bench.harness import print_result


def test_churn_cdnow_quick(tmp_path, capsys):
    dataset_dir("cdnow-lifetimes")
    result = churn.run(quick=True)
    payload = print_result(result, out=tmp_path / "churn-cdnow.json")
    last_line = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(last_line)["suite"] == "churn-cdnow" == payload["suite"]
    assert result.metrics["published.bgnbd.max_rel_err_%"] < 1.0
    actual = result.metrics["sample.actual_total"]
    for variant in ("learned_cross_sectional", "learned_temporal"):  # one output each, scored on all three
        assert abs(result.metrics[f"sample.{variant}.total"] - actual) < 0.2 * actual
        assert result.metrics[f"sample.{variant}.auc_any_repeat"] > 0.75 and result.metrics[f"sample.{variant}.mae"] < 0.9
    assert result.metrics["simulator.learned.risk_>=_0.5"]["auc"] > 0.7


def test_profiles_quick():
    result = profiles.run(quick=True, n_users=300)
    assert result.suite == "profiles"
    assert 0.5 < result.metrics["embedding_interests"]["interest_recall"] <= 1.0
    assert result.metrics["ari.taste_vector_clusters"] > 0.2
    assert sum(result.metrics["rfm_segments"].values()) > 0
