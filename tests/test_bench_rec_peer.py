"""bench rec-peer: RecBole beside ShopLens on the same split. The writer and the CLI's refusals need no RecBole;
the end-to-end run needs the peer venv and never makes it (that is minutes of pip, not a test's job)."""

import json
import os

import numpy as np
import pytest

from shoplens.bench.peers import atomic, recbole, recbole_env
from shoplens.bench.rec import load_sequences
from shoplens.recommend.evaluate import leave_one_out
from shoplens_cli import assert_one_line_error, run

TINY = ["u1 a b c d e", "u2 c a a f", "u3 b d", "u4 f e d c b a", "u5 a c e"]  # u2 repeats an item; u3 is short


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text("\n".join(TINY) + "\n")
    return path


def test_atomic_files_round_trip_into_shoplens_leave_one_out_targets(tiny, tmp_path):
    _, sequences, _, _, (user_ids, item_ids) = load_sequences(str(tiny), "s3rec")
    split = leave_one_out(sequences)
    counts = atomic.write_atomic(sequences, tmp_path / "out", "shoplens")

    written = atomic.read_atomic(tmp_path / "out" / "shoplens" / "shoplens.inter")
    assert counts == {"users_written": 4, "users_left_out_too_short": 1, "interactions_written": 18}
    assert sorted(written) == sorted(str(u) for u in split.users)  # u3 (2 items) only trains in ShopLens: out
    for u, valid, test in zip(split.users, split.valid_target, split.test_target):
        items = written[str(u)]
        assert items == [str(i) for i in sequences[u]]  # the order survives, repeats included
        assert (items[-2], items[-1]) == (str(valid), str(test))  # RecBole's LS valid_and_test = ShopLens's cut
    by_external = {user_ids[int(u)]: [item_ids[int(i)] for i in items] for u, items in written.items()}
    assert by_external["u2"] == ["c", "a", "a", "f"] and by_external["u4"][-1] == "a"
    targets = json.loads((tmp_path / "out" / "shoplens" / "targets.json").read_text())
    assert targets == {str(u): [str(v), str(t)] for u, v, t in zip(split.users, split.valid_target, split.test_target)}


@pytest.mark.parametrize("args, fragment", [
    (["--dataset", "ml-100k", "--peer", "lightfm"], "--peer must be one of: recbole"),
    (["--dataset", "no-such-dataset"], "no-such-dataset"),
    (["--dataset", "/no/such/file.txt"], "no such file"),
    (["--dataset", "ml-100k", "--max-minutes", "0"], "--max-minutes must be a positive"),
    (["--dataset", "ml-100k", "--max-minutes", "-3"], "--max-minutes must be a positive"),
    (["--dataset", "ml-100k", "--model", "pop"], "--model must be one of: sasrec"),
])
def test_cli_refuses_bad_input_in_one_line_before_installing_anything(tmp_path, args, fragment):
    peers = tmp_path / "peers"
    done = run("bench", "rec-peer", *args, ok=False, env={**os.environ, "SHOPLENS_PEERS_DIR": str(peers)})
    assert_one_line_error(done, fragment)
    assert not peers.exists()  # refused before the peer venv was made


@pytest.mark.skipif(recbole_env.recbole_python() is None,
                    reason="the RecBole peer venv is not made (`shoplens bench rec-peer` makes it on first use, "
                           "minutes of pip); this test never installs it")
def test_real_recbole_on_a_tiny_file_uses_the_same_split(tmp_path):
    path = tmp_path / "tiny.txt"
    rng = np.random.default_rng(0)
    lines = []
    for u in range(60):  # walks through 30 items with a user-specific stride: something to learn
        start, length, stride = rng.integers(30), rng.integers(5, 12), 1 + u % 3
        lines.append(" ".join([f"u{u}", *(f"i{(start + k * stride) % 30}" for k in range(length))]))
    path.write_text("\n".join(lines) + "\n")

    result = recbole.run(str(path), format="s3rec", max_minutes=0.1)

    assert [row["model"] for row in result.rows] == ["recbole SASRec", "recbole Pop", "recbole Pop (batch 2048)",
                                                  "shoplens popularity"]
    for label in ("recbole SASRec", "recbole Pop", "recbole Pop (batch 2048)"):
        summary = result.metrics[label]
        assert summary["targets"] == {"recbole_test_users": 60, "shoplens_test_users": 60, "same_target": 60}
        assert 0 <= summary["NDCG@10"] <= summary["HR@10"] <= 1
    sasrec = result.metrics["recbole SASRec"]
    assert sasrec["stopped_by"][0] in ("max_minutes", "patience") and sasrec["epochs"][0] >= 1
    if sasrec["stopped_by"][0] == "max_minutes":  # the cap: no epoch is started that the last one says ends past it
        assert sasrec["train_seconds"] <= 0.1 * 60 + max(sasrec["epoch_seconds"][0])
    assert result.metrics["recbole Pop"]["stopped_by"] == ["one pass"]


def test_popularity_hits_with_ties_for_the_target_count_only_strictly_higher_items():
    # training counts: item 0 once, item 3 once, items 1 and 2 never
    sequences = [np.array([0, 1, 2]), np.array([3, 0, 1])]
    # user 0: target 2 (count 0) is beaten by item 3 (count 1): no hit. User 1: target 1 (count 0) ties only with
    # item 2 (count 0; 3 and 0 are its history): a hit when ties go to the target, a miss in ShopLens's own ranking
    assert recbole.popularity_hits_ties_for_target(sequences, n_items=4, k=1) == 1
