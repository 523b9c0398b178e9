"""bench categorize: the distinct-title split keeps every copy of a title on one side; the TF-IDF + LinearSVC
baseline is measured in the run, with C chosen on validation."""

import numpy as np
import pandas as pd
import pytest

from conftest import dataset_dir
from shoplens.bench.categorize import (BASELINE_C_GRID, LEVELS, load_splits, share_of_titles_in, title_group_split,
                                       title_key, tfidf_svm_baseline)

WORDS = {"Beauty": ["cream", "shampoo", "soap", "lotion"], "Food": ["chips", "tea", "rice", "dal"],
         "Home": ["mop", "broom", "bucket", "detergent"]}


def toy_items(copies: int = 3) -> pd.DataFrame:
    """Each title under several brands / sizes, some copies differing only in case or spacing."""
    rows = []
    for top, words in WORDS.items():
        for i, word in enumerate(words):
            for n in range(6):
                title = f"{word} pack {n}"
                for c in range(copies):
                    rows.append({"item_id": str(len(rows)), "title": title.upper() if c == 1 else title + " " * c,
                                 "top_category": top, "sub_category": f"{top}-{i % 2}",
                                 "product_type": f"{top}-{i % 2}-{word}", "brand": f"b{c}"})
    return pd.DataFrame(rows)


def test_title_group_split_puts_every_copy_of_a_title_on_one_side():
    items = toy_items()
    split = title_group_split(items, seed=0)
    sides = [set(title_key(part["title"])) for part in (split.train, split.valid, split.test)]
    assert not (sides[0] & sides[1]) and not (sides[0] & sides[2]) and not (sides[1] & sides[2])
    ids = pd.concat([split.train, split.valid, split.test])["item_id"]
    assert sorted(ids, key=int) == items["item_id"].tolist()  # every item exactly once
    assert share_of_titles_in(split.test, split.train) == 0.0
    assert len(split.test) > 0 and len(split.valid) > 0
    assert title_group_split(items, seed=0).test["item_id"].tolist() == split.test["item_id"].tolist()


def test_bigbasket_splits_overlap_as_measured():
    dataset_dir("bigbasket-products")
    splits = load_splits()
    by_item, by_title = splits["items"], splits["title groups"]
    # the item-level split: 21.9% of test titles occur verbatim in train (issue 16)
    assert round(share_of_titles_in(by_item.test, by_item.train), 3) == 0.219
    train_keys = set(title_key(by_title.train["title"]))
    assert not train_keys & set(title_key(by_title.test["title"]))
    assert not train_keys & set(title_key(by_title.valid["title"]))
    assert sum(len(p) for p in (by_title.train, by_title.valid, by_title.test)) == sum(
        len(p) for p in (by_item.train, by_item.valid, by_item.test))


def test_baseline_picks_c_on_validation_and_never_reads_test_labels():
    items = toy_items(copies=2)
    split = title_group_split(items, seed=0)
    predicted, chosen = tfidf_svm_baseline(split.train, split.valid, split.test)
    garbled = split.test.assign(**{level: "unknown" for level in LEVELS})
    predicted_garbled, chosen_garbled = tfidf_svm_baseline(split.train, split.valid, garbled)
    assert chosen == chosen_garbled
    for level in LEVELS:
        np.testing.assert_array_equal(predicted[level], predicted_garbled[level])
        assert chosen[level] in BASELINE_C_GRID
    # the chosen C is the validation argmax (smallest C on ties), recomputed here independently
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_union
    from sklearn.svm import LinearSVC

    features = make_union(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                          TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True))
    X_train = features.fit_transform(split.train["title"])
    X_valid = features.transform(split.valid["title"])
    for level in LEVELS:
        accuracy = [(LinearSVC(C=C).fit(X_train, split.train[level]).predict(X_valid) == split.valid[level]).mean()
                    for C in BASELINE_C_GRID]
        assert chosen[level] == BASELINE_C_GRID[int(np.argmax(accuracy))]
