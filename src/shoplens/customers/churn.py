"""Learned repurchase and churn model (LightGBM) and the early-warning list built on it.

`RepurchaseModel` learns from one labelled window (features as of a cut-off -> purchases in the
following `horizon`) and scores customers as of a later cut-off. It has three heads over the same
features, because the best point forecast depends on the loss it is judged by:
    expected purchases   Tweedie regression: the conditional MEAN (totals, value at risk)
    P(active)            binary: any purchase (or activity) in the horizon; churn risk = 1 - P(active)
    point forecast       conditional quantile `point_quantile`: for absolute error (the median is MAE-optimal
                         in theory; choose the level by cross-validation, as bench/churn.py does). Totals
                         come from the expected head: a quantile is 0 for most customers.
BG/NBD's expectation and P(alive), fitted on the same training window, are features too (a stacked blend).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import StratifiedKFold

from shoplens.customers.btyd import BetaGeoModel
from shoplens.customers.features import clean_transactions, customer_features, holdout_counts, purchase_days

RFM = ["frequency", "recency", "T"]
MIN_RISK_SPREAD = 1e-3  # churn risks closer than this over all customers rank nobody: a constant, not a warning
BTYD_FEATURES = ("bg_expected", "bg_alive")  # BG/NBD's expectation and P(alive) as features (btyd_features=True)


class RepurchaseModel(BaseEstimator):
    def __init__(self, horizon: float = 39.0, n_estimators: int = 300, learning_rate: float = 0.03,
                 num_leaves: int = 15, min_child_samples: int = 100, subsample: float = 0.8,
                 colsample_bytree: float = 0.8, tweedie_variance_power: float = 1.5, point_quantile: float = 0.7,
                 btyd_features: bool = True, random_state: int = 0, n_jobs: int = 1):
        self.horizon = horizon  # in the features' time unit
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.tweedie_variance_power = tweedie_variance_power
        self.point_quantile = point_quantile
        self.btyd_features = btyd_features
        self.random_state = random_state
        self.n_jobs = n_jobs  # 1 by default: LightGBM's threads thrash badly on a shared, busy machine

    def _lgb_params(self, objective: str, **extra) -> dict:
        return dict(objective=objective, n_estimators=self.n_estimators, learning_rate=self.learning_rate,
                    num_leaves=self.num_leaves, min_child_samples=self.min_child_samples, subsample=self.subsample,
                    subsample_freq=1, colsample_bytree=self.colsample_bytree, random_state=self.random_state,
                    n_jobs=self.n_jobs, verbose=-1, **extra)

    def fit(self, features: pd.DataFrame, counts, active=None):
        """features: `customer_features` as of the training cut-off; counts: purchases in the following
        horizon (same rows); active: optional bool target for the churn head (default counts > 0)."""
        counts = np.asarray(counts, dtype=np.float64)
        if len(counts) != len(features):
            raise ValueError(f"features has {len(features)} rows but counts has {len(counts)}")
        active = counts > 0 if active is None else np.asarray(active, dtype=bool)
        if active.all() or not active.any():
            raise ValueError("the training window needs both customers who came back and customers who did not")
        self.btyd_params_, self.dropped_features_ = None, {}
        if self.btyd_features:
            if (features["frequency"] > 0).any():
                # RFM columns BG/NBD cannot describe are bad data: its BTYDInputError names the rows. A customer
                # first seen on the cut-off day (T = 0) is not: they are scored, just not fitted on
                seen = features[features["T"] > 0]
                self.btyd_params_ = BetaGeoModel().fit(*(seen[c] for c in RFM)).params_
            else:
                # legitimately unavailable (a young shop): the learned heads still work on the raw features
                reason = "no customer in the training window has a repeat purchase, so BG/NBD has nothing to fit"
                self.dropped_features_ = dict.fromkeys(BTYD_FEATURES, reason)
                warnings.warn(f"RepurchaseModel: features {', '.join(BTYD_FEATURES)} dropped: {reason}",
                              UserWarning, stacklevel=2)
        X = self._design(features)
        self.feature_names_ = list(X.columns)
        self.expected_ = lgb.LGBMRegressor(**self._lgb_params(
            "tweedie", tweedie_variance_power=self.tweedie_variance_power)).fit(X, counts)
        self.active_ = lgb.LGBMClassifier(**self._lgb_params("binary")).fit(X, active)
        self.point_ = lgb.LGBMRegressor(**self._lgb_params("quantile", alpha=self.point_quantile)).fit(X, counts)
        return self

    def _design(self, features: pd.DataFrame) -> pd.DataFrame:
        X = features.select_dtypes(include="number").astype(np.float64)
        if self.btyd_params_ is not None:
            bg = BetaGeoModel()
            bg.params_ = self.btyd_params_
            x, t_x, T = (X[c].to_numpy() for c in RFM)
            X[BTYD_FEATURES[0]] = bg.conditional_expected_purchases(self.horizon, x, t_x, T)
            X[BTYD_FEATURES[1]] = bg.probability_alive(x, t_x, T)
        if hasattr(self, "feature_names_"):
            X = X.reindex(columns=self.feature_names_)  # columns a scoring window lacks become NaN
        return X

    def predict_expected(self, features: pd.DataFrame) -> np.ndarray:
        """Expected purchases in the next `horizon`."""
        return np.clip(self.expected_.predict(self._design(features)), 0, None)

    def predict_active_proba(self, features: pd.DataFrame) -> np.ndarray:
        return self.active_.predict_proba(self._design(features))[:, 1]

    def predict_churn_proba(self, features: pd.DataFrame) -> np.ndarray:
        """P(no purchase/activity in the next `horizon`)."""
        return 1.0 - self.predict_active_proba(features)

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """Point forecast of purchases in the next `horizon` (the `point_quantile` quantile; see module doc)."""
        return np.clip(self.point_.predict(self._design(features)), 0, None)

    def churn_reasons(self, features: pd.DataFrame, k: int = 3) -> pd.DataFrame:
        """Top-k features pushing each customer's churn risk UP, from LightGBM's SHAP values
        (pred_contrib=True, log-odds of staying active; a negative contribution to staying = a churn reason)."""
        columns = [f"reason_{n + 1}" for n in range(k)]
        if features.empty:
            return pd.DataFrame(columns=columns, index=features.index, dtype=object)
        X = self._design(features)
        contrib = self.active_.booster_.predict(X, pred_contrib=True)[:, :-1]  # last column is the bias
        toward_churn = -contrib
        order = np.argsort(-toward_churn, axis=1)[:, :k]
        names, values = np.array(self.feature_names_), X.to_numpy()
        rows = []
        for i, top in enumerate(order):
            rows.append([f"{names[j]}={values[i, j]:.3g} (+{toward_churn[i, j]:.2f})"
                         for j in top if toward_churn[i, j] > 0] + [""] * k)
        return pd.DataFrame([r[:k] for r in rows], index=features.index, columns=columns)

    def save(self, path: str | Path) -> None:
        """LightGBM text models + JSON config (no pickle)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        for head in ("expected_", "active_", "point_"):
            getattr(self, head).booster_.save_model(str(path / f"{head.rstrip('_')}.txt"))
        config = {"params": self.get_params(), "btyd_params": self.btyd_params_, "feature_names": self.feature_names_,
                  "dropped_features": self.dropped_features_}
        (path / "config.json").write_text(json.dumps(config, indent=2))

    @classmethod
    def load(cls, path: str | Path) -> "RepurchaseModel":
        path = Path(path)
        config = json.loads((path / "config.json").read_text())
        model = cls(**config["params"])
        model.btyd_params_, model.feature_names_ = config["btyd_params"], config["feature_names"]
        model.dropped_features_ = config.get("dropped_features", {})  # absent in models saved before it existed
        for head, wrapper in (("expected", _BoosterRegressor), ("active", _BoosterClassifier), ("point", _BoosterRegressor)):
            setattr(model, f"{head}_", wrapper(lgb.Booster(model_file=str(path / f"{head}.txt"))))
        return model


