"""Workspace models (external ids, new users, new items with text), faiss retrieval, and the bench quick path."""

import numpy as np
import pandas as pd
import pytest

from shoplens.recommend.retrieval import ItemIndex, synthetic_catalogue
from shoplens.recommend.workspace_models import (collapse_repeats, event_codes, fit_workspace_model,
                                                 load_workspace_model, stored_history)
from shoplens.workspace import Workspace


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    ws = Workspace.init(tmp_path_factory.mktemp("ws") / "shop")
    rows = [(f"u{u}", f"sku{(u + j) % 12}", "purchase", pd.Timestamp("2026-01-01") + pd.Timedelta(hours=j))
            for u in range(30) for j in range(6)]
    ws.ingest(pd.DataFrame(rows, columns=["user_id", "item_id", "event", "ts"]), kind="events")
    ws.ingest(pd.DataFrame({"item_id": [f"sku{i}" for i in range(12)],
                            "title": [f"product number {i} {'red' if i % 2 else 'blue'}" for i in range(12)]}), kind="items")
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def fitted(workspace):
    return fit_workspace_model(workspace, "sasrec", dim=16, dropout=0.0, lr=1e-2, batch_size=16, max_epochs=30, patience=30)


def test_recommend_stored_user_and_new_user(workspace, fitted):
    loaded = load_workspace_model(workspace, "sasrec")
    top = loaded.recommend(user="u3", k=3)  # u3 bought sku3..sku8
    assert list(top.columns) == ["item_id", "score"] and top.item_id[0] == "sku9"
    assert not set(top.item_id) & {f"sku{i}" for i in range(3, 9)}
    new_user = loaded.recommend(history=["sku1", "sku2", "never-seen-sku"], k=3)  # unknown ids are skipped
    assert new_user.item_id[0] == "sku3"
    np.testing.assert_allclose(loaded.recommend(user="u3", k=5).score, fitted.recommend(user="u3", k=5).score, rtol=1e-6)


def test_faiss_path_matches_exact_scoring(workspace, fitted):
    exact = fitted.recommend(user="u3", k=3)
    via_index = load_workspace_model(workspace, "sasrec")
    via_index.index_above = 1  # force the faiss path on this small catalogue
    np.testing.assert_array_equal(via_index.recommend(user="u3", k=3).item_id, exact.item_id)


def test_filter_explain_similar(fitted):
    red = fitted.recommend(history=["sku1"], k=4, filter=lambda item: int(item[3:]) % 2 == 1)
    assert len(red) and all(int(i[3:]) % 2 == 1 for i in red.item_id)
    why = fitted.explain("u3", "sku9")
    assert set(why.item_id) == {f"sku{i}" for i in range(3, 9)} and why.item_id[0] == "sku8"
    assert "sku4" not in set(fitted.similar_items("sku4", k=3).item_id)


def test_new_catalogue_item_gets_a_vector_on_load(workspace, fitted):
    workspace.ingest(pd.DataFrame({"item_id": ["sku-new"], "title": ["product number 5 red"]}), kind="items")
    loaded = load_workspace_model(workspace, "sasrec")
    assert "sku-new" in loaded.items
    ranked = loaded.recommend(history=["sku1"], k=len(loaded.items))
    assert "sku-new" in set(ranked.item_id) and np.isfinite(ranked.score).all()


def test_repeats_collapse_to_one_step_with_first_time_and_last_event_type():
    items, times, actions = collapse_repeats(np.array([5, 5, 5, 2, 5]), np.array([10, 11, 12, 20, 30]),
                                             event_codes(["view", "click", "cart", "view", "purchase"]))
    assert items.tolist() == [5, 2, 5] and times.tolist() == [10, 20, 30]
    assert actions.tolist() == event_codes(["cart", "view", "purchase"]).tolist()
    assert event_codes(["view", "no-such-type"]).tolist() == [1, 0]  # unknown types are code 0


