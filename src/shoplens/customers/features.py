"""Per-customer features as of a cut-off: RFM, inter-purchase times, recent activity, refunds,
behaviour events and (optionally) embeddings of what was bought.

Transactions are a DataFrame with one row per order line: `user_id`, `ts`, and optionally
`value` (money; negative = refund), `qty`, `item_id`. Canonical `events` convert with
`purchases_from_events`. A customer "purchase" in counts and the BTYD summary is a distinct
purchase DAY (same-day orders merged), the convention of the CDNOW papers.

Nothing after `as_of` is ever read when building features, so the same function builds
training windows (cut-off in the past, targets after it) and scoring windows (cut-off = now).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

DAY = pd.Timedelta(days=1)


class TransactionDataError(ValueError):
    """Transactions that cannot be used as given; the message names the problem and the rows."""


@dataclass
class CleaningReport:
    rows_in: int
    duplicates: int = 0  # exact duplicate rows (or repeated event_id), dropped or kept per policy
    refunds: int = 0  # rows with a negative value
    refund_amount: float = 0.0
    future_rows: int = 0  # dated after `now`, dropped when future="drop"
    after_cutoff: int = 0  # after `as_of`: outside the feature window, not read
    rows_used: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def _rows(mask) -> list[int]:
    return np.flatnonzero(np.asarray(mask))[:5].tolist()


def purchases_from_events(events: pd.DataFrame, items: pd.DataFrame | None = None) -> pd.DataFrame:
    """Canonical events -> transactions: `purchase` rows, plus `refund` rows with their value made negative.

    A shop's events often carry no money: a missing `value` is the item's list price when `items` has one;
    a `value` column with no value at all is dropped (spend unknown, counts and recency still work)."""
    missing = {"user_id", "event", "ts"} - set(events.columns)
    if missing:
        raise TransactionDataError(f"events lack the column(s) {sorted(missing)}")
    kept = events[events["event"].isin(["purchase", "refund"])].copy()
    if "value" in kept and items is not None and {"item_id", "price"} <= set(items.columns) and "item_id" in kept:
        list_price = kept["item_id"].map(items.drop_duplicates("item_id").set_index("item_id")["price"])
        kept["value"] = pd.to_numeric(kept["value"], errors="coerce").fillna(list_price)
    if "value" in kept and kept["value"].isna().all():
        kept = kept.drop(columns=["value"])
    if "value" in kept:
        refund = kept["event"].eq("refund")
        kept.loc[refund, "value"] = -kept.loc[refund, "value"].abs()
    return kept.drop(columns=["event"])


def clean_transactions(
    transactions: pd.DataFrame,
    as_of=None,
    *,
    now=None,
    duplicates: str = "drop",
    refunds: str = "net",
    future: str = "error",
) -> tuple[pd.DataFrame, CleaningReport]:
    """Validate, then (cleaned rows up to `as_of`, report of everything counted or dropped).

    duplicates: "drop" | "keep" | "error" — exact duplicate rows (same event_id when that column exists).
      Use "keep" for data without order ids where two identical lines are two real orders (CDNOW).
    refunds:    "net" (negative values are refunds: not purchases, subtracted from net spend) | "error".
    future:     "error" | "drop" — rows dated after `now` (default: the current time).
    """
    for name, value, allowed in (("duplicates", duplicates, ("drop", "keep", "error")),
                                 ("refunds", refunds, ("net", "error")), ("future", future, ("error", "drop"))):
        if value not in allowed:
            raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
    missing = {"user_id", "ts"} - set(transactions.columns)
    if missing:
        raise TransactionDataError(
            f"transactions lack the column(s) {sorted(missing)}; expected user_id, ts and optionally value, qty, item_id"
        )
    tx = transactions.reset_index(drop=True).copy()
    report = CleaningReport(rows_in=len(tx))
    tx["user_id"] = tx["user_id"].astype("string")
    if tx["user_id"].isna().any():
        raise TransactionDataError(f"{int(tx['user_id'].isna().sum())} rows have no user_id (rows {_rows(tx['user_id'].isna())})")
    ts = pd.to_datetime(tx["ts"], errors="coerce")
    if ts.isna().any():
        raise TransactionDataError(f"{int(ts.isna().sum())} rows have a missing or unreadable ts (rows {_rows(ts.isna())})")
    tx["ts"] = ts
    if "value" in tx:
        value = pd.to_numeric(tx["value"], errors="coerce")
        if value.isna().any() or not np.isfinite(value).all():
            bad = value.isna() | ~np.isfinite(value.fillna(0))
            raise TransactionDataError(f"{int(bad.sum())} rows have a missing or non-numeric value (rows {_rows(bad)})")
        tx["value"] = value.astype(np.float64)
        negative = tx["value"] < 0
        report.refunds, report.refund_amount = int(negative.sum()), float(-tx.loc[negative, "value"].sum())
        if negative.any() and refunds == "error":
            raise TransactionDataError(f"{report.refunds} rows have a negative value (refunds) (rows {_rows(negative)})")

    now = pd.Timestamp.now() if now is None else pd.Timestamp(now)
    is_future = tx["ts"] > now
    report.future_rows = int(is_future.sum())
    if report.future_rows:
        if future == "error":
            raise TransactionDataError(
                f"{report.future_rows} rows are dated after now ({now:%Y-%m-%d %H:%M}) (rows {_rows(is_future)}); "
                "fix the clock/timezone or pass future='drop'"
            )
        tx = tx[~is_future]

    key = ["event_id"] if "event_id" in tx and tx["event_id"].notna().all() else list(tx.columns)
    is_duplicate = tx.duplicated(subset=key)
    report.duplicates = int(is_duplicate.sum())
    if report.duplicates and duplicates == "error":
        raise TransactionDataError(f"{report.duplicates} duplicate transactions (rows {_rows(is_duplicate)})")
    if duplicates == "drop":
        tx = tx[~is_duplicate]

    if as_of is not None:
        after = tx["ts"] > pd.Timestamp(as_of)
        report.after_cutoff = int(after.sum())
        tx = tx[~after]
    report.rows_used = len(tx)
    return tx.reset_index(drop=True), report


def purchase_days(tx: pd.DataFrame) -> pd.DataFrame:
    """One row per (user, purchase day), sorted, with that day's gross spend and quantity when known.
    Refund rows (negative value) are not purchases."""
    purchases = tx if "value" not in tx else tx[tx["value"] >= 0]
    days = purchases.assign(day=purchases["ts"].dt.floor("D"))
    agg = {name: (column, "sum") for name, column in (("spend", "value"), ("qty", "qty")) if column in days}
    if not agg:
        return days[["user_id", "day"]].drop_duplicates().sort_values(["user_id", "day"], ignore_index=True)
    return days.groupby(["user_id", "day"], sort=True).agg(**agg).reset_index()


def rfm_summary(transactions: pd.DataFrame, as_of, time_unit_days: float = 7.0, **clean_kw) -> pd.DataFrame:
    """BTYD inputs per customer (index user_id): frequency (repeat purchase days), recency (first to last
    purchase), T (first purchase to `as_of`), all in units of `time_unit_days`, and monetary_value
    (mean spend of the repeat purchase days, 0 without repeats — the Gamma-Gamma convention).
    `clean_kw` go to `clean_transactions` (duplicates=, refunds=, future=, now=)."""
    tx, _ = clean_transactions(transactions, as_of, **clean_kw)
    return _rfm(purchase_days(tx), pd.Timestamp(as_of), pd.Timedelta(days=time_unit_days))


def _rfm(days: pd.DataFrame, as_of: pd.Timestamp, unit: pd.Timedelta) -> pd.DataFrame:
    if days.empty:
        raise TransactionDataError(f"no purchases on or before {as_of:%Y-%m-%d}")
    grouped = days.groupby("user_id", sort=True)
    first, last = grouped["day"].min(), grouped["day"].max()
    out = pd.DataFrame({
        "frequency": grouped.size() - 1,
        "recency": (last - first) / unit,
        "T": (as_of.floor("D") - first) / unit,
    })
    if "spend" in days:
        repeat_spend = grouped["spend"].sum() - grouped["spend"].first()
        out["monetary_value"] = np.where(out["frequency"] > 0, repeat_spend / out["frequency"].clip(lower=1), 0.0)
    return out


def holdout_counts(transactions: pd.DataFrame, start, end, users=None) -> pd.Series:
    """Purchase days per user in (start, end] — the target a repeat-purchase model predicts. `ts` must be
    datetimes; refunds are not counted, duplicates cannot inflate a count of days."""
    tx = transactions[(transactions["ts"] > pd.Timestamp(start)) & (transactions["ts"] <= pd.Timestamp(end))]
    counts = purchase_days(tx).groupby("user_id").size()
    if users is not None:
        counts = counts.reindex(pd.Index(users, name="user_id"), fill_value=0)
    return counts.rename("holdout_purchases")


def customer_features(
    transactions: pd.DataFrame,
    as_of,
    *,
    events: pd.DataFrame | None = None,
    item_vectors: pd.DataFrame | None = None,
    time_unit_days: float = 7.0,
    windows: tuple[float, ...] = (4, 13, 26),
    **clean_kw,
) -> pd.DataFrame:
    """One row per customer with a purchase on or before `as_of` (index user_id).

    Times are in `time_unit_days` units (weeks by default); `windows` are look-back lengths in those units.
    events: canonical events (views, carts, ...) for behaviour counts; item_vectors: DataFrame indexed by
    item_id (e.g. text embeddings reduced to a few dimensions) — the mean vector of what each customer bought.
    `clean_kw` go to `clean_transactions` (duplicates=, refunds=, future=, now=).
    """
    as_of = pd.Timestamp(as_of)
    tx, _ = clean_transactions(transactions, as_of, **clean_kw)
    unit = pd.Timedelta(days=time_unit_days)
    days = purchase_days(tx)
    feats = _rfm(days, as_of, unit)
    feats["since_last"] = feats["T"] - feats["recency"]
    feats["purchase_days"] = feats["frequency"] + 1
    feats["rate"] = feats["frequency"] / feats["T"].clip(lower=1.0)

    gaps = days.groupby("user_id")["day"].diff() / unit  # inter-purchase times
    by_user = gaps.groupby(days["user_id"])
    feats["gap_mean"] = by_user.mean()
    feats["gap_std"] = by_user.std()
    feats["gap_last"] = by_user.last()
    # Silence measured in the customer's own rhythm: 3 = three usual gaps without a purchase.
    feats["overdue"] = feats["since_last"] / feats["gap_mean"]
    age = (as_of.floor("D") - days["day"]) / unit
    for w in windows:
        feats[f"days_last_{w:g}"] = (age <= w).groupby(days["user_id"]).sum()
    if "spend" in days:
        spend = days.groupby("user_id")["spend"]
        feats["spend_total"] = spend.sum()
        feats["spend_first"] = spend.first()
        feats["spend_last"] = spend.last()
        feats["spend_max"] = spend.max()
        feats[f"spend_last_{windows[-1]:g}"] = days["spend"].where(age <= windows[-1], 0).groupby(days["user_id"]).sum()
        refunds = tx[tx["value"] < 0]
        feats["refunds"] = refunds.groupby("user_id").size()
        feats["net_spend"] = feats["spend_total"] + refunds.groupby("user_id")["value"].sum().reindex(feats.index).fillna(0)
    if "qty" in days:
        feats["qty_total"] = days.groupby("user_id")["qty"].sum()
    if "item_id" in tx:
        feats["distinct_items"] = tx.groupby("user_id")["item_id"].nunique()
    if events is not None and len(events):
        feats = feats.join(_behaviour_features(events, as_of, unit, windows))
    if item_vectors is not None and "item_id" in tx:
        feats = feats.join(_bought_item_vectors(tx, item_vectors))
    count_cols = [c for c in feats.columns if c.startswith(("days_last_", "refunds", "ev_"))]
    feats[count_cols] = feats[count_cols].fillna(0)
    return feats


def _behaviour_features(events: pd.DataFrame, as_of: pd.Timestamp, unit: pd.Timedelta, windows) -> pd.DataFrame:
    """Counts of each non-purchase event type in the longest and shortest windows, time since last event, sessions."""
    ev = events[pd.to_datetime(events["ts"]) <= as_of]
    ev = ev.assign(ts=pd.to_datetime(ev["ts"]), user_id=ev["user_id"].astype("string"))
    out = {"event_since_last": (as_of - ev.groupby("user_id")["ts"].max()) / unit}  # any event, purchases too
    ev = ev[~ev["event"].isin(["purchase", "refund"])]
    age = (as_of - ev["ts"]) / unit
    for w in sorted({windows[0], windows[-1]}):
        recent = ev[age <= w]
        counts = recent.groupby(["user_id", "event"]).size().unstack(fill_value=0)
        out.update({f"ev_{name}_{w:g}": counts[name] for name in counts.columns})
    if "session_id" in ev:
        out[f"ev_sessions_{windows[-1]:g}"] = ev[age <= windows[-1]].groupby("user_id")["session_id"].nunique()
    return pd.DataFrame(out)


def _bought_item_vectors(tx: pd.DataFrame, item_vectors: pd.DataFrame) -> pd.DataFrame:
    """Mean vector of the items each customer bought (items without a vector are skipped)."""
    bought = tx[["user_id", "item_id"]].astype({"item_id": "string"})
    vectors = item_vectors.set_axis(item_vectors.index.astype("string"))
    vectors.columns = [f"emb_{c}" for c in range(vectors.shape[1])]
    joined = bought.join(vectors, on="item_id", how="inner")
    return joined.drop(columns="item_id").groupby("user_id").mean()