class _BoosterRegressor:
    """The slice of the sklearn wrapper a loaded model needs: predict and booster_."""

    def __init__(self, booster: lgb.Booster):
        self.booster_ = booster

    def predict(self, X):
        return self.booster_.predict(X)


class _BoosterClassifier(_BoosterRegressor):
    def predict_proba(self, X):
        p = self.booster_.predict(X)
        return np.column_stack([1 - p, p])


# ------------------------------------------------------------------------------------------ early warning


def threshold_for_precision(churn_proba, churned, target_precision: float) -> float:
    """Lowest risk threshold whose precision (share of flagged customers who really churned) reaches the
    target on labelled data; flags as many customers as possible at that precision. inf when unreachable."""
    p, y = np.asarray(churn_proba, dtype=np.float64), np.asarray(churned, dtype=bool)
    order = np.argsort(-p, kind="stable")
    precision = np.cumsum(y[order]) / np.arange(1, len(p) + 1)
    ok = np.flatnonzero(precision >= target_precision)
    return float(p[order][ok[-1]]) if len(ok) else float("inf")


def out_of_fold_churn(model: RepurchaseModel, features: pd.DataFrame, counts, active=None, n_folds: int = 3) -> np.ndarray:
    """Churn probabilities for the training window itself, each from a model that did not see that row."""
    counts = np.asarray(counts, dtype=np.float64)
    active = counts > 0 if active is None else np.asarray(active, dtype=bool)
    oof = np.zeros(len(features))
    for train, valid in StratifiedKFold(n_folds, shuffle=True, random_state=model.random_state).split(features, active):
        fold = clone(model).fit(features.iloc[train], counts[train], active[train])
        oof[valid] = fold.predict_churn_proba(features.iloc[valid])
    return oof


