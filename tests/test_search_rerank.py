"""shoplens.search.rerank: a MiniLM cross-encoder learns judged orders (tiny data), keeps its best epoch,
persists exactly, refuses bad input, and re-ranks a SearchIndex's top results."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from shoplens.datasets.synthetic import marketplace
from shoplens.metrics import graded_ndcg_at_k
from shoplens.search import SearchIndex
from shoplens.search.rerank import CrossEncoderReranker

# Each query: a relevant title (grade 3), a partly relevant one (2) and one from another product family (1).
JUDGED = [
    ("cordless drill", "DEWALT 20-Volt MAX Lithium-Ion Cordless Drill Driver Kit", 3),
    ("cordless drill", "Milwaukee Drill Bit Set (15-Piece)", 2),
    ("cordless drill", "Rubbermaid 2-Shelf Plastic Storage Cabinet", 1),
    ("white paint", "BEHR Premium Plus 1 gal. Ultra Pure White Interior Paint", 3),
    ("white paint", "Wooster 9 in. Paint Roller Cover", 2),
    ("white paint", "SharkBite 1/2 in. Push-to-Connect Brass Coupling", 1),
    ("garden hose", "Flexzilla 5/8 in. x 50 ft. Garden Hose", 3),
    ("garden hose", "Orbit Hose Nozzle with 7 Patterns", 2),
    ("garden hose", "Hampton Bay 52 in. Ceiling Fan with Light Kit", 1),
    ("led bulb", "Philips 60-Watt Equivalent A19 LED Light Bulb Daylight", 3),
    ("led bulb", "Leviton Light Socket Adapter", 2),
    ("led bulb", "Quikrete 80 lb. Concrete Mix", 1),
]
QUERIES, TITLES, GRADES = (list(column) for column in zip(*JUDGED))


def _margins(model: CrossEncoderReranker) -> np.ndarray:
    """Per query: score of the grade-3 title minus the grade-1 title's."""
    scores = model.predict(QUERIES, TITLES).reshape(-1, 3)
    return scores[:, 0] - scores[:, 2]


@pytest.fixture(scope="module")
def trained():
    return CrossEncoderReranker(epochs=6, lr=1e-4, head_lr=3e-3, queries_per_step=4,
                                warmup=0.0).fit(QUERIES, TITLES, GRADES)


def test_graded_ndcg_at_k():
    gains = np.array([0.0, 2.0, 1.0])
    assert graded_ndcg_at_k(gains, np.array([0.1, 0.9, 0.5]), 10) == pytest.approx(1.0)
    worst = (0 + 1 / np.log2(3) + 2 / np.log2(4)) / (2 + 1 / np.log2(3))
    assert graded_ndcg_at_k(gains, np.array([0.9, 0.1, 0.5]), 10) == pytest.approx(worst)
    # Ties go by tie_break: the one that puts the best candidate first wins.
    assert graded_ndcg_at_k(gains, np.zeros(3), 1, tie_break=np.array([2, 0, 1])) == pytest.approx(1.0)


def test_training_orders_relevant_titles_first(trained):
    untrained = CrossEncoderReranker(epochs=0).fit(QUERIES, TITLES, GRADES)  # no step: a new random head
    assert (_margins(trained) > 0).all()
    assert _margins(trained).mean() > _margins(untrained).mean() + 0.5
    assert [e["epoch"] for e in trained.history_] == list(range(1, 7))
    order = trained.rerank("garden hose", TITLES[6:9][::-1])
    assert order[0] == 2  # the hose itself, listed last


def test_eval_set_keeps_the_best_epoch_and_its_scores():
    model = CrossEncoderReranker(epochs=3, lr=1e-4, queries_per_step=2).fit(
        QUERIES[:6], TITLES[:6], GRADES[:6], eval_set=(QUERIES[6:], TITLES[6:], GRADES[6:]))
    history = [entry["eval_ndcg@10"] for entry in model.history_]
    assert model.best_epoch_ == int(np.argmax(history)) + 1
    np.testing.assert_allclose(model.eval_scores_, model.predict(QUERIES[6:], TITLES[6:]), atol=1e-5)


