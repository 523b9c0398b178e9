import pandas as pd
import pytest

from shoplens.datasets.synthetic import marketplace
from shoplens.recommend.workspace_eval import WorkspaceEvaluation, choose_model, evaluate_workspace


def test_the_choice_is_the_validation_argmax_never_the_test_one():
    table = pd.DataFrame({"model": ["a", "b", "c"], "valid_NDCG@10": [0.20, 0.30, 0.25],
                          "test_NDCG@10": [0.40, 0.10, 0.20], "train_seconds": [1.0, 2.0, 3.0]})
    best, because = choose_model(WorkspaceEvaluation(table, n_users=500, n_items=50))
    assert best == "b" and because.startswith("b has the best validation NDCG@10, 0.3000; next c 0.2500")


def test_ties_go_to_the_faster_model():
    table = pd.DataFrame({"model": ["slow", "fast"], "valid_NDCG@10": [0.3, 0.3], "train_seconds": [9.0, 0.1]})
    assert WorkspaceEvaluation(table, 500, 50).best() == "fast"


def test_evaluate_workspace_on_the_simulator(ws):
    world = marketplace(n_users=600, n_items=100, days=120, seed=1)
    ws.ingest(world.tables["events"], "events")
    result = evaluate_workspace(ws, ("itemknn", "popularity"))
    row = result.table.set_index("model")
    assert result.n_users >= 200 and not result.warnings and row.loc["itemknn", "valid_NDCG@10"] > row.loc["popularity", "valid_NDCG@10"]


def test_too_few_users_is_a_clear_error(ws):
    events = pd.DataFrame({"user_id": ["u"] * 4, "item_id": ["a", "b", "c", "d"], "event": "view",
                           "ts": pd.date_range("2025-01-01", periods=4, freq="h")})
    ws.ingest(events, "events")
    with pytest.raises(ValueError, match="only 1 users have 3 or more distinct items; evaluating needs at least 20"):
        evaluate_workspace(ws, ("popularity",))