def value_if_retained(features: pd.DataFrame, horizon: float) -> pd.Series:
    """Spend the customer would bring in `horizon` at their historical spend rate (per unit of time since
    their first purchase, at least one unit)."""
    spend = features["net_spend"] if "net_spend" in features else features.get("spend_total")
    if spend is None:
        return pd.Series(np.nan, index=features.index)
    return spend.clip(lower=0) / features["T"].clip(lower=1.0) * horizon


def early_warning(model: RepurchaseModel, features: pd.DataFrame, *, precision: float | None = None,
                  budget: int | None = None, validation: tuple[np.ndarray, np.ndarray] | None = None,
                  k_reasons: int = 3) -> tuple[pd.DataFrame, dict]:
    """At-risk customers, most value at risk first, with their top churn reasons.

    precision: flag everyone above the threshold that reached this precision on `validation`
      = (churn probabilities, churned labels) of labelled customers (see `out_of_fold_churn`).
    budget: contact at most this many customers: among those more likely to churn than not (risk >= 0.5),
      the ones with the most expected value at risk.
    Returns (table, summary) where summary has the threshold, the number flagged and the value at risk.
    """
    if (precision is None) == (budget is None):
        raise ValueError("give exactly one of precision= (a target precision) or budget= (customers to contact)")
    risk = pd.Series(model.predict_churn_proba(features), index=features.index, name="churn_risk")
    value = value_if_retained(features, model.horizon)
    table = pd.DataFrame({"churn_risk": risk, "value_if_retained": value,
                          "value_at_risk": risk * value.fillna(0),
                          "expected_purchases": model.predict_expected(features)})
    if precision is not None:
        if validation is None:
            raise ValueError("precision= needs validation=(churn probabilities, churned labels) to set the threshold")
        threshold = threshold_for_precision(*validation, precision)
        flagged = table[table["churn_risk"] >= threshold]
    else:
        if budget < 0:
            raise ValueError(f"budget must be a non-negative number of customers, got {budget}")
        flagged = table[table["churn_risk"] >= 0.5].nlargest(budget, "value_at_risk")
        threshold = float(flagged["churn_risk"].min()) if len(flagged) else float("inf")
    flagged = flagged.sort_values("value_at_risk", ascending=False)
    flagged = flagged.join(model.churn_reasons(features.loc[flagged.index], k=k_reasons))
    summary = {"threshold": threshold, "flagged": int(len(flagged)), "customers": int(len(table)),
               "value_at_risk": float(flagged["value_at_risk"].sum())}
    return flagged, summary


