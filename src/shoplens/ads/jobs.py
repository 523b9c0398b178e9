"""Workspace-level CTR jobs: what `shoplens ads fit|ctr|target` call.

    fit_ctr(ws, model="deepfm")                  # ad_impressions (+ items, + events for DIN) -> saved model
    predict_ctr(ws, user="u1", item="i9")        # calibrated click probability
    target_campaign(ws, category="美妆 > 护肤 > 面霜", budget=1000, frequency_cap=2)

Features: every column of `ad_impressions` except ts / clicked (ids and strings categorical, floats dense), the
item's `category` and `brand` from `items` when that table has rows, and, when there are events, the user's last
items strictly before each impression (DIN's sequence) and `recent_category_share`, the share of those items in
the ad item's category. That share is what lets a model tell an ad shown in context (the user is browsing the
category) from the same ad for a user who never looks at it: without it, every logged impression looks alike
and a campaign's CTR for untargeted users is forecast at the logged, in-context click rate (several times too
high on the simulator; docs/benchmarks.md, ctr). The newest `valid_share` of impressions (by ts) is held out
for early stopping and calibration, so the model is judged on the future, as it will be used. Models live in
`artifacts/models/ctr/<name>/` as tensors.safetensors + config.json.

A log too thin to learn from is said, never hidden: with fewer than MIN_CLICKS clicks (or impressions without
a click) to train on, or a validation part without both (its AUC is undefined), `fit_ctr` stores the named
click-rate prior (`ClickRatePrior`) instead of the asked model; a model whose CTR does not vary over the
validation impressions falls back to logistic regression, then to the prior. The saved model's `warnings_`
and `fitted_as_` ("prior (fallback)") say so, and `ctr` / `target` repeat them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shoplens.ads import MODELS, CTRModelBase, load_model
from shoplens.ads.targeting import activity_reach, choose_impressions, expected_click_candidates

ITEM_ATTRIBUTES = ("category", "brand")
MIN_CLICKS = 50  # clicks (and impressions without one) in the training part for a learnt model
MIN_CTR_SPREAD = 1e-4  # predicted CTRs closer than this over the validation impressions rank nothing
_TS_SHIFT = 2**34  # seconds since 1970 fit below this; user codes go above it in one sortable int64 key


def recent_items(impressions: pd.DataFrame, events: pd.DataFrame, max_history: int = 20) -> pd.Series:
    """For each impression, the item_ids of its user's last `max_history` events strictly before its ts
    (oldest first), as numpy arrays. Events without an item (searches) are skipped."""
    events = events[events["item_id"].notna() & events["user_id"].notna()]
    users = pd.Index(pd.unique(pd.concat([events["user_id"], impressions["user_id"]], ignore_index=True).astype(str)))
    seconds = lambda ts: pd.to_datetime(ts).to_numpy("datetime64[s]").astype(np.int64)  # noqa: E731
    event_key = users.get_indexer(events["user_id"].astype(str)) * _TS_SHIFT + seconds(events["ts"])
    order = np.argsort(event_key, kind="stable")
    event_key, event_items = event_key[order], events["item_id"].astype(str).to_numpy()[order]
    user_code = users.get_indexer(impressions["user_id"].astype(str))
    end = np.searchsorted(event_key, user_code * _TS_SHIFT + seconds(impressions["ts"]), side="left")
    start = np.maximum(np.searchsorted(event_key, user_code * _TS_SHIFT, side="left"), end - max_history)
    return pd.Series([event_items[s:e] for s, e in zip(start, end)], index=impressions.index, name="history")


def impressions_with_context(impressions: pd.DataFrame, items: pd.DataFrame | None = None,
                             events: pd.DataFrame | None = None, max_history: int = 20) -> pd.DataFrame:
    """Impressions plus item attributes (category, brand) and, when events are given, a `history` column."""
    out = impressions.reset_index(drop=True)
    if items is not None and len(items):
        attributes = [c for c in ITEM_ATTRIBUTES if c in items.columns and c not in out.columns]
        out = out.merge(items[["item_id", *attributes]].drop_duplicates("item_id"), on="item_id", how="left")
    if events is not None:
        out["history"] = recent_items(out, events, max_history).to_numpy()
        if "category" in out.columns and items is not None:
            out["recent_category_share"] = recent_category_share(out["history"], out["category"], items)
    return out


def recent_category_share(history: pd.Series, category: pd.Series, items: pd.DataFrame) -> np.ndarray:
    """Per row, the share of the recent items in `history` whose category is the row's `category` (0 with no
    history; items missing from `items` count as another category)."""
    category_of = pd.Series(items["category"].to_numpy(), index=items["item_id"].astype(str))
    category_of = category_of[~category_of.index.duplicated()]
    lengths = history.map(len).to_numpy()
    if lengths.sum() == 0:
        return np.zeros(len(history))
    row = np.repeat(np.arange(len(history)), lengths)
    history_categories = category_of.reindex(np.concatenate([np.asarray(h, dtype=str) for h in history])).to_numpy()
    same = history_categories == category.to_numpy()[row]
    return np.bincount(row, weights=same, minlength=len(history)) / np.maximum(lengths, 1)


def time_split(impressions: pd.DataFrame, valid_share: float = 0.1, test_share: float = 0.0) -> pd.Series:
    """"train" / "valid" / "test" per row: the newest rows by ts are test, the ones before them valid."""
    if "ts" not in impressions.columns or impressions["ts"].isna().all():
        rank = pd.Series(np.arange(len(impressions)) / max(len(impressions), 1), index=impressions.index)
    else:
        rank = impressions["ts"].rank(method="first", pct=True)
    split = np.where(rank > 1 - test_share, "test", np.where(rank > 1 - test_share - valid_share, "valid", "train"))
    return pd.Series(split, index=impressions.index, name="split")


def _workspace_impressions(ws, needs_history: bool, max_history: int) -> pd.DataFrame:
    impressions = ws.table("ad_impressions")
    if impressions.empty:
        raise ValueError(f"{ws.path}: the ad_impressions table is empty; ingest ad impressions first "
                         "(`shoplens ingest WS FILE --kind ad_impressions`)")
    events = ws.table("events")
    if needs_history and events.empty:
        raise ValueError(f"{ws.path}: DIN needs behaviour events, and the events table is empty")
    return impressions_with_context(impressions, ws.table("items"), events if len(events) else None, max_history)


def _reads_events(model: CTRModelBase) -> bool:
    """Whether the model's inputs are built from the events table (DIN's sequence, recent_category_share)."""
    return bool(model.encoder_.sequence) or "recent_category_share" in model.encoder_.dense


def fit_ctr(ws, model: str = "deepfm", *, name: str | None = None, valid_share: float = 0.1,
            calibration: str | None = "isotonic", seed: int = 0, verbose: bool = True, **params) -> CTRModelBase:
    """Train `model` (lr | fm | deepfm | dcnv2 | din) on the workspace's impressions, calibrate it on the
    newest `valid_share`, save it under artifacts/models/ctr/<name or model>/. Extra keywords are
    hyper-parameters. The returned model's `validation_` holds AUC, logloss and the uncalibrated model's ECE on
    the held-out impressions (after calibration on those same rows an ECE would be in-sample, so none is
    reported); `fitted_as_` names the model actually stored and `warnings_` why it is not the one asked for
    (module doc: too few clicks, AUC undefined, a constant CTR)."""
    from shoplens.ads.calibration import expected_calibration_error
    from shoplens.ads.prior import ClickRatePrior

    if model not in MODELS:
        raise ValueError(f"unknown CTR model {model!r}; choose from {sorted(MODELS)}")
    estimator = MODELS[model](seed=seed, verbose=verbose, **params)
    data = _workspace_impressions(ws, model == "din", getattr(estimator, "max_history", 20))
    split = time_split(data, valid_share)
    train, valid = data[split == "train"].drop(columns="ts"), data[split == "valid"].drop(columns="ts")
    if valid.empty or train.empty:
        raise ValueError(f"too few impressions ({len(data)}) to hold out a validation part")
    warnings = thin_log_warnings(train["clicked"], valid["clicked"], valid_share)
    fitted_as = model
    if warnings:
        estimator, fitted_as = ClickRatePrior(seed=seed), "prior (fallback)"
    estimator.fit(train, eval_set=valid)
    if not warnings:
        for fallback in [m for m in ("lr", "prior") if m != model]:
            spread = float(np.ptp(estimator.predict_ctr(valid, calibrated=False)))
            if spread >= MIN_CTR_SPREAD:
                break
            warnings.append(f"the {fitted_as} model gives every validation impression the same CTR (spread "
                            f"{spread:.1e} < {MIN_CTR_SPREAD:g}): it ranks nothing; trying {fallback} instead")
            estimator = (MODELS["lr"](seed=seed, verbose=verbose) if fallback == "lr" else ClickRatePrior(seed=seed))
            fitted_as = f"{fallback} (fallback)"
            estimator.fit(train, eval_set=valid)
    validation = {**estimator.score(valid),
                  "ece_uncalibrated": expected_calibration_error(valid["clicked"], estimator.predict_ctr(valid))}
    if calibration and not isinstance(estimator, ClickRatePrior):  # the prior is a click rate already
        estimator.calibrate(valid, method=calibration)
        if np.ptp(estimator.predict_ctr(valid)) < MIN_CTR_SPREAD <= np.ptp(estimator.predict_ctr(valid, calibrated=False)):
            estimator.calibrator_ = None
            warnings.append(f"{calibration} calibration on {len(valid):,} validation impressions made every CTR the "
                            "same; the model is kept uncalibrated")
    estimator.validation_ = validation
    estimator.warnings_, estimator.fitted_as_ = warnings, fitted_as
    estimator.save(ws.artifact_dir("models", "ctr", name or model))
    return estimator


def thin_log_warnings(train_clicks: pd.Series, valid_clicks: pd.Series, valid_share: float) -> list[str]:
    """Why a log is too thin for a learnt CTR model (empty when it is not): too few clicks or non-clicks to
    train on, or a validation part without both (AUC undefined, nothing to calibrate on)."""
    clicks, shown = int(train_clicks.sum()), len(train_clicks)
    if min(clicks, shown - clicks) < MIN_CLICKS:
        return [f"{clicks} clicks in {shown:,} training impressions: a learnt CTR model needs at least {MIN_CLICKS} "
                f"clicks and {MIN_CLICKS} impressions without one; CTR is the click-rate prior instead (each item's "
                "clicks / impressions shrunk towards the overall rate)"]
    valid = int(valid_clicks.sum())
    if valid in (0, len(valid_clicks)):
        return [f"AUC is undefined: the validation part (the newest {valid_share:.0%}, {len(valid_clicks):,} "
                f"impressions) has {'no clicks' if valid == 0 else 'only clicks'}, so no model can be checked or "
                "calibrated on it; CTR is the click-rate prior instead"]
    return []


def load_ctr(ws, name: str = "deepfm") -> CTRModelBase:
    path = ws.artifacts / "models" / "ctr" / name
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"no CTR model {name!r} in {ws.path}; train one with `shoplens ads fit {ws.path} --model {name}`")
    return load_model(path)


def serving_rows(model: CTRModelBase, users, items, impressions: pd.DataFrame, catalogue: pd.DataFrame | None = None,
                 events: pd.DataFrame | None = None, context: dict | None = None, at=None) -> pd.DataFrame:
    """One row per (user, item) pair (all pairs, user-major) with what the model reads: the item's most shown ad,
    its attributes, the user's recent items as of `at` (default: now), the user's usual device, `context`
    overrides, and the training table's most common value for anything else (position, placement ...)."""
    users, items = [str(u) for u in users], [str(i) for i in items]
    rows = pd.DataFrame({"user_id": np.repeat(users, len(items)), "item_id": np.tile(items, len(users))})
    fields = set(model.encoder_.categorical) | set(model.encoder_.dense)
    shown = impressions.assign(user_id=impressions["user_id"].astype(str), item_id=impressions["item_id"].astype(str))
    for key, column in (("item_id", "ad_id"), ("user_id", "device")):  # the item's usual ad, the user's usual device
        if column in fields and column in shown.columns:
            usual = shown.groupby([key, column]).size().reset_index(name="n").sort_values([key, "n", column])
            rows = rows.merge(usual.drop_duplicates(key, keep="last")[[key, column]], on=key, how="left")
    for key, value in (context or {}).items():
        rows[key] = value
    at = pd.Timestamp(at) if at is not None else pd.Timestamp.now().floor("s")
    rows = impressions_with_context(rows.assign(ts=at), catalogue, events if _reads_events(model) else None,
                                    model.encoder_.max_seq_len)
    return model.encoder_.with_defaults(rows.drop(columns="ts"))


