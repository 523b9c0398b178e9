""""Buy 'til you die" models: BG/NBD, Pareto/NBD (how often, and for how long, a customer buys) and
Gamma-Gamma (how much per purchase), fitted by maximum likelihood.

Inputs per customer, in one time unit (weeks for CDNOW):
    frequency  x    repeat purchases (purchases after the first; same-day purchases merged)
    recency    t_x  time from the first to the last purchase (0 when x = 0)
    T               time from the first purchase to the end of the observation window
Every likelihood is computed in log space (gammaln, betaln, logaddexp) so large x or long T
cannot overflow; parameters are optimised as logs, which keeps them positive.

References: Fader, Hardie & Lee (2005) "Counting your customers the easy way" (BG/NBD);
Schmittlein, Morrison & Colombo (1987) and Fader & Hardie (2005) "A note on deriving the
Pareto/NBD model" (Pareto/NBD); Fader, Hardie & Lee (2005) "RFM and CLV" (Gamma-Gamma).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1, logsumexp
from sklearn.base import BaseEstimator


class BTYDInputError(ValueError):
    """Frequency / recency / T arrays that no BTYD model can describe."""


def check_rfm(frequency, recency, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Float arrays, or a BTYDInputError naming the first rows that break the model's assumptions."""
    x, t_x, T = (np.asarray(a, dtype=np.float64).ravel() for a in (frequency, recency, T))
    if not (len(x) == len(t_x) == len(T)):
        raise BTYDInputError(f"frequency, recency and T differ in length: {len(x)}, {len(t_x)}, {len(T)}")
    problems = {
        "a value is missing or infinite": ~(np.isfinite(x) & np.isfinite(t_x) & np.isfinite(T)),
        "frequency is negative or not a whole number": (x < 0) | (x != np.round(x)),
        "recency is negative": t_x < 0,
        "recency is after T (a purchase after the end of the observation window)": t_x > T + 1e-9,
        "T is not positive": T <= 0,
        "recency is not 0 for a customer with no repeat purchase": (x == 0) & (t_x != 0),
    }
    for reason, bad in problems.items():
        if bad.any():
            rows = np.flatnonzero(bad)[:5].tolist()
            raise BTYDInputError(f"{int(bad.sum())} customers: {reason} (rows {rows})")
    if len(x) and not (x > 0).any():
        raise BTYDInputError(
            f"all {len(x)} customers have a single purchase (frequency 0): there is no repeat behaviour to fit"
        )
    return x, t_x, T


class _CountingModel(BaseEstimator):
    """Shared fitting loop: minimise the mean negative log-likelihood over log-parameters."""

    param_names: tuple[str, ...] = ()
    _start: tuple[float, ...] = ()

    def __init__(self, penalizer: float = 0.0, max_iter: int = 2000):
        self.penalizer = penalizer  # L2 on the parameters; 0 = plain maximum likelihood
        self.max_iter = max_iter

    def fit(self, frequency, recency, T, weights=None):
        x, t_x, T = check_rfm(frequency, recency, T)
        # Customers with identical (x, t_x, T) share one likelihood term: fit on the distinct rows, weighted.
        rows, counts = np.unique(np.stack([x, t_x, T], axis=1), axis=0, return_counts=True)
        w = counts.astype(np.float64) if weights is None else _group_weights(x, t_x, T, rows, weights)

        def objective(log_params):
            params = np.exp(log_params)
            ll = self._log_likelihood_terms(params, rows[:, 0], rows[:, 1], rows[:, 2])
            return -(w * ll).sum() / w.sum() + self.penalizer * (params**2).sum()

        start = np.log(self._start)
        # Nelder-Mead first (robust on flat ridges), then a quasi-Newton polish.
        result = minimize(objective, start, method="Nelder-Mead",
                          options={"maxiter": self.max_iter, "xatol": 1e-7, "fatol": 1e-10})
        result = minimize(objective, result.x, method="L-BFGS-B", options={"maxiter": self.max_iter})
        if not np.isfinite(result.fun):
            raise RuntimeError(f"{type(self).__name__} did not converge: {result.message}")
        self.params_ = dict(zip(self.param_names, np.exp(result.x).tolist()))
        self.log_likelihood_ = float(-result.fun * w.sum())
        self.n_customers_ = int(w.sum())
        return self

    def log_likelihood(self, frequency, recency, T) -> np.ndarray:
        """Per-customer log-likelihood under the fitted parameters."""
        x, t_x, T = (np.asarray(a, dtype=np.float64) for a in (frequency, recency, T))
        return self._log_likelihood_terms(self._params(), x, t_x, T)

    def _params(self) -> np.ndarray:
        return np.array([self.params_[k] for k in self.param_names])

    def _log_likelihood_terms(self, params, x, t_x, T) -> np.ndarray:
        raise NotImplementedError


