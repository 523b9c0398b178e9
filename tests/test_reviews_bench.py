"""Bench plumbing for the review suites: the aspects suite end to end (quick) and the committed split check."""

import pandas as pd
import pytest

from shoplens.bench import aspects, sentiment
from shoplens.data.splits import Split


def test_aspects_suite_quick():
    result = aspects.run(quick=True)
    assert result.suite == "aspects" and result.rows
    model, lexicon = result.metrics["model_all"], result.metrics["lexicon_all"]
    # measured 0.837 precision, 0.863 recall on the quick set's 1,109 true (aspect, opinion) pairs: an extractor
    # that finds nothing or tags everything fails these floors
    assert model["precision"] > 0.8 and model["recall"] > 0.8
    # the clause model trained on ratings is the point of the suite: measured 0.80 polarity accuracy vs 0.63
    assert model["polarity_accuracy"] > lexicon["polarity_accuracy"] + 0.1


def test_committed_split_ids_are_checked(tmp_path, monkeypatch):
    monkeypatch.setattr(sentiment, "SPLITS_DIR", tmp_path)
    frame = pd.DataFrame({"review_id": [str(i) for i in range(10)]})
    split = Split(frame.iloc[:6], frame.iloc[6:8], frame.iloc[8:])
    sentiment.check_committed_ids("toy", split)  # first run writes the file
    written = pd.read_csv(tmp_path / "toy-seed0.csv", dtype=str)
    assert written["split"].tolist() == ["valid", "valid", "test", "test"]
    sentiment.check_committed_ids("toy", split)  # same split: fine
    with pytest.raises(RuntimeError, match="no longer matches"):
        sentiment.check_committed_ids("toy", Split(frame.iloc[:6], frame.iloc[8:], frame.iloc[6:8]))


def test_calibration_error_of_a_perfectly_calibrated_toy():
    import numpy as np

    probabilities = np.array([0.9] * 10 + [0.1] * 10)
    labels = np.array([1] * 9 + [0] + [0] * 9 + [1])
    assert sentiment.expected_calibration_error(probabilities, labels) == pytest.approx(0.0)


def test_sentiment_bench_fine_tunes_e5_on_a_user_csv(tmp_path):
    """`shoplens bench sentiment --path F --format label-text-csv --finetune e5` end to end on a tiny file."""
    positive = ["质量很好，非常满意", "物流很快，好评", "great quality, love it", "很喜欢，推荐购买", "做工精细，值得"]
    negative = ["太差了，坏了", "服务态度恶劣", "terrible, broke at once", "不推荐，退货了", "质量很差，失望"]
    rows = [(1, f"{t} {i}") for i in range(4) for t in positive] + [(0, f"{t} {i}") for i in range(4) for t in negative]
    path = tmp_path / "reviews.csv"
    pd.DataFrame(rows, columns=["label", "review"]).to_csv(path, index=False)
    result = sentiment.run(path=path, format="label-text-csv", finetune="e5", finetune_epochs=2)
    _, split = sentiment.load_split("reviews.csv", path=path, format="label-text-csv")
    majority = float((split.test["label"] == split.train["label"].mode()[0]).mean())  # 0.5 here (4 test texts)
    rows = {r["model"]: r for r in result.rows}
    # the lexical model separates these phrases perfectly (measured 4 of 4); a constant guess gets the majority
    assert rows["ShopLens lexical (NB word+char LR)"]["test accuracy"] >= majority + 0.25
    # 2 epochs over 32 texts leave e5 at chance on 4 test texts (measured 0.5): no accuracy floor can hold, so
    # check that it trained: the loss fell (measured 0.709 -> 0.631), which a broken optimiser step would not do
    history = result.metrics["finetuned_history"]
    assert [e["epoch"] for e in history] == [1, 2] and history[1]["train_loss"] < history[0]["train_loss"] - 0.03
    assert any(name.startswith("multilingual-e5 fine-tuned") for name in rows)
    assert result.metrics["finetuned_valid_accuracy"] == max(e["eval_accuracy"] for e in result.metrics["finetuned_history"])
    by_share = result.metrics["blend_valid_accuracy_by_share"]
    assert result.metrics["blend_valid_accuracy"] == round(max(by_share.values()), 4)
    assert by_share[str(result.metrics["blend_finetuned_share"])] == max(by_share.values())