def _workspace_serving_rows(ws, model: CTRModelBase, users, items, context=None, at=None) -> pd.DataFrame:
    events = ws.table("events") if _reads_events(model) else None
    return serving_rows(model, users, items, ws.table("ad_impressions"), ws.table("items"), events, context, at)


def predict_ctr(ws, user, item, *, model: str = "deepfm", context: dict | None = None) -> float:
    """Calibrated click probability of showing `item` to `user` (unknown ids use the out-of-vocabulary bucket)."""
    return ctr_report(ws, user, item, model=model, context=context)["ctr"]


def ctr_report(ws, user, item, *, model: str = "deepfm", context: dict | None = None) -> dict:
    """`predict_ctr` with what stands behind it: user_id, item_id, model (the saved name), fitted_as (the
    model stored under it, e.g. "prior (fallback)"), ctr, and the fit's warnings."""
    estimator = load_ctr(ws, model)
    probability = float(estimator.predict_ctr(_workspace_serving_rows(ws, estimator, [user], [item], context))[0])
    return {"user_id": str(user), "item_id": str(item), "model": model, "fitted_as": _fitted_as(estimator, model),
            "ctr": probability, "warnings": list(estimator.warnings_)}


def _fitted_as(estimator: CTRModelBase, name: str) -> str:
    return estimator.fitted_as_ or name  # models saved before fitted_as was recorded: the saved name


