"""CTR estimators: each learns a planted interaction, saves / loads exactly, calibrates, handles new ids."""

import numpy as np
import pandas as pd
import pytest
import torch

from shoplens.ads import MODELS, expected_calibration_error, load_model
from shoplens.ads.calibration import IsotonicCalibrator, TemperatureCalibrator

TOWER = {"embedding_dim": 4, "hidden_units": (16,), "batch_norm": False, "dropout": 0.0}  # BN is noisy on 3k rows
SMALL = {"lr": {}, "fm": {"embedding_dim": 4}, "deepfm": TOWER, "dcnv2": {**TOWER, "n_cross_layers": 1},
         "din": {**TOWER, "attention_units": (8,), "max_history": 4}}


def planted(n=3000, seed=0):
    """Clicks when the user's group matches the item's group (an interaction LR cannot see alone),
    plus a dense feature that lowers CTR; the history holds items of the user's group."""
    rng = np.random.default_rng(seed)
    user, item = rng.integers(0, 40, n), rng.integers(0, 30, n)
    price = rng.exponential(10.0, n)
    logit = -1.0 + 2.5 * (user % 3 == item % 3) - 0.05 * price
    history = [[f"i{(u % 3) + 3 * k}" for k in range(3)] for u in user]
    return pd.DataFrame({"user_id": [f"u{u}" for u in user], "item_id": [f"i{i}" for i in item], "price": price,
                         "history": history, "clicked": (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)})


@pytest.fixture(scope="module")
def data():
    torch.set_num_threads(1)
    return planted(3000, 0), planted(800, 1), planted(800, 2)


@pytest.mark.parametrize("name", list(MODELS))
def test_model_learns_saves_and_loads(name, data, tmp_path):
    train, valid, test = data
    X = train if name == "din" else train.drop(columns="history")
    params = {**SMALL[name], "embedding_l2": 0.0, "lr": 0.03, "batch_size": 256, "max_epochs": 5, "seed": 0, "verbose": False}
    model = MODELS[name](**params).fit(X, eval_set=valid)
    assert model.get_params()["seed"] == 0 and len(model.history_) >= 1
    auc = model.score(test)["auc"]
    assert auc > (0.55 if name == "lr" else 0.65), auc
    model.calibrate(valid, method="temperature")
    p = model.predict_ctr(test)
    assert p.shape == (len(test),) and ((p > 0) & (p < 1)).all()
    model.save(tmp_path / name)
    assert not list(tmp_path.glob(f"{name}/*.pkl"))
    again = load_model(tmp_path / name)
    assert type(again) is type(model) and again.get_params() == model.get_params() | {
        k: tuple(v) for k, v in model.get_params().items() if isinstance(v, list)}
    np.testing.assert_allclose(again.predict_ctr(test), p, rtol=1e-5)
    from shoplens.ads.jobs import ScoreImpressions

    np.testing.assert_allclose(ScoreImpressions(tmp_path / name)(test)["ctr"], p, rtol=1e-5)
    new_ids = test.assign(user_id="never-seen", item_id="new-item", history=[["x"]] * len(test))
    assert np.isfinite(again.predict_ctr(new_ids)).all()


def test_fit_refuses_bad_input(data):
    train = data[0].drop(columns="history")
    with pytest.raises(ValueError, match="must be 0 or 1"):
        MODELS["lr"](verbose=False).fit(train.assign(clicked=2))
    with pytest.raises(ValueError, match="empty"):
        MODELS["lr"](verbose=False).fit(train.iloc[:0])
    with pytest.raises(ValueError, match="no label"):
        MODELS["lr"](verbose=False).fit(train.drop(columns="clicked"))
    with pytest.raises(ValueError, match="missing feature columns"):
        MODELS["din"](verbose=False).fit(train)  # DIN without its history column


def test_calibration_fixes_a_biased_score():
    rng = np.random.default_rng(0)
    true_p = rng.uniform(0.01, 0.3, 20000)
    y = (rng.random(20000) < true_p).astype(int)
    biased_logits = np.log(true_p / (1 - true_p)) * 0.5 + 1.0  # too flat and too high
    raw = 1 / (1 + np.exp(-biased_logits))
    assert expected_calibration_error(y, raw) > 0.2
    for calibrator in (TemperatureCalibrator(), IsotonicCalibrator()):
        fixed = calibrator.fit(biased_logits[:10000], y[:10000]).transform(biased_logits[10000:])
        assert expected_calibration_error(y[10000:], fixed) < 0.02
    assert expected_calibration_error([0, 1], [0.0, 1.0]) == 0.0
