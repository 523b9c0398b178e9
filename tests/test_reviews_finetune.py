"""shoplens.reviews.finetune: the English MiniLM fine-tuning path (tiny data: it only has to learn and persist)."""

import numpy as np

from shoplens.reviews.finetune import MiniLMSentiment

TEXTS = ["love it, great quality", "perfect fit, very happy", "terrible, broke in a day", "awful, returned it"] * 4
LABELS = [1, 1, 0, 0] * 4


def test_fine_tunes_and_round_trips(tmp_path):
    model = MiniLMSentiment(epochs=3, batch_size=8, lr=1e-4).fit(TEXTS, LABELS)
    assert (model.predict(TEXTS) == np.array(LABELS)).mean() >= 0.75
    model.save(tmp_path)
    assert not list(tmp_path.rglob("*.pkl")) and not list(tmp_path.rglob("*.bin"))
    awkward = ["", None, "\x00\xff", "good " * 5000, "很好 good"]
    np.testing.assert_allclose(MiniLMSentiment.load(tmp_path).predict_proba(awkward), model.predict_proba(awkward),
                               atol=1e-5)


ZH_TEXTS = ["质量很好，非常满意", "物流很快，包装完好，好评", "太差了，用了一天就坏了", "服务态度恶劣，退货了"] * 4


def test_e5_fine_tunes_chinese_keeps_the_best_epoch_and_round_trips(tmp_path):
    from shoplens.reviews.finetune import E5Sentiment

    model = E5Sentiment(epochs=3, batch_size=8, lr=1e-4, head_lr=1e-2, max_tokens=32).fit(
        ZH_TEXTS, LABELS, eval_set=(ZH_TEXTS, LABELS))
    accuracy = [entry["eval_accuracy"] for entry in model.history_]
    assert max(accuracy) >= 0.75 and len(accuracy) == 3
    assert (model.predict(ZH_TEXTS) == np.array(LABELS)).mean() == max(accuracy)  # the best epoch's weights
    np.testing.assert_allclose(model.eval_proba_, model.predict_proba(ZH_TEXTS), atol=1e-6)  # that epoch's
    model.save(tmp_path)
    saved = sum(f.stat().st_size for f in tmp_path.iterdir())
    assert saved < 150e6 and not list(tmp_path.rglob("*.pkl"))  # the frozen 250k-word table is not written
    awkward = ["", None, "很好 good", "差" * 500]
    np.testing.assert_allclose(E5Sentiment.load(tmp_path).predict_proba(awkward), model.predict_proba(awkward),
                               atol=1e-5)