def target_campaign(ws, *, items=None, category: str | None = None, budget: int = 1000, frequency_cap: int = 1,
                    model: str = "deepfm", campaign_days: int = 7, context: dict | None = None,
                    at=None) -> pd.DataFrame:
    """Choose whom to show a campaign to. The campaign is a list of item ids or every item of `category` (a
    category path, a prefix of one such as "美妆", or its last level). Returns the chosen impressions, best
    first: user_id, item_id, ctr, reach (P(user shows up during the campaign)), expected_clicks = reach × ctr.
    attrs: `fitted_as` (the model stored under `model`) and `warnings` (the fit's, and a CTR that is the same for
    every candidate impression: then only reach ranks them)."""
    if (items is None) == (category is None):
        raise ValueError("give the campaign as items=[...] or category=..., exactly one of them")
    catalogue = ws.table("items")
    if category is not None:
        items = category_items(catalogue, category)
        if not items:
            raise ValueError(f"no items in category {category!r}")
    items = [str(i) for i in items]
    estimator = load_ctr(ws, model)
    events = ws.table("events")
    at = pd.Timestamp(at) if at is not None else (events["ts"].max() if len(events) else pd.Timestamp.now())
    reach = activity_reach(events, at, campaign_days) if len(events) else None
    users = ws.table("ad_impressions")["user_id"].astype(str).unique() if reach is None else reach.index
    ctr = estimator.predict_ctr(_workspace_serving_rows(ws, estimator, users, items, context, at))
    chosen = choose_impressions(expected_click_candidates(users, items, ctr, reach), budget, frequency_cap)
    warnings = list(estimator.warnings_)
    if len(ctr) > 1 and np.ptp(ctr) < MIN_CTR_SPREAD:
        warnings.append(f"the {_fitted_as(estimator, model)} model gives all {len(ctr):,} candidate impressions the "
                        f"same CTR ({float(ctr[0]):.4f}): they are ranked by the chance the user shows up alone")
    chosen.attrs.update(fitted_as=_fitted_as(estimator, model), warnings=warnings)
    return chosen