class BetaGeoChurn:
    """The churn rule used when the learned model cannot be trusted (a young or small shop): BG/NBD fitted on
    the customers' purchase histories; churn risk = P(no purchase in the next `horizon` | history).
    Four parameters shared by everyone, so it works where LightGBM's trees cannot split. The interface
    `early_warning` reads: predict_churn_proba, predict_expected, churn_reasons, horizon."""

    name = "BG/NBD"

    def __init__(self, horizon: float = 39.0, time_unit_days: float = 7.0):
        self.horizon = horizon  # in the features' time unit
        self.time_unit_days = time_unit_days

    def fit(self, features: pd.DataFrame) -> "BetaGeoChurn":
        if not (features["frequency"] > 0).any():
            raise ValueError("churn needs repeat customers: nobody bought on two different days, so neither the "
                             "learned model nor BG/NBD can tell who comes back")
        first_seen_before = features[features["T"] > 0]  # a customer whose first purchase is today says nothing yet
        self.model_ = BetaGeoModel().fit(*(first_seen_before[c] for c in RFM))
        return self

    def _rfm(self, features: pd.DataFrame) -> list[np.ndarray]:
        return [features[c].to_numpy(dtype=np.float64) for c in RFM]

    def predict_churn_proba(self, features: pd.DataFrame) -> np.ndarray:
        return self.model_.probability_no_purchase(self.horizon, *self._rfm(features))

    def predict_expected(self, features: pd.DataFrame) -> np.ndarray:
        return self.model_.conditional_expected_purchases(self.horizon, *self._rfm(features))

    def churn_reasons(self, features: pd.DataFrame, k: int = 3) -> pd.DataFrame:
        """What BG/NBD's risk rests on: time since the last purchase, repeat purchase days, P(alive)."""
        x, t_x, T = self._rfm(features)
        alive = self.model_.probability_alive(x, t_x, T)
        rows = [[f"{(t - r) * self.time_unit_days:.0f} days since the last purchase", f"{n:.0f} repeat purchase days",
                 f"P(alive) {a:.2f}"][:k] for n, r, t, a in zip(x, t_x, T, alive)]
        return pd.DataFrame(rows, index=features.index, columns=[f"reason_{n + 1}" for n in range(min(k, 3))])


class RecencyChurn:
    """The last churn rule, for a shop where even BG/NBD sees every customer alike: the shop's own gaps
    between purchase days. A customer d days after their last purchase churns (no purchase in the next h
    days) with P(gap > d + h | gap > d) under the empirical distribution of the gaps; past the longest gap
    ever seen, 1. Gaps of customers who left are never completed, so this errs low: a rule, not a model.
    Expected purchases are not estimated (NaN)."""

    name = "recency"

    def __init__(self, horizon: float = 39.0, time_unit_days: float = 7.0):
        self.horizon = horizon  # in the features' time unit
        self.time_unit_days = time_unit_days

    def fit(self, gaps_days) -> "RecencyChurn":
        gaps = np.sort(np.asarray(gaps_days, dtype=np.float64))
        if not len(gaps):
            raise ValueError("churn needs repeat customers: nobody bought on two different days, so no rule can "
                             "tell who comes back")
        self.gaps_ = gaps
        return self

    def _days_since_last(self, features: pd.DataFrame) -> np.ndarray:
        return (features["T"] - features["recency"]).to_numpy(dtype=np.float64) * self.time_unit_days

    def _longer(self, days: np.ndarray) -> np.ndarray:
        return 1.0 - np.searchsorted(self.gaps_, days, side="right") / len(self.gaps_)

    def predict_churn_proba(self, features: pd.DataFrame) -> np.ndarray:
        since = self._days_since_last(features)
        still, later = self._longer(since), self._longer(since + self.horizon * self.time_unit_days)
        return np.where(still > 0, later / np.maximum(still, 1e-12), 1.0)  # no purchase in h: the gap outlasts d + h

    def predict_expected(self, features: pd.DataFrame) -> np.ndarray:
        return np.full(len(features), np.nan)

    def churn_reasons(self, features: pd.DataFrame, k: int = 3) -> pd.DataFrame:
        since = self._days_since_last(features)
        rows = [[f"{d:.0f} days since the last purchase", f"{s:.0%} of the shop's repeat gaps are longer"][:k]
                for d, s in zip(since, self._longer(since))]
        return pd.DataFrame(rows, index=features.index, columns=[f"reason_{n + 1}" for n in range(min(k, 2))])


