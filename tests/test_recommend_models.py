"""Models learn, persist exactly, and serve new users and new items."""

import numpy as np
import pytest
import torch

from shoplens.recommend import ALS, BPR, HSTU, SASRec, ItemKNN, Popularity, load_recommender
from shoplens.recommend.evaluate import evaluate

N_ITEMS = 20


def cycle_sequences(n_users=40, length=8):
    """User u walks the item cycle u, u+1, u+2, ... (mod 20): the next item follows from the last one."""
    return [np.array([(u + j) % N_ITEMS for j in range(length)], dtype=np.int64) for u in range(n_users)]



def _hr1(model, sequences):
    scores = model.score([s[:-1] for s in sequences])
    return float(np.mean(scores.argmax(1) == np.array([s[-1] for s in sequences])))


@pytest.fixture(scope="module")
def sequences():
    torch.set_num_threads(2)
    return cycle_sequences()


@pytest.fixture(scope="module")
def sasrec(sequences):
    return SASRec(dim=32, dropout=0.0, lr=5e-3, batch_size=16, max_epochs=40, seed=0).fit(sequences, N_ITEMS)


@pytest.mark.parametrize("loss", ["ce", "sampled"])
def test_sasrec_overfits_tiny_data(sequences, sasrec, loss):
    model = sasrec if loss == "ce" else SASRec(dim=32, dropout=0.0, lr=5e-3, batch_size=16, max_epochs=40, loss=loss,
                                               n_negatives=8).fit(sequences, N_ITEMS)
    assert _hr1(model, sequences) >= 0.95


def test_hstu_overfits_tiny_data_with_timestamps(sequences):
    times = [np.arange(len(s)) * 3600 + 1_700_000_000 for s in sequences]
    model = HSTU(dim=32, dropout=0.0, lr=5e-3, batch_size=16, max_epochs=40).fit(sequences, N_ITEMS, times=times)
    scores = model.score([s[:-1] for s in sequences], times=[t[:-1] for t in times])
    assert np.mean(scores.argmax(1) == np.array([s[-1] for s in sequences])) >= 0.95


def test_early_stopping_keeps_best_validation_epoch(sequences):
    valid = ([s[:-1] for s in sequences], np.array([s[-1] for s in sequences]))
    model = SASRec(dim=16, max_epochs=4, patience=2, lr=5e-3, batch_size=16).fit(sequences, N_ITEMS, valid=valid)
    log = model.training_log_
    assert 1 <= log["best_epoch"] <= len(log["epochs"]) and log["best_valid_ndcg10"] == max(
        e["valid_ndcg10"] for e in log["epochs"])
    assert evaluate(model, *valid, top_k=0)["NDCG@10"] == pytest.approx(log["best_valid_ndcg10"])


def test_early_stopping_on_sampled_validation_uses_the_given_negatives(sequences):
    """With valid_negatives, the kept epoch is the best by the validation item ranked against its own negatives
    (the sampled99 protocol on validation), not by full ranking."""
    histories, targets = [s[:-1] for s in sequences], np.array([s[-1] for s in sequences])
    rng = np.random.default_rng(0)
    negatives = np.array([rng.choice(np.setdiff1d(np.arange(N_ITEMS), s), 6, replace=False) for s in sequences])
    model = SASRec(dim=16, max_epochs=3, patience=3, lr=5e-3, batch_size=16).fit(
        sequences, N_ITEMS, valid=(histories, targets), valid_negatives=negatives)
    log = model.training_log_
    assert log["valid_protocol"] == "sampled"
    assert log["best_valid_ndcg10"] == max(e["valid_ndcg10"] for e in log["epochs"])
    sampled = evaluate(model, histories, targets, protocol="sampled99", negatives=negatives, top_k=0)["NDCG@10"]
    full = evaluate(model, histories, targets, top_k=0)["NDCG@10"]
    assert sampled == pytest.approx(log["best_valid_ndcg10"]) and full != pytest.approx(sampled)


@pytest.mark.parametrize("make", [
    lambda: Popularity(), lambda: ItemKNN(n_neighbors=5), lambda: ALS(factors=8, iterations=3),
    lambda: BPR(factors=8, iterations=5), lambda: HSTU(dim=16, max_epochs=1), lambda: SASRec(dim=16, max_epochs=1)])
def test_save_load_round_trip_gives_identical_scores(sequences, tmp_path, make):
    model = make().fit(sequences, N_ITEMS)
    model.save(tmp_path / "m")
    loaded = load_recommender(tmp_path / "m")
    histories = [s[:5] for s in sequences[:7]] + [np.array([], dtype=np.int64)]
    assert type(loaded) is type(model) and loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.score(histories), model.score(histories))
    assert not list((tmp_path / "m").glob("*.pkl"))