def _group_weights(x, t_x, T, rows, weights) -> np.ndarray:
    keys = np.stack([x, t_x, T], axis=1)
    _, inverse = np.unique(keys, axis=0, return_inverse=True)
    return np.bincount(inverse.ravel(), weights=np.asarray(weights, dtype=np.float64), minlength=len(rows))


class BetaGeoModel(_CountingModel):
    """BG/NBD: while alive a customer buys at Poisson rate lambda ~ Gamma(r, alpha); after each
    purchase they drop out with probability p ~ Beta(a, b)."""

    param_names = ("r", "alpha", "a", "b")
    _start = (1.0, 1.0, 1.0, 1.0)

    def _log_likelihood_terms(self, params, x, t_x, T):
        r, alpha, a, b = params
        common = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        still_alive = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + T)
        # Dropped out right after the last purchase; only possible when there was a repeat purchase.
        # (np.where evaluates both branches: the floor keeps betaln finite for the unused x = 0 rows.)
        dropped = np.where(
            x > 0,
            betaln(a + 1, np.maximum(b + x - 1, 1e-12)) - betaln(a, b) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
        return common + np.logaddexp(still_alive, dropped)

    def expected_purchases(self, t) -> np.ndarray:
        """Unconditional E[X(t)]: purchases by a new customer in their first t periods."""
        r, alpha, a, b = self._params()
        t = np.asarray(t, dtype=np.float64)
        z = t / (alpha + t)
        return (a + b - 1) / (a - 1) * (1 - np.exp(r * np.log(alpha / (alpha + t))) * hyp2f1(r, b, a + b - 1, z))

    def probability_alive(self, frequency, recency, T) -> np.ndarray:
        r, alpha, a, b = self._params()
        x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (frequency, recency, T))
        log_odds_dead = (np.log(a) - np.log(np.maximum(b + x - 1, 1e-12))
                         + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)))
        return np.where(x > 0, np.exp(-np.logaddexp(0.0, log_odds_dead)), 1.0)

    def probability_no_purchase(self, t, frequency, recency, T) -> np.ndarray:
        """P(no purchase in (T, T + t] | x, t_x, T): dead, or alive with no Poisson event in t. Given alive,
        lambda's posterior is Gamma(r + x, alpha + T), so P(none | alive) = ((alpha + T) / (alpha + T + t))^(r + x)."""
        r, alpha, a, b = self._params()
        x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (frequency, recency, T))
        alive = self.probability_alive(x, t_x, T)
        return 1.0 - alive + alive * np.exp((r + x) * np.log((alpha + T) / (alpha + T + np.asarray(t, dtype=np.float64))))

    def conditional_expected_purchases(self, t, frequency, recency, T) -> np.ndarray:
        """E[purchases in (T, T + t] | x, t_x, T] (Fader, Hardie & Lee 2005, eq. 10)."""
        r, alpha, a, b = self._params()
        x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (frequency, recency, T))
        t = np.asarray(t, dtype=np.float64)
        z = t / (alpha + T + t)
        survive = np.exp((r + x) * np.log((alpha + T) / (alpha + T + t))) * hyp2f1(r + x, b + x, a + b + x - 1, z)
        return (a + b + x - 1) / (a - 1) * (1 - survive) * self.probability_alive(x, t_x, T)


class ParetoNBDModel(_CountingModel):
    """Pareto/NBD: purchases at Poisson rate lambda ~ Gamma(r, alpha) during an exponential
    lifetime with rate mu ~ Gamma(s, beta)."""

    param_names = ("r", "alpha", "s", "beta")
    _start = (1.0, 1.0, 1.0, 1.0)

    @staticmethod
    def _log_A0(params, x, t_x, T):
        """log of the paper's A0 term, the lifetime-ends-between-t_x-and-T part of the likelihood.

        A0 = F(t_x) - F(T) with F(u) = 2F1(r+s+x, c; r+s+x+1; |alpha-beta| / (max + u)) / (max + u)^(r+s+x),
        where c = s+1 if alpha >= beta else r+x. Written as a difference of logs (logsumexp with signs).
        """
        r, alpha, s, beta = params
        rsx = r + s + x
        if alpha >= beta:
            larger, gap, c = alpha, alpha - beta, s + 1
        else:
            larger, gap, c = beta, beta - alpha, r + x
        log_f_recency = np.log(hyp2f1(rsx, c, rsx + 1, gap / (larger + t_x))) - rsx * np.log(larger + t_x)
        log_f_T = np.log(hyp2f1(rsx, c, rsx + 1, gap / (larger + T))) - rsx * np.log(larger + T)
        return logsumexp([log_f_recency, log_f_T], axis=0, b=[np.ones_like(x), -np.ones_like(x)])

    def _log_likelihood_terms(self, params, x, t_x, T):
        r, alpha, s, beta = params
        common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        alive_at_T = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
        died_before_T = np.log(s) - np.log(r + s + x) + self._log_A0(params, x, t_x, T)
        return common + np.logaddexp(alive_at_T, died_before_T)

    def expected_purchases(self, t) -> np.ndarray:
        r, alpha, s, beta = self._params()
        t = np.asarray(t, dtype=np.float64)
        return r * beta / (alpha * (s - 1)) * (1 - (beta / (beta + t)) ** (s - 1))

    def probability_alive(self, frequency, recency, T) -> np.ndarray:
        params = self._params()
        r, alpha, s, beta = params
        x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (frequency, recency, T))
        log_odds_dead = (np.log(s) - np.log(r + s + x) + (r + x) * np.log(alpha + T) + s * np.log(beta + T)
                         + self._log_A0(params, x, t_x, T))
        return np.exp(-np.logaddexp(0.0, log_odds_dead))

    def conditional_expected_purchases(self, t, frequency, recency, T) -> np.ndarray:
        r, alpha, s, beta = self._params()
        x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (frequency, recency, T))
        t = np.asarray(t, dtype=np.float64)
        rate_while_alive = (r + x) * (beta + T) / ((alpha + T) * (s - 1))
        return rate_while_alive * (1 - ((beta + T) / (beta + T + t)) ** (s - 1)) * self.probability_alive(x, t_x, T)