def test_hstu_in_a_workspace_reads_event_types(workspace):
    hstu = fit_workspace_model(workspace, "hstu", dim=16, lr=1e-2, batch_size=16, max_epochs=3)
    assert hstu.model.n_actions_ == int(event_codes(["purchase"])[0]) + 1  # the fixture's events are purchases
    item_ids, times, event_types = stored_history(workspace, "u3")
    assert event_types == ["purchase"] * 6
    stored = hstu.recommend(user="u3", k=3)
    raw = hstu.recommend(history=item_ids, times=times, event_types=event_types, k=3)
    pd.testing.assert_frame_equal(stored, raw)
    as_views = hstu.recommend(history=item_ids, times=times, event_types=["view"] * 6, k=3)
    assert not np.allclose(as_views.score, raw.score)  # the event type is part of the input


def test_unknown_user_is_a_clear_error(fitted):
    with pytest.raises(KeyError, match="no events"):
        fitted.recommend(user="nobody")


def test_retrieval_exact_and_ivf_recall():
    vectors = synthetic_catalogue(20_000, 16, n_clusters=50, seed=0)
    queries = vectors[:50]
    assert ItemIndex(vectors).kind == "exact"
    exact_scores, exact_ids = ItemIndex(vectors).search(queries, 5)
    np.testing.assert_array_equal(exact_ids[:, 0], np.arange(50))
    ivf = ItemIndex(vectors, exact_below=0, kind="ivf", nprobe=16)
    assert ivf.kind == "ivf" and ivf.recall_at_k(queries, 100) > 0.9


def popularity_full_ranking_by_hand(sequences: list[np.ndarray], n_items: int) -> tuple[float, float]:
    """(HR@10, NDCG@10) of item popularity under the bench's protocol, written out independently of
    shoplens.metrics and shoplens.recommend.evaluate: users with 3+ items; counts from all but each user's last
    two items; the last item ranked against every item outside the user's earlier items, ties against it."""
    evaluated = [s for s in sequences if len(s) >= 3]
    counts = np.bincount(np.concatenate([s[:-2] if len(s) >= 3 else s for s in sequences]), minlength=n_items)
    hits, gains = [], []
    for s in evaluated:
        target, competing = s[-1], np.ones(n_items, dtype=bool)
        competing[s[:-1]] = False
        competing[target] = False
        rank = int((counts[competing] >= counts[target]).sum())
        hits.append(rank < 10)
        gains.append(1 / np.log2(rank + 2) if rank < 10 else 0.0)
    return float(np.mean(hits)), float(np.mean(gains))


def test_bench_quick_runs_every_model():
    from conftest import dataset_dir
    from shoplens.bench.rec import QUICK, run

    result = run("s3rec-amazon/Beauty", model="all", quick=True)  # the CI run of `shoplens bench rec --quick`
    assert set(result.metrics) >= {"popularity", "itemknn", "als", "bpr", "sasrec", "hstu"}
    assert "published SASRec" in result.baselines
    assert result.to_json()["protocol"].startswith("leave-one-out, full ranking")
    # The protocol, checked from outside: popularity's numbers recomputed from the raw file. (Two epochs on
    # 1,500 users teach SASRec nothing: measured NDCG@10 0.001 and 0.000 for seeds 0 and 1 against popularity's
    # 0.012, and 30 epochs still stay below it on this subset, so the model's margin is tested on the simulator.)
    lines = (dataset_dir("s3rec-amazon") / "Beauty.txt").read_text().splitlines()
    sequences = [np.array(line.split()[1:], dtype=np.int64) - 1 for line in lines]
    hr, ndcg = popularity_full_ranking_by_hand(sequences[: QUICK["users"]], result.metrics["n_items"])
    assert result.metrics["popularity"]["HR@10"] == pytest.approx(hr, abs=1e-6)
    assert result.metrics["popularity"]["NDCG@10"] == pytest.approx(ndcg, abs=1e-6) and ndcg > 0.005