def test_recommend_excludes_seen_and_filters(sasrec):
    history = np.array([3, 4, 5])
    items, scores = sasrec.recommend(history, k=5)
    assert items[0] == 6 and not set(items) & {3, 4, 5} and np.all(np.diff(scores) <= 0)
    items, _ = sasrec.recommend(history, k=5, filter=lambda candidates: candidates % 2 == 1)
    assert items.tolist() and all(i % 2 == 1 for i in items)
    assert 3 in sasrec.recommend(np.array([2]), k=N_ITEMS, exclude_seen=False)[0]


def test_explain_attributes_to_history_items(sasrec):
    drops = sasrec.explain(np.array([10, 3, 4, 5]), 6)
    assert sorted(i for i, _ in drops) == [3, 4, 5, 10]
    assert drops[0][0] == 5  # the last item is what predicts its successor


def test_similar_items_exclude_the_item(sequences, sasrec):
    items, sims = sasrec.similar_items(4, k=3)
    assert 4 not in items and len(items) == 3
    items, sims = ItemKNN().fit(sequences, N_ITEMS).similar_items(4, k=3)
    assert 4 not in items and set(items) <= set(range(N_ITEMS)) and np.all(np.diff(sims) <= 0)


def test_new_item_with_text_is_recommended(sequences, tmp_path):
    rng = np.random.default_rng(0)
    text = np.eye(N_ITEMS, dtype=np.float32) + 0.01 * rng.standard_normal((N_ITEMS, N_ITEMS)).astype(np.float32)
    model = SASRec(dim=32, dropout=0.0, lr=5e-3, batch_size=16, max_epochs=40, id_dropout=0.5)
    model.fit(sequences, N_ITEMS, item_text=text)
    (new_item,) = model.add_items(text[[6]])  # a new product described like item 6, never interacted with
    assert new_item == N_ITEMS and model.n_items == N_ITEMS + 1
    items, _ = model.recommend(np.array([3, 4, 5]), k=3)
    assert new_item in items  # item 6 is what follows 5; its text twin is recommended too
    model.save(tmp_path / "m")
    np.testing.assert_array_equal(load_recommender(tmp_path / "m").score([np.array([4, 5])]),
                                  model.score([np.array([4, 5])]))


def test_gbce_loss_trains(sequences):
    model = SASRec(dim=32, dropout=0.0, lr=5e-3, batch_size=16, max_epochs=40, loss="gbce", n_negatives=8)
    assert _hr1(model.fit(sequences, N_ITEMS), sequences) >= 0.9


def action_sequences(n_users=120, length=8, seed=0):
    """The next item depends on what the user DID with the last one: after a view (code 1) it is item + 1, after a
    cart (code 3) item + 7 (mod 20). Item ids alone leave two equally likely successors."""
    rng = np.random.default_rng(seed)
    sequences, actions = [], []
    for _ in range(n_users):
        acts = rng.choice([1, 3], size=length)
        items = [int(rng.integers(N_ITEMS))]
        for a in acts[:-1]:
            items.append((items[-1] + (1 if a == 1 else 7)) % N_ITEMS)
        sequences.append(np.array(items, dtype=np.int64))
        actions.append(acts.astype(np.int64))
    return sequences, actions


def test_hstu_reads_event_types(tmp_path):
    torch.set_num_threads(2)
    sequences, actions = action_sequences()
    common = dict(dim=32, dropout=0.0, lr=5e-3, batch_size=16, max_epochs=15, seed=0)
    with_actions = HSTU(**common).fit(sequences, N_ITEMS, actions=actions)
    ids_only = HSTU(**common).fit(sequences, N_ITEMS)
    unseen, unseen_actions = action_sequences(n_users=60, seed=1)  # scored on users never trained on
    histories, targets = [s[:-1] for s in unseen], np.array([s[-1] for s in unseen])
    last_actions = [a[:-1] for a in unseen_actions]

    def hr1(model, **context):
        return float(np.mean(model.score(histories, **context).argmax(1) == targets))

    assert hr1(with_actions, actions=last_actions) >= 0.9
    assert hr1(ids_only) <= 0.75  # without the event type the successor is a coin flip
    with_actions.save(tmp_path / "m")
    loaded = load_recommender(tmp_path / "m")
    np.testing.assert_array_equal(loaded.score(histories, actions=last_actions),
                                  with_actions.score(histories, actions=last_actions))
    unseen_code = [np.full(len(h), 8) for h in histories]  # an event type never seen in training = unknown
    np.testing.assert_array_equal(loaded.score(histories, actions=unseen_code),
                                  loaded.score(histories, actions=[np.zeros(len(h), np.int64) for h in histories]))
