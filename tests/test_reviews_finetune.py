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
