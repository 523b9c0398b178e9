"""BTYD models against the published CDNOW numbers (Fader, Hardie & Lee) and on bad input."""

import numpy as np
import pandas as pd
import pytest

from conftest import dataset_dir
from shoplens.customers.btyd import BetaGeoModel, BTYDInputError, GammaGammaModel, ParetoNBDModel


@pytest.fixture(scope="module")
def summary():
    return pd.read_csv(dataset_dir("cdnow-lifetimes") / "cdnow_customers_summary.csv")


@pytest.fixture(scope="module")
def bgnbd(summary):
    return BetaGeoModel().fit(summary["frequency"], summary["recency"], summary["T"])


def test_bgnbd_reproduces_published_parameters(bgnbd):
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in published.items():
        assert bgnbd.params_[name] == pytest.approx(value, rel=0.01), name
    assert bgnbd.log_likelihood_ == pytest.approx(-9582.43, abs=0.05)


def test_bgnbd_published_expectations(bgnbd):
    assert bgnbd.conditional_expected_purchases(39, 2, 30.43, 38.86) == pytest.approx(1.226, abs=1e-3)
    t = [0.1429, 1, 3, 31.8571, 32, 78]
    published = [0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576]
    np.testing.assert_allclose(bgnbd.expected_purchases(t), published, rtol=0.01)


def test_bgnbd_holdout_total_on_the_39_week_split():
    cbs = pd.read_csv(dataset_dir("cdnow-lifetimes") / "cdnow_sample_cbs_cal39_hold39.csv")
    model = BetaGeoModel().fit(cbs["x"], cbs["t_x"], cbs["T_cal"])
    expected = model.conditional_expected_purchases(39, cbs["x"], cbs["t_x"], cbs["T_cal"])
    assert expected.sum() == pytest.approx(1653.4, abs=1.0)
    assert cbs["x_star"].sum() == 1882


def test_probability_alive_is_one_without_repeats_and_falls_with_silence(bgnbd):
    assert bgnbd.probability_alive(0, 0, 30) == 1.0
    recent, silent = bgnbd.probability_alive([3, 3], [29, 5], [30, 30])
    assert 0 < silent < recent <= 1


def test_pareto_nbd_reproduces_published_parameters(summary):
    model = ParetoNBDModel().fit(summary["frequency"], summary["recency"], summary["T"])
    for name, value in {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}.items():
        assert model.params_[name] == pytest.approx(value, rel=0.01), name
    p_alive = model.probability_alive(summary["frequency"], summary["recency"], summary["T"])
    assert np.all((p_alive > 0) & (p_alive <= 1))
    assert np.all(np.diff(model.expected_purchases([1, 10, 50])) > 0)


def test_gamma_gamma_and_clv():
    data = pd.read_csv(dataset_dir("cdnow-lifetimes") / "cdnow_customers_summary_with_transactions.csv")
    spend = GammaGammaModel().fit(data["x"], data["zbar"])
    for name, value in {"p": 6.25, "q": 3.74, "v": 15.44}.items():
        assert spend.params_[name] == pytest.approx(value, rel=0.01), name
    assert spend.n_excluded_ == int((data["x"] == 0).sum())  # one-purchase customers are left out, counted
    bg = BetaGeoModel().fit(data["x"], data["t_x"], data["T"])
    clv = spend.customer_lifetime_value(bg, [1, 5], [30, 30], [38, 38], [20, 20])
    assert 0 < clv[0] < clv[1]


@pytest.mark.parametrize(
    "frequency, recency, T, message",
    [
        ([0, 0, 0], [0, 0, 0], [10, 10, 10], "single purchase"),
        ([1, 2], [5, 12], [10, 10], "recency is after T"),
        ([-1, 2], [0, 5], [10, 10], "frequency is negative"),
        ([1.5, 2], [3, 5], [10, 10], "not a whole number"),
        ([0, 2], [3, 5], [10, 10], "recency is not 0"),
        ([1, 2], [3, np.nan], [10, 10], "missing"),
    ],
)
def test_bad_inputs_are_rejected_with_the_reason(frequency, recency, T, message):
    with pytest.raises(BTYDInputError, match=message):
        BetaGeoModel().fit(frequency, recency, T)


def test_gamma_gamma_rejects_non_positive_spend():
    with pytest.raises(BTYDInputError, match="not positive"):
        GammaGammaModel().fit([1, 2, 3, 1], [10.0, -5.0, 8.0, 9.0])


def test_recovers_simulated_bgnbd_parameters():
    rng = np.random.default_rng(0)
    r, alpha, a, b, n, T = 0.5, 5.0, 0.8, 3.0, 4000, 52.0
    lam, p = rng.gamma(r, 1 / alpha, n), rng.beta(a, b, n)
    x, t_x = np.zeros(n), np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T:
                break
            x[i], t_x[i] = x[i] + 1, t
            if rng.random() < p[i]:
                break
    fitted = BetaGeoModel().fit(x, t_x, np.full(n, T)).params_
    assert fitted["r"] == pytest.approx(r, rel=0.2) and fitted["alpha"] == pytest.approx(alpha, rel=0.3)


def test_weights_equal_repeated_rows(summary):
    head = summary.head(400)
    repeated = pd.concat([head, head.iloc[:100]])
    weights = np.r_[np.full(100, 2.0), np.ones(300)]
    by_rows = BetaGeoModel().fit(repeated["frequency"], repeated["recency"], repeated["T"]).params_
    by_weights = BetaGeoModel().fit(head["frequency"], head["recency"], head["T"], weights=weights).params_
    for name in by_rows:
        assert by_weights[name] == pytest.approx(by_rows[name], rel=1e-3)