def test_bench_rec_context_sequence_models_beat_popularity(monkeypatch):
    from shoplens.bench import rec_context

    # The quick simulator (400 users, 200 items) with training long enough to learn: at the CI smoke setting of
    # 2 epochs SASRec stays below popularity. Measured NDCG@10 over model seeds 0, 1, 2: popularity 0.091;
    # SASRec 0.376 / 0.391 / 0.406 (4.1-4.5x); the HSTU variants 0.27-0.33 (2.9-3.7x). A model that learnt
    # nothing scores near popularity or below it (random: about 0.02), so 2x is a wide but real margin.
    monkeypatch.setitem(rec_context.QUICK, "max_epochs", 40)  # early stopping (patience 4) ends it sooner
    result = rec_context.run(quick=True)
    assert set(rec_context.VARIANTS) <= set(result.metrics) and result.metrics["n_users"] > 100
    popularity = result.metrics["popularity"]["NDCG@10"]
    for variant in set(rec_context.VARIANTS) - {"popularity"}:
        assert result.metrics[variant]["NDCG@10"] >= 2 * popularity, variant


def test_bench_reads_a_fixed_negatives_file(tmp_path):
    from shoplens.bench.rec import run

    data = tmp_path / "seq.txt"
    data.write_text("".join(f"u{u} 1 2 3 1\n" for u in range(5)) + "u9 4 5 6 7 8 9 10 11 12 20 21 22\n")
    easy, hard = tmp_path / "easy.txt", tmp_path / "hard.txt"
    easy.write_text("".join(f"u{u} 20 21 22\n" for u in range(5)) + "u9 1 2 3\n")
    hard.write_text("".join(f"u{u} 20 2 22\n" for u in range(5)) + "u9 1 2 3\n")  # item 2 ties with target 1
    scores = {f.name: run(str(data), model="popularity", protocol="sampled99", negatives=f, seeds=(0,))
              for f in (easy, hard)}
    assert scores["easy.txt"].metrics["popularity"]["HR@1"] == pytest.approx(5 / 6)
    assert scores["hard.txt"].metrics["popularity"]["HR@1"] == 0.0
    assert "easy.txt" in scores["easy.txt"].protocol


def test_validation_negatives_are_their_own_draw_and_ignore_the_test_item():
    from shoplens.bench.rec import validation_negatives
    from shoplens.recommend.evaluate import leave_one_out, sample_negatives

    rng = np.random.default_rng(0)
    sequences = [rng.choice(300, size=int(rng.integers(3, 9)), replace=False) for _ in range(40)]
    split = leave_one_out(sequences)
    valid = validation_negatives(split, 300)
    assert valid.shape == (40, 99)
    for row, seq in zip(valid, sequences):
        assert not set(row.tolist()) & set(seq[:-1].tolist())  # nothing the user touched up to validation
    assert not np.array_equal(valid, sample_negatives(split.full, 300, 99))  # not the test negatives
    changed = leave_one_out([np.append(s[:-1], (s[-1] + 1) % 300) for s in sequences])  # other test items
    assert np.array_equal(valid, validation_negatives(changed, 300))


@pytest.mark.parametrize("select_on", [None, "full"])
def test_bench_sampled99_selects_on_sampled_validation_by_default(tmp_path, select_on):
    from shoplens.bench.rec import run

    rng = np.random.default_rng(0)
    data = tmp_path / "seq.txt"
    data.write_text("".join(f"u{u} " + " ".join(map(str, rng.choice(np.arange(1, 161), 6, replace=False))) + "\n"
                            for u in range(30)))
    result = run(str(data), model="sasrec", protocol="sampled99", seeds=(0,), select_on=select_on,
                 params={"sasrec": {"dim": 8, "max_epochs": 2}})
    expected = "sampled" if select_on is None else "full"
    assert result.metrics["sasrec"]["valid_protocol"] == expected
    assert ("negatives of its own" in result.protocol) == (expected == "sampled")
