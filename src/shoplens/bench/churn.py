"""Bench `churn-cdnow`: BTYD models vs the learned repurchase model on CDNOW, and churn flags on the simulator.

Parts (each a block of rows in the table, metrics prefixed by part):
1. published  BG/NBD, Pareto/NBD, Gamma-Gamma fitted on the 2,357-customer CDNOW sample (39-week calibration)
              vs the reference parameters and expectations of Fader, Hardie & Lee (as used by `lifetimes`' tests).
2. sample     39 + 39 weeks, 2,357 customers: total holdout repeat purchases, per-customer MAE, AUC of
              "any repeat purchase in the holdout". BTYD models are fitted on the sample's calibration data.
              The learned model reports ONE output (`fit_one_output`: its expected head, a blend of it with
              BG/NBD, or its point head, chosen by cross-validated Poisson deviance inside its training data),
              scored on all three metrics, in two variants:
              cross-sectional  trained on the holdout-period outcomes of the OTHER 21,213 customers of
                               CDNOW_master (90% of the same cohort; features as of 1997-09-30 -> purchase days in
                               1997-10-01..1998-06-30), scored on the sample (the other 10%): it never sees a
                               scored customer's holdout, but does see the scored period through other customers.
              temporal         trained on an earlier window of all 23,570 customers (features as of 1997-04-01 ->
                               purchase days in 1997-04-02..09-30, 26 weeks): nothing dated after the scored
                               calibration period is seen. Its 26-week forecast is carried to the 39-week holdout
                               by BG/NBD's own ratio E[X(39)] / E[X(26)] for that customer.
3. master     all 23,570 customers, same windows: cross-sectional by 5-fold cross-fitting (each customer's
              holdout predicted by a model trained on the other four folds, its output chosen inside them),
              and the same temporal model.
4. simulator  marketplace(2000 users, 500 items, 180 days, seed 0): flags as of day 150; truth = the user's
              churn date is on or before day 150. The learned model is trained on features as of day 120 ->
              any activity in days 120-150, so nothing after the scoring date is used. Compared with BG/NBD
              P(alive) on purchase days and on activity days, and the rule "silent for 30 days".
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.metrics import mean_poisson_deviance, precision_score, recall_score, roc_auc_score
from sklearn.model_selection import KFold

from shoplens.bench.harness import BenchResult
from shoplens.datasets import PublicDataset, load
from shoplens.customers.btyd import BetaGeoModel, GammaGammaModel, ParetoNBDModel
from shoplens.customers.churn import RepurchaseModel, out_of_fold_churn, threshold_for_precision
from shoplens.customers.features import customer_features, holdout_counts, purchases_from_events, rfm_summary
from shoplens.customers.profiles import item_text_vectors

DATASET = "cdnow-lifetimes"
CAL_END, HOLDOUT_END, HOLDOUT_WEEKS = "1997-09-30", "1998-06-30", 39.0
# The temporal variant's training window: the cohort's first purchases end 1997-03-25, so by 04-01 every
# customer has a row, and its labels end where the scored calibration period ends.
TEMPORAL_CUT = "1997-04-01"
TEMPORAL_WEEKS = (pd.Timestamp(CAL_END) - pd.Timestamp(TEMPORAL_CUT)).days / 7  # 26.0
POINT_QUANTILES = (0.5, 0.6, 0.7, 0.8)
# The outputs the learned model may report: name -> the expected head's share in a blend with BG/NBD's
# expectation (1: that head alone), or None for the point head.
OUTPUTS = {"expected": 1.0, "blend 0.75": 0.75, "blend 0.5": 0.5, "blend 0.25": 0.25, "point": None}
PUBLISHED = {
    "bgnbd": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
    "pareto_nbd": {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669},
    "gamma_gamma": {"p": 6.25, "q": 3.74, "v": 15.44},
    "bgnbd_conditional_x2_tx30.43_T38.86_t39": 1.226,
    "bgnbd_unconditional": {0.1429: 0.0078, 1: 0.0532, 3: 0.1506, 31.8571: 1.0405, 32: 1.0437, 78: 1.8576},
    "holdout_actual": 1882, "holdout_bgnbd": 1653,
}


def read_cdnow(data=None) -> PublicDataset:
    """The CDNOW tables through `shoplens.datasets.load` (data = the data root; default $SHOPLENS_DATA)."""
    return load(DATASET, root=data)


def master_transactions(cdnow: PublicDataset) -> pd.DataFrame:
    """Transactions (user_id, ts, value, qty) of all 23,570 customers."""
    return purchases_from_events(cdnow["events"]).rename(columns={"quantity": "qty"})


def sample_master_ids(cdnow: PublicDataset) -> np.ndarray:
    """Master ids of the 2,357 customers of the papers' 1/10 sample."""
    return cdnow["sample_events"]["master_user_id"].unique()


