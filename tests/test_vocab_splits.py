import numpy as np
import pandas as pd
import pytest

from shoplens.data.splits import leave_one_out_split, stratified_split, temporal_split
from shoplens.data.vocab import Vocab


def test_vocab_appends_and_never_renumbers(tmp_path):
    vocab = Vocab(["b", "a", "b"])
    assert vocab.ids() == ["b", "a"]
    assert vocab.add(["c", "a", 7]).tolist() == [2, 1, 3]
    assert vocab.lookup(["a", "zzz"]).tolist() == [1, -1]
    assert vocab.index(7) == 3 and "7" in vocab
    vocab.save(tmp_path / "v.json")
    loaded = Vocab.load(tmp_path / "v.json")
    assert loaded == vocab
    loaded.add(["new"])
    assert loaded.lookup(["b", "a", "c", "7", "new"]).tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(KeyError):
        vocab.index("missing")
    with pytest.raises(TypeError):
        vocab.add("abc")


def events_frame():
    return pd.DataFrame({
        "user_id": ["u1"] * 4 + ["u2"] * 2 + ["u3"] * 3,
        "item_id": ["a", "b", "c", "d", "a", "b", "x", "y", "z"],
        "ts": pd.to_datetime([4, 1, 2, 3, 1, 2, 5, 5, 5], unit="s"),  # u1 out of order; u3 all tied
    })


def test_leave_one_out_orders_by_time_then_input_order():
    split = leave_one_out_split(events_frame())
    assert split.test.set_index("user_id")["item_id"].to_dict() == {"u1": "a", "u3": "z"}
    assert split.valid.set_index("user_id")["item_id"].to_dict() == {"u1": "d", "u3": "y"}
    assert sorted(split.train["item_id"]) == ["a", "b", "b", "c", "x"]  # u2 (2 events) stays in train
    assert sum(split.sizes().values()) == 9


def test_temporal_split():
    e = events_frame()
    split = temporal_split(e, pd.Timestamp(3, unit="s"), valid_cutoff=pd.Timestamp(2, unit="s"))
    assert split.sizes() == {"train": 2, "valid": 2, "test": 5}
    assert temporal_split(e, 0.5).sizes()["valid"] == 0
    with pytest.raises(ValueError):
        temporal_split(e, pd.Timestamp(2, unit="s"), valid_cutoff=pd.Timestamp(3, unit="s"))


def test_stratified_split_is_seeded_and_stratified():
    df = pd.DataFrame({"label": [0] * 800 + [1] * 200, "x": np.arange(1000)})
    a, b = stratified_split(df, "label", seed=3), stratified_split(df, "label", seed=3)
    assert a.test["x"].tolist() == b.test["x"].tolist()
    assert a.sizes() == {"train": 800, "valid": 100, "test": 100}
    assert a.test["label"].mean() == pytest.approx(0.2)
    assert set(a.train["x"]).isdisjoint(a.test["x"])
    assert stratified_split(df, "label", seed=4).test["x"].tolist() != a.test["x"].tolist()
    with pytest.raises(ValueError):
        stratified_split(df, "label", fractions=(0.5, 0.1, 0.1))
