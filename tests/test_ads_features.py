"""Feature encoding for CTR models: vocabularies with an out-of-vocabulary bucket, missing values, dense
features, behaviour sequences, label checks."""

import numpy as np
import pandas as pd
import pytest

from shoplens.ads.features import FeatureEncoder, check_labels, infer_fields


def table():
    return pd.DataFrame({"user_id": ["u1", "u2", "u1", "u3", None], "position": [1, 2, 1, 3, 2],
                         "price": [10.0, np.nan, 30.0, 5.0, 1e6], "clicked": [0, 1, 0, 1, 0],
                         "ts": pd.date_range("2025-01-01", periods=5)})


def test_fields_are_inferred_and_label_ts_left_out():
    assert infer_fields(table()) == (["user_id", "position"], ["price"])


def test_unseen_and_rare_values_share_the_oov_bucket():
    encoder = FeatureEncoder(min_count=2).fit(table())
    # u1 is the only user seen twice; u2, u3 are rare, u9 unseen: all in row 0 of the user block
    batch = encoder.transform(pd.DataFrame({"user_id": ["u1", "u2", "u9"], "position": [1, 1, 7], "price": [1.0, 2.0, 3.0]}))
    user, position = batch.categorical[:, 0], batch.categorical[:, 1]
    assert user[0] != 0 and user[1] == 0 and user[2] == 0
    assert position[2] == encoder.field_offset("position")  # unseen position 7 -> that field's own OOV row
    assert batch.categorical.max() < encoder.n_embeddings and batch.dense.dtype == np.float32


def test_missing_values_are_a_value_and_dense_is_finite():
    encoder = FeatureEncoder().fit(table())
    assert "<missing>" in encoder.vocabs["user_id"]
    batch = encoder.transform(table())
    assert np.isfinite(batch.dense).all() and abs(batch.dense.mean()) < 1e-5


def test_missing_columns_and_empty_tables_are_errors():
    encoder = FeatureEncoder().fit(table())
    with pytest.raises(ValueError, match="missing feature columns"):
        encoder.transform(pd.DataFrame({"user_id": ["u1"]}))
    with pytest.raises(ValueError, match="empty"):
        FeatureEncoder().fit(table().iloc[:0])
    filled = encoder.with_defaults(pd.DataFrame({"user_id": ["u1"]}))
    assert filled["position"].iloc[0] == "1" and len(encoder.transform(filled)) == 1


def test_sequences_use_the_item_vocabulary_right_aligned():
    df = pd.DataFrame({"item_id": ["a", "b", "c"], "history": [["a", "b"], [], ["zz", "a", "b", "c"]], "clicked": [0, 1, 0]})
    encoder = FeatureEncoder(sequence={"history": "item_id"}, max_seq_len=3).fit(df)
    assert encoder.categorical == ["item_id"]
    seq = encoder.transform(df).sequence
    a, b, c = (encoder.vocabs["item_id"].index(x) + 1 for x in "abc")
    assert seq.tolist() == [[0, a, b], [0, 0, 0], [a, b, c]]


def test_round_trip_through_json():
    encoder = FeatureEncoder().fit(table())
    again = FeatureEncoder.from_dict(encoder.to_dict())
    np.testing.assert_array_equal(again.transform(table()).categorical, encoder.transform(table()).categorical)


@pytest.mark.parametrize("bad", [[0, 1, 2], [0, None, 1], ["yes", 0, 1], [-1, 0, 1]])
def test_labels_must_be_zero_or_one(bad):
    with pytest.raises(ValueError, match="must be 0 or 1"):
        check_labels(bad)
    assert check_labels([0, 1.0, "1"]).tolist() == [0, 1, 1]