def churn_report(transactions: pd.DataFrame, as_of, horizon_days: float = 90.0, *, events: pd.DataFrame | None = None,
                 precision: float | None = None, budget: int | None = None, time_unit_days: float = 7.0,
                 model: RepurchaseModel | None = None, **clean_kw) -> tuple[pd.DataFrame, dict]:
    """The whole early-warning job from raw transactions, with no look into the future:
    train on (features as of as_of - horizon -> activity in the following horizon), set the precision
    threshold from out-of-fold predictions of that window, then score everyone as of `as_of`.

    When the learned model cannot work or says nothing — less history than the horizon, a labelled window
    where nobody (or everybody) came back, or the same risk for every customer (too few customers for its
    trees) — the summary's `warning` says why and the risks come from `BetaGeoChurn` (summary `model`)."""
    as_of = pd.Timestamp(as_of)
    train_cut = as_of - pd.Timedelta(days=horizon_days)
    horizon = horizon_days / time_unit_days
    kw = dict(events=events, time_unit_days=time_unit_days, **clean_kw)
    current = customer_features(transactions, as_of, **kw)
    model = model or RepurchaseModel(horizon=horizon)
    model.set_params(horizon=horizon)
    ts = pd.to_datetime(transactions["ts"])
    train = counts = validation = fallback = None
    if not (ts <= train_cut).any():
        fallback = (f"the learned model learns from purchases before {train_cut:%Y-%m-%d} (the last {horizon_days:g} "
                    f"days are its labels) and the first purchase is on {ts.min():%Y-%m-%d}: it needs more than "
                    f"{horizon_days:g} days of purchases, or a shorter horizon")
    else:
        train = customer_features(transactions, train_cut, **kw)
        counts = holdout_counts(transactions.assign(ts=ts), train_cut, as_of, users=train.index)
        came_back = int((counts > 0).sum())
        if came_back in (0, len(counts)):
            fallback = (f"in the labelled window ({train_cut:%Y-%m-%d} to {as_of:%Y-%m-%d}) "
                        f"{'no' if came_back == 0 else 'every'} customer bought again, so there is nothing to learn "
                        "who churns from")
        else:
            model.fit(train, counts)
            risk = model.predict_churn_proba(current)
            if np.ptp(risk) < MIN_RISK_SPREAD:
                fallback = (f"the learned model gives every customer the same churn risk ({np.median(risk):.3f}): "
                            f"{len(train):,} customers in its training window are too few for its trees "
                            f"(at least {2 * model.min_child_samples:,} with min_child_samples="
                            f"{model.min_child_samples})")
            elif precision is not None:
                validation = (out_of_fold_churn(model, train, counts), counts.to_numpy() == 0)
    if fallback is None:
        table, summary = early_warning(model, current, precision=precision, budget=budget, validation=validation)
        return table, {**summary, "model": "learned (LightGBM)", "warning": None,
                       "trained_on": f"features as of {train_cut:%Y-%m-%d} -> purchases to {as_of:%Y-%m-%d}"}
    rules = {"BG/NBD": lambda features, cut: BetaGeoChurn(horizon, time_unit_days).fit(features),
             "recency": lambda features, cut: RecencyChurn(horizon, time_unit_days).fit(
                 repeat_gaps_days(transactions, cut, **clean_kw))}
    kind, rule = "BG/NBD", rules["BG/NBD"](current, as_of)
    described = f"BG/NBD's chance of no purchase in the next {horizon_days:g} days"
    risk = rule.predict_churn_proba(current)
    if np.ptp(risk) < MIN_RISK_SPREAD:  # BG/NBD too can see everyone alike (same rates, nobody dropping out)
        fallback += f"; BG/NBD too gives every customer the same risk ({np.median(risk):.3f})"
        kind, rule = "recency", rules["recency"](current, as_of)
        described = (f"the recency rule: the share of the shop's repeat-purchase gaps longer than the customer's "
                     f"time since their last purchase plus {horizon_days:g} days, among those longer than it")
    if precision is not None:
        if train is None or not ((counts > 0).any() and (counts == 0).any()):
            raise ValueError(f"a target precision needs a labelled window to set its threshold, and {fallback}; "
                             "flag by budget instead")
        validation = (rules[kind](train, train_cut).predict_churn_proba(train), counts.to_numpy() == 0)
    table, summary = early_warning(rule, current, precision=precision, budget=budget, validation=validation)
    return table, {**summary, "model": f"{kind} (fallback)", "warning": f"{fallback}; churn risk is {described} instead",
                   "trained_on": f"{kind} on purchases to {as_of:%Y-%m-%d}"}


def repeat_gaps_days(transactions: pd.DataFrame, as_of, **clean_kw) -> np.ndarray:
    """Days between consecutive purchase days of the same customer, up to `as_of`."""
    tx, _ = clean_transactions(transactions, as_of, **clean_kw)
    days = purchase_days(tx)
    return (days.groupby("user_id")["day"].diff().dropna() / pd.Timedelta(days=1)).to_numpy()