def _counting_metrics(predicted, actual) -> dict:
    predicted, actual = np.asarray(predicted, dtype=np.float64), np.asarray(actual, dtype=np.float64)
    return {"total": float(predicted.sum()), "mae": float(np.abs(predicted - actual).mean()),
            "auc_any_repeat": float(roc_auc_score(actual > 0, predicted))}


def _published_part(cdnow: PublicDataset, rows: list, metrics: dict) -> None:
    summary, with_value = cdnow["summary"], cdnow["summary_with_transactions"]
    x, t_x, T = summary["frequency"], summary["recency"], summary["T"]
    fitted = {"bgnbd": BetaGeoModel().fit(x, t_x, T), "pareto_nbd": ParetoNBDModel().fit(x, t_x, T),
              "gamma_gamma": GammaGammaModel().fit(with_value["x"], with_value["zbar"])}
    for name, model in fitted.items():
        for param, reference in PUBLISHED[name].items():
            ours = model.params_[param]
            rows.append({"part": "published", "what": f"{name}.{param}", "ours": ours, "published": reference,
                         "rel_err_%": 100 * abs(ours - reference) / reference})
            metrics[f"published.{name}.{param}"] = ours
    bg = fitted["bgnbd"]
    conditional = float(bg.conditional_expected_purchases(39, 2, 30.43, 38.86))
    rows.append({"part": "published", "what": "bgnbd E[X(39)|x=2,t_x=30.43,T=38.86]", "ours": conditional,
                 "published": PUBLISHED["bgnbd_conditional_x2_tx30.43_T38.86_t39"],
                 "rel_err_%": 100 * abs(conditional - 1.226) / 1.226})
    metrics["published.bgnbd.conditional_expectation"] = conditional
    for t, reference in PUBLISHED["bgnbd_unconditional"].items():
        ours = float(bg.expected_purchases(t))
        rows.append({"part": "published", "what": f"bgnbd E[X({t:g})]", "ours": ours, "published": reference,
                     "rel_err_%": 100 * abs(ours - reference) / reference})
    metrics["published.bgnbd.max_rel_err_%"] = max(r["rel_err_%"] for r in rows if r["what"].startswith("bgnbd"))