class GammaGammaModel(BaseEstimator):
    """Gamma-Gamma spend model: each purchase's value ~ Gamma(p, nu), nu ~ Gamma(q, v) per customer.
    Fitted on customers with at least one repeat purchase, from their mean repeat-purchase value."""

    param_names = ("p", "q", "v")

    def __init__(self, penalizer: float = 0.0, max_iter: int = 2000):
        self.penalizer = penalizer
        self.max_iter = max_iter

    @staticmethod
    def _check(frequency, monetary_value) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(frequency, dtype=np.float64).ravel()
        m = np.asarray(monetary_value, dtype=np.float64).ravel()
        if len(x) != len(m):
            raise BTYDInputError(f"frequency and monetary_value differ in length: {len(x)}, {len(m)}")
        bad = (x > 0) & ~(m > 0)
        if bad.any():
            raise BTYDInputError(
                f"{int(bad.sum())} repeat customers have a mean spend that is not positive (rows "
                f"{np.flatnonzero(bad)[:5].tolist()}); net refunds out or drop them before fitting Gamma-Gamma"
            )
        return x, m

    def fit(self, frequency, monetary_value):
        x, m = self._check(frequency, monetary_value)
        repeat = x > 0  # one-purchase customers carry no information about spend variation: left out
        if repeat.sum() < 3:
            raise BTYDInputError(f"Gamma-Gamma needs customers with repeat purchases; found {int(repeat.sum())}")
        x, m = x[repeat], m[repeat]

        def objective(log_params):
            params = np.exp(log_params)
            return -self._log_likelihood_terms(params, x, m).mean() + self.penalizer * (params**2).sum()

        result = minimize(objective, np.zeros(3), method="Nelder-Mead",
                          options={"maxiter": self.max_iter, "xatol": 1e-7, "fatol": 1e-10})
        result = minimize(objective, result.x, method="L-BFGS-B", options={"maxiter": self.max_iter})
        self.params_ = dict(zip(self.param_names, np.exp(result.x).tolist()))
        self.log_likelihood_ = float(-result.fun * len(x))
        self.n_customers_ = int(len(x))
        self.n_excluded_ = int((~repeat).sum())
        return self

    @staticmethod
    def _log_likelihood_terms(params, x, m):
        p, q, v = params
        px = p * x
        return (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v)
                + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * np.log(x * m + v))

    def conditional_expected_value(self, frequency, monetary_value) -> np.ndarray:
        """Expected value of a future purchase: a weighted mean of the population mean p*v/(q-1)
        and the customer's own mean, trusting the customer more the more they have bought."""
        p, q, v = (self.params_[k] for k in self.param_names)
        x = np.asarray(frequency, dtype=np.float64)
        m = np.nan_to_num(np.asarray(monetary_value, dtype=np.float64))
        return p * (v + x * m) / (p * x + q - 1)

    def customer_lifetime_value(self, transaction_model, frequency, recency, T, monetary_value,
                                horizon: float = 52.0, step: float = 4.345, discount_rate: float = 0.01) -> np.ndarray:
        """Discounted expected value over `horizon` periods: purchases expected in each `step`-long slice
        (from the transaction model) x expected value per purchase, discounted by `discount_rate` per step."""
        x, t_x, T = (np.asarray(a, dtype=np.float64) for a in (frequency, recency, T))
        value_per_purchase = self.conditional_expected_value(x, monetary_value)
        total, previous = np.zeros_like(x), np.zeros_like(x)
        for i, end in enumerate(np.arange(step, horizon + 1e-9, step), start=1):
            cumulative = transaction_model.conditional_expected_purchases(end, x, t_x, T)
            total += (cumulative - previous) / (1 + discount_rate) ** i
            previous = cumulative
        return total * value_per_purchase