def test_save_load_round_trip_and_clone(trained, tmp_path):
    trained.save(tmp_path / "reranker")
    assert not list(tmp_path.rglob("*.pkl")) and list(tmp_path.rglob("*.safetensors"))
    loaded = CrossEncoderReranker.load(tmp_path / "reranker")
    awkward = TITLES + ["", "drill " * 500]
    queries = QUERIES + ["drill", "drill"]
    np.testing.assert_allclose(loaded.predict(queries, awkward), trained.predict(queries, awkward), atol=1e-5)
    assert loaded.history_ == trained.history_
    assert clone(trained).get_params() == trained.get_params() and not hasattr(clone(trained), "model_")


def test_bad_input_is_refused():
    with pytest.raises(RuntimeError, match="not fitted"):
        CrossEncoderReranker().predict(["drill"], ["a drill"])
    with pytest.raises(ValueError, match="two or more"):
        CrossEncoderReranker(epochs=1).fit(["drill", "hose"], ["a drill", "a hose"], [3, 1])
    model = CrossEncoderReranker(epochs=0).fit(QUERIES, TITLES, GRADES)
    with pytest.raises(ValueError, match="3 queries but 2 titles"):
        model.predict(["a", "b", "c"], ["x", "y"])
    assert model.predict([], []).shape == (0,)
    with pytest.raises(FileNotFoundError, match="no reranker in"):
        CrossEncoderReranker.load("/nonexistent/reranker")


def test_search_index_reranks_its_top_results(trained, tmp_path):
    items = marketplace(n_users=50, n_items=200, days=10, seed=3).tables["items"]
    trained.save(tmp_path / "reranker")
    plain = SearchIndex(encoder="static").fit(items)
    reranked = SearchIndex(encoder="static", reranker=str(tmp_path / "reranker"), rerank_depth=15,
                           rerank_weight=1.0).fit(items)
    query = items["title"].iloc[0]
    first_stage = set(plain.search(query, k=15).items["item_id"])
    result = reranked.search(query, k=5)
    assert "re-ranked by the cross-encoder" in result.notes and result.timings_ms["rerank_ms"] > 0
    assert set(result.items["item_id"]) <= first_stage  # it re-orders the top, it does not retrieve
    cross = trained.predict([query] * 5, result.items["title"])
    assert (np.diff(cross) <= 1e-6).all()  # weight 1: the cross-encoder's order
    assert result.items["score"].between(0, 1).all()
    reranked.save(tmp_path / "index")
    assert SearchIndex.load(tmp_path / "index").search(query, k=5).items["item_id"].tolist() == \
        result.items["item_id"].tolist()
    keyword = reranked.search(query, k=5, mode="keyword")
    assert "re-ranked by the cross-encoder" not in keyword.notes  # only the hybrid is re-ranked


def test_train_reranker_command(tmp_path):
    from typer.testing import CliRunner

    from shoplens.cli import app

    pd.DataFrame({"query": QUERIES, "title": TITLES, "grade": GRADES}).to_csv(tmp_path / "judged.csv", index=False)
    runner = CliRunner()
    result = runner.invoke(app, ["train-reranker", str(tmp_path / "judged.csv"), str(tmp_path / "rr"), "--epochs", "1"])
    assert result.exit_code == 0, result.output
    assert CrossEncoderReranker.load(tmp_path / "rr").epochs == 1
    bad = pd.DataFrame({"query": QUERIES, "title": TITLES, "grade": GRADES[:4] + ["high"] + GRADES[5:]})
    bad.to_csv(tmp_path / "bad.csv", index=False)
    refused = runner.invoke(app, ["train-reranker", str(tmp_path / "bad.csv"), str(tmp_path / "other")])
    assert refused.exit_code != 0 and "row 5, column 'grade': 'high' is not a number" in refused.output
    assert not (tmp_path / "other").exists()