def _features_and_targets(master: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    # CDNOW lines have no order id: two identical lines on one day are two orders, so duplicates are kept.
    features = customer_features(master, CAL_END, duplicates="keep")
    counts = holdout_counts(master, CAL_END, HOLDOUT_END, users=features.index)
    return features, counts


def temporal_training_window(master: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """The temporal variant's training rows: features as of TEMPORAL_CUT -> purchase days in
    (TEMPORAL_CUT, CAL_END]. Built from the transactions dated on or before CAL_END only, so nothing from the
    scored holdout period can reach them."""
    calibration = master[pd.to_datetime(master["ts"]) <= pd.Timestamp(CAL_END)]
    features = customer_features(calibration, TEMPORAL_CUT, duplicates="keep")
    counts = holdout_counts(calibration.assign(ts=pd.to_datetime(calibration["ts"])), TEMPORAL_CUT, CAL_END,
                            users=features.index)
    return features, counts


def _bgnbd_expected(features: pd.DataFrame, *horizons: float) -> dict[float, np.ndarray]:
    """BG/NBD fitted on these customers' RFM: their conditional expected purchases in each of `horizons`."""
    x, t_x, T = (features[c] for c in ("frequency", "recency", "T"))
    bgnbd = BetaGeoModel().fit(x, t_x, T)
    return {h: np.asarray(bgnbd.conditional_expected_purchases(h, x, t_x, T)) for h in horizons}


@dataclass
class OneOutput:
    """The learned model as a user gets it: one forecast per customer, the OUTPUTS entry `output`: the expected
    (Tweedie) head, a blend w x that head + (1 - w) x BG/NBD's expectation, or the point (quantile) head."""
    model: RepurchaseModel
    output: str

    def predict(self, features: pd.DataFrame, bgnbd_expected) -> np.ndarray:
        """Purchases in the model's horizon; bgnbd_expected: BG/NBD's expectation over that horizon."""
        return _output(OUTPUTS[self.output], self.model.predict_expected(features), self.model.predict(features),
                       np.asarray(bgnbd_expected))


def _output(weight: float | None, expected: np.ndarray, point: np.ndarray, bgnbd: np.ndarray) -> np.ndarray:
    return point if weight is None else weight * expected + (1 - weight) * bgnbd


def fit_one_output(X: pd.DataFrame, y: pd.Series, horizon: float, model_kw: dict, n_folds: int = 3,
                   seed: int = 0) -> tuple[OneOutput, dict]:
    """Fit the learned model and choose the one output it reports, on its training rows only: out-of-fold
    predictions over `n_folds` folds give (1) the point head's quantile, the POINT_QUANTILES level with the
    lowest MAE (the median minimises MAE in theory but is 0 for most customers), then (2) the output among
    OUTPUTS with the lowest mean Poisson deviance — a proper score for a count forecast, and none
    of the three reported metrics. BG/NBD in a blend is fitted on the held fold's own RFM, as it is on the
    scored customers. Returns (the fitted OneOutput, the record of both choices)."""
    expected, bgnbd = np.zeros(len(X)), np.zeros(len(X))
    point = {q: np.zeros(len(X)) for q in POINT_QUANTILES}
    for fit_rows, check_rows in KFold(n_folds, shuffle=True, random_state=seed).split(X):
        for q in POINT_QUANTILES:
            fold = RepurchaseModel(horizon=horizon, **{**model_kw, "point_quantile": q})
            fold.fit(X.iloc[fit_rows], y.iloc[fit_rows])
            point[q][check_rows] = fold.predict(X.iloc[check_rows])
        expected[check_rows] = fold.predict_expected(X.iloc[check_rows])  # the same for every quantile
        bgnbd[check_rows] = _bgnbd_expected(X.iloc[check_rows], horizon)[horizon]
    actual = y.to_numpy(dtype=np.float64)
    cv_mae = {q: float(np.abs(point[q] - actual).mean()) for q in POINT_QUANTILES}
    quantile = min(cv_mae, key=cv_mae.get)
    # A forecast of exactly 0 has infinite deviance for a customer who buys; 0.001 keeps the score finite.
    deviance = {name: float(mean_poisson_deviance(actual, np.clip(_output(w, expected, point[quantile], bgnbd), 1e-3, None)))
                for name, w in OUTPUTS.items()}
    output = min(deviance, key=deviance.get)
    model = RepurchaseModel(horizon=horizon, **{**model_kw, "point_quantile": quantile}).fit(X, y)
    record = {"output": output, "point_quantile": quantile, "cv_mae_by_point_quantile": cv_mae,
              "cv_poisson_deviance_by_output": deviance, "training_customers": len(X), "horizon_weeks": horizon}
    return OneOutput(model, output), record


def _score(name: str, part: str, predicted, actual, rows: list, metrics: dict, label: str | None = None) -> dict:
    """Total, MAE and AUC of one forecast: a row (`label`, default `name`) and metrics "part.name.*"."""
    m = _counting_metrics(predicted, actual)
    rows.append({"part": part, "what": label or name, **m})
    metrics.update({f"{part}.{name}.{k}": v for k, v in m.items()})
    return m


def _beats(learned: dict, bgnbd: dict, actual: float) -> dict:
    return {"total": abs(learned["total"] - actual) < abs(bgnbd["total"] - actual), "mae": learned["mae"] < bgnbd["mae"],
            "auc": learned["auc_any_repeat"] > bgnbd["auc_any_repeat"]}


def _sample_part(features, counts, sample_ids, temporal: OneOutput, model_kw, rows, metrics) -> None:
    in_sample = features.index.isin(sample_ids)
    train_X, train_y, test_X, test_y = features[~in_sample], counts[~in_sample], features[in_sample], counts[in_sample]
    x, t_x, T = (test_X[c] for c in ("frequency", "recency", "T"))
    actual = float(test_y.sum())
    metrics["sample.actual_total"] = actual
    bgnbd = _bgnbd_expected(test_X, HOLDOUT_WEEKS, TEMPORAL_WEEKS)
    scored = {"bgnbd": _score("bgnbd", "sample", bgnbd[HOLDOUT_WEEKS], test_y, rows, metrics)}
    pareto = ParetoNBDModel().fit(x, t_x, T).conditional_expected_purchases(HOLDOUT_WEEKS, x, t_x, T)
    _score("pareto_nbd", "sample", pareto, test_y, rows, metrics)

    cross, metrics["sample.learned_cross_sectional.choice"] = fit_one_output(train_X, train_y, HOLDOUT_WEEKS, model_kw)
    scored["learned_cross_sectional"] = _score(
        "learned_cross_sectional", "sample", cross.predict(test_X, bgnbd[HOLDOUT_WEEKS]), test_y, rows, metrics,
        f"learned, cross-sectional: {cross.output}")
    carried = bgnbd[HOLDOUT_WEEKS] / bgnbd[TEMPORAL_WEEKS]  # BG/NBD's 39-week / 26-week expectation per customer
    scored["learned_temporal"] = _score(
        "learned_temporal", "sample", temporal.predict(test_X, bgnbd[TEMPORAL_WEEKS]) * carried, test_y, rows, metrics,
        f"learned, temporal: {temporal.output}")
    for variant in ("learned_cross_sectional", "learned_temporal"):
        metrics[f"sample.{variant}.beats_bgnbd"] = _beats(scored[variant], scored["bgnbd"], actual)
    # Each head of the cross-sectional model alone: a diagnostic of what the choice was between, not a model.
    for head, predicted in (("expected", cross.model.predict_expected(test_X)), ("point", cross.model.predict(test_X)),
                            ("p_active", cross.model.predict_active_proba(test_X))):
        _score(f"learned_cross_sectional_head_{head}", "sample", predicted, test_y, rows, metrics,
               f"learned, cross-sectional, {head} head alone (diagnostic)")


def _master_part(features, counts, temporal: OneOutput, model_kw, rows, metrics, n_folds: int = 5) -> None:
    actual = float(counts.sum())
    metrics["master.actual_total"] = actual
    bgnbd = _bgnbd_expected(features, HOLDOUT_WEEKS, TEMPORAL_WEEKS)
    scored = {"bgnbd": _score("bgnbd", "master", bgnbd[HOLDOUT_WEEKS], counts, rows, metrics)}
    fold = np.random.default_rng(0).integers(0, n_folds, len(features))
    cross_fitted, choices = np.zeros(len(features)), []
    for k in range(n_folds):
        train, test = fold != k, fold == k
        model, record = fit_one_output(features[train], counts[train], HOLDOUT_WEEKS, model_kw)
        cross_fitted[test] = model.predict(features[test], bgnbd[HOLDOUT_WEEKS][test])
        choices.append(record)
    metrics["master.learned_cross_sectional.choice_by_fold"] = choices
    outputs = sorted({record["output"] for record in choices})
    scored["learned_cross_sectional"] = _score("learned_cross_sectional", "master", cross_fitted, counts, rows, metrics,
                                               f"learned, cross-sectional (5-fold): {', '.join(outputs)}")
    carried = bgnbd[HOLDOUT_WEEKS] / bgnbd[TEMPORAL_WEEKS]
    scored["learned_temporal"] = _score(
        "learned_temporal", "master", temporal.predict(features, bgnbd[TEMPORAL_WEEKS]) * carried, counts, rows, metrics,
        f"learned, temporal: {temporal.output}")
    for variant in ("learned_cross_sectional", "learned_temporal"):
        metrics[f"master.{variant}.beats_bgnbd"] = _beats(scored[variant], scored["bgnbd"], actual)


def simulator_churn(n_users: int = 2000, n_items: int = 500, days: int = 180, seed: int = 0,
                    score_day: int = 150, horizon_days: int = 30, target_precision: float = 0.5,
                    model_kw: dict | None = None) -> tuple[list[dict], dict]:
    """Churn flags vs the simulator's true churn dates (see module doc, part 4)."""
    from shoplens.datasets.synthetic import marketplace

    market = marketplace(n_users=n_users, n_items=n_items, days=days, seed=seed)
    events = market.tables["events"]
    purchases = events[events["event"] == "purchase"].drop(columns="event")
    start = market.truth.start
    score_at, train_at = start + pd.Timedelta(days=score_day), start + pd.Timedelta(days=score_day - horizon_days)
    # Embeddings of what was bought: static-encoder item vectors, 8 principal components.
    vectors = item_text_vectors(market.tables["items"])
    bought_vectors = pd.DataFrame(PCA(8, random_state=seed).fit_transform(vectors), index=vectors.index)
    later = events[(events["ts"] > train_at) & (events["ts"] <= score_at)]
    churn_at = market.truth.users.set_index("user_id")["churn_at"]
    scores, validation = {}, None
    for name, item_vectors in (("learned", None), ("learned + bought-item embeddings", bought_vectors)):
        kw = dict(events=events, now=market.truth.end, item_vectors=item_vectors)
        train = customer_features(purchases, train_at, **kw)
        active = train.index.isin(later["user_id"].astype("string").unique())
        counts = holdout_counts(purchases, train_at, score_at, users=train.index)
        model = RepurchaseModel(horizon=horizon_days / 7, **(model_kw or {}))
        if validation is None:
            validation = out_of_fold_churn(model, train, counts, active), ~active
        model.fit(train, counts, active)
        current = customer_features(purchases, score_at, **kw)
        scores[name] = model.predict_churn_proba(current)
    churned = (churn_at.reindex(current.index.astype(str)) <= score_at).to_numpy()

    x, t_x, T = (current[c] for c in ("frequency", "recency", "T"))
    scores["bgnbd on purchase days (1 - P(alive))"] = 1 - BetaGeoModel().fit(x, t_x, T).probability_alive(x, t_x, T)
    # The same model on days with ANY activity (views, carts...), which are far more frequent than purchases.
    activity = rfm_summary(events[["user_id", "ts"]], score_at, now=market.truth.end, duplicates="keep")
    activity_bg = BetaGeoModel().fit(activity["frequency"], activity["recency"], activity["T"])
    activity_alive = pd.Series(activity_bg.probability_alive(activity["frequency"], activity["recency"], activity["T"]),
                               index=activity.index)
    scores["bgnbd on activity days (1 - P(alive))"] = 1 - activity_alive.reindex(current.index).to_numpy()
    # The rule of thumb a shop would use without a model: no activity for one horizon.
    scores["rule (weeks since last activity / horizon)"] = current["event_since_last"].to_numpy() / (horizon_days / 7)
    rows, metrics = [], {"customers": len(current), "truly_churned": int(churned.sum())}
    threshold = threshold_for_precision(*validation, target_precision)
    for name, risk in scores.items():
        cut = 1.0 if name.startswith("rule") else 0.5  # the rule flags after one silent horizon
        cuts = {f"risk >= {cut:g}": cut}
        if name == "learned":  # the precision threshold is set on out-of-fold predictions of the training window
            cuts[f"threshold for precision {target_precision:g} (set on training window)"] = threshold
        for label, cut in cuts.items():
            flag = risk >= cut
            row = {"part": "simulator", "what": f"{name}, {label}", "flagged": int(flag.sum()),
                   "precision": float(precision_score(churned, flag, zero_division=0)),
                   "recall": float(recall_score(churned, flag, zero_division=0)),
                   "auc": float(roc_auc_score(churned, risk))}
            rows.append(row)
            metrics[f"{name.split(' (')[0].replace(' ', '_')}.{label.split(' (')[0].replace(' ', '_')}"] = {
                k: row[k] for k in ("flagged", "precision", "recall", "auc")}
    return rows, metrics


def run(quick: bool = False, data=None, seed: int = 0) -> BenchResult:
    """quick: published parameters + the 2,357-customer comparison (both variants) with fewer trees, and a
    smaller simulator; no master part."""
    started = time.perf_counter()
    cdnow = read_cdnow(data)
    model_kw = {"random_state": seed, **({"n_estimators": 150, "learning_rate": 0.06} if quick else {})}
    rows, metrics = [], {}
    _published_part(cdnow, rows, metrics)
    master = master_transactions(cdnow)
    features, counts = _features_and_targets(master)
    temporal, metrics["learned_temporal.choice"] = fit_one_output(*temporal_training_window(master), TEMPORAL_WEEKS,
                                                                  model_kw)
    _sample_part(features, counts, sample_master_ids(cdnow), temporal, model_kw, rows, metrics)
    if not quick:
        _master_part(features, counts, temporal, model_kw, rows, metrics)
    sim_rows, sim_metrics = simulator_churn(n_users=800 if quick else 2000, seed=seed, model_kw=model_kw)
    rows += sim_rows
    metrics.update({f"simulator.{k}": v for k, v in sim_metrics.items()})
    protocol = ("CDNOW: 39-week calibration (1997-01-01..09-30) + 39-week holdout (..1998-06-30), purchases = "
                "distinct purchase days, repeat only; the learned model reports one output, chosen by "
                "cross-validated Poisson deviance inside its training rows, scored on total, MAE and AUC; "
                "cross-sectional: trained on other customers' holdout outcomes (sample: 90% of the cohort, the 21,213 "
                "non-sample master customers, scored on the other 10%; master: 5-fold by customer); temporal: trained on "
                f"every customer's features as of {TEMPORAL_CUT} -> purchase days to {CAL_END} ({TEMPORAL_WEEKS:g} "
                "weeks), nothing from the scored holdout seen, carried to 39 weeks by BG/NBD's E[X(39)]/E[X(26)]; "
                "simulator: score at day 150, train on day 120 -> activity in days 120-150, truth = churn date <= day 150")
    return BenchResult(suite="churn-cdnow", dataset=DATASET + " + simulator", protocol=protocol, metrics=metrics,
                       baselines={"published": {k: v for k, v in PUBLISHED.items() if k != "bgnbd_unconditional"}},
                       seconds=time.perf_counter() - started, rows=rows)