def _segments(path: str, separator: str = ">") -> tuple[str, ...]:
    """A category path compared level by level: whitespace around the separator and case do not matter."""
    return tuple(part.strip().lower() for part in str(path).split(separator) if part.strip())


def category_items(catalogue: pd.DataFrame, category: str) -> list[str]:
    """The item ids of a category given as a path or a prefix of whole levels ("美妆" and "美妆 > 面霜" match
    "美妆 > 面霜 > 晚霜", as search's category filter does), or as its last level alone ("面霜"). Levels may also
    be written with "/" ("美妆/面霜") when no category matches the text as written."""
    paths = catalogue["category"].fillna("").map(_segments)
    for wanted in dict.fromkeys((_segments(category), _segments(category, "/"))):
        if not wanted:
            continue
        n = len(wanted)
        chosen = paths.map(lambda path: path[:n] == wanted or (n == 1 and path[-1:] == wanted))
        if chosen.any():
            return catalogue.loc[chosen.to_numpy(), "item_id"].astype(str).tolist()
    return []


class ScoreImpressions:
    """`batch -> batch` scorer for large tables: adds a `ctr` column. Runs in a local loop or, unchanged, under
    Ray Data `map_batches(ScoreImpressions, fn_constructor_args=(path,), batch_format="pandas")`."""

    def __init__(self, path):
        self.model = load_model(path)

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        return batch.assign(ctr=self.model.predict_ctr(self.model.encoder_.with_defaults(batch)))
