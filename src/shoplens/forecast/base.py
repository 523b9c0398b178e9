"""The forecasting contract: long frames over many series, one interface for every model.

Input (training) frame: one row per series and period,

    unique_id  ds         y        [exogenous columns: price, promo, is_holiday, ...]

Output (forecast) frame: one row per series and future period,

    unique_id  ds  yhat  [yhat_lo80  yhat_hi80 ...]  (central prediction interval of level L in %)

Every model is an sklearn-style estimator: hyper-parameters are explicit keywords, `fit(df)` returns self,
`predict(horizon, future=None, levels=(80,))` returns the output frame; `future` carries the exogenous
columns for the forecast periods (prices, promotions and holidays are known ahead).

`prepare(df, freq)` makes a clean, regular panel first and says what it changed (`DataReport`): missing
periods inside a series become y = 0 (no row = no sales), duplicate rows are summed, and series that are
too short or all zero are counted so the caller can report them. Negative y (returns) are kept — they are
real flows of goods or money — and counted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Protocol

import pandas as pd

ID, DS, Y = "unique_id", "ds", "y"


def interval_columns(level: int) -> tuple[str, str]:
    return f"yhat_lo{level}", f"yhat_hi{level}"


def level_quantiles(levels) -> list[float]:
    """The quantiles a set of central interval levels needs, e.g. 80 -> 0.1 and 0.9 (plus the median)."""
    qs = {0.5}
    for level in levels:
        qs |= {round(0.5 - level / 200, 4), round(0.5 + level / 200, 4)}
    return sorted(qs)


class Forecaster(Protocol):
    def fit(self, df: pd.DataFrame) -> "Forecaster": ...

    def predict(self, horizon: int, future: pd.DataFrame | None = None, levels=(80,)) -> pd.DataFrame: ...


@dataclass
class DataReport:
    series: int = 0
    rows_in: int = 0
    rows_out: int = 0
    gaps_filled: int = 0  # periods inside a series with no row, now y = 0
    duplicates_summed: int = 0
    negative_values: int = 0  # returns: kept as they are
    single_point_series: list = field(default_factory=list)  # forecast by repeating the value
    all_zero_series: list = field(default_factory=list)  # forecast as zero

    def to_dict(self, max_ids: int = 10) -> dict:
        out = asdict(self)
        for key in ("single_point_series", "all_zero_series"):
            out[key] = {"count": len(out[key]), "first": [str(x) for x in out[key][:max_ids]]}
        return out


def infer_freq(ds: pd.Series) -> str:
    """'D', 'W-FRI', 'MS' ...: pandas' guess on the most common step between distinct dates."""
    dates = pd.DatetimeIndex(pd.Series(ds).drop_duplicates().sort_values())
    step = pd.Series(dates).diff().mode()
    if step.empty:
        return "D"
    days = step.iloc[0].days
    if days == 7:
        return f"W-{dates[-1].day_name()[:3].upper()}"
    if 28 <= days <= 31:
        return "MS" if (dates.day == 1).all() else "ME"
    return "D" if days == 1 else f"{days}D"


def prepare(df: pd.DataFrame, freq: str | None = None) -> tuple[pd.DataFrame, DataReport]:
    """A regular panel: every series on every period from its first row to the panel's last date."""
    missing = {ID, DS, Y} - set(df.columns)
    if missing:
        raise ValueError(f"forecast input needs columns unique_id, ds, y; missing {sorted(missing)}")
    report = DataReport(rows_in=len(df))
    df = df.assign(**{DS: pd.to_datetime(df[DS]), Y: pd.to_numeric(df[Y], errors="coerce").astype("float64")})
    df = df.dropna(subset=[Y])
    freq = freq or infer_freq(df[DS])
    extra = [c for c in df.columns if c not in (ID, DS, Y)]
    size = df.groupby([ID, DS], sort=False).size()
    report.duplicates_summed = int((size - 1).sum())
    if report.duplicates_summed:  # several rows per period (e.g. several stores): sum y, average the rest
        agg = {Y: "sum", **{c: ("mean" if pd.api.types.is_numeric_dtype(df[c]) else "first") for c in extra}}
        df = df.groupby([ID, DS], as_index=False, sort=False).agg(agg)
    end = df[DS].max()
    starts = df.groupby(ID)[DS].min()
    grid = pd.concat(
        [pd.DataFrame({ID: uid, DS: pd.date_range(start, end, freq=freq)}) for uid, start in starts.items()],
        ignore_index=True,
    )
    out = grid.merge(df, on=[ID, DS], how="left")
    report.gaps_filled = int(out[Y].isna().sum())
    out[Y] = out[Y].fillna(0.0)
    for c in extra:  # prices and the like carry forward over gaps; flags are off
        if pd.api.types.is_numeric_dtype(out[c]):
            out[c] = out.groupby(ID)[c].ffill().fillna(0.0) if c in ("promo", "is_holiday") else out.groupby(ID)[c].ffill()
    out = out.sort_values([ID, DS], ignore_index=True)
    n = out.groupby(ID)[Y].agg(["size", lambda y: (y == 0).all()])
    n.columns = ["size", "all_zero"]
    report.series = len(n)
    report.rows_out = len(out)
    report.negative_values = int((out[Y] < 0).sum())
    report.single_point_series = n.index[n["size"] == 1].tolist()
    report.all_zero_series = n.index[n["all_zero"] & (n["size"] > 1)].tolist()
    out.attrs["freq"] = freq
    return out, report


def future_frame(df: pd.DataFrame, horizon: int, freq: str) -> pd.DataFrame:
    """The (unique_id, ds) rows of the next `horizon` periods after each series' last date."""
    last = df.groupby(ID)[DS].max()
    offset = pd.tseries.frequencies.to_offset(freq)
    rows = [pd.DataFrame({ID: uid, DS: pd.date_range(end + offset, periods=horizon, freq=freq)}) for uid, end in last.items()]
    return pd.concat(rows, ignore_index=True)


def fallback_forecast(df: pd.DataFrame, horizon: int, freq: str, levels=(80,)) -> pd.DataFrame:
    """Last value repeated, zero-width intervals: for series too short for any model (one point, all zero)."""
    fut = future_frame(df, horizon, freq)
    last = df.sort_values(DS).groupby(ID)[Y].last()
    fut["yhat"] = fut[ID].map(last).to_numpy()
    for level in levels:
        lo, hi = interval_columns(level)
        fut[lo] = fut[hi] = fut["yhat"]
    return fut


def to_long(sales: pd.DataFrame, level: str = "item", items: pd.DataFrame | None = None,
            freq: str | None = None) -> pd.DataFrame:
    """Canonical `sales(item_id, store_id, ts, qty, price, promo)` -> forecast input at a level of the
    hierarchy: "item" (summed over stores), "item_store", "store" or "category" (needs `items`)."""
    s = sales.copy()
    s["ts"] = pd.to_datetime(s["ts"])
    if freq and freq != "D":
        s["ts"] = s["ts"].dt.to_period(freq).dt.start_time
    if level == "item":
        key = s["item_id"].astype(str)
    elif level == "item_store":
        key = s["item_id"].astype(str) + "@" + s["store_id"].astype(str)
    elif level == "store":
        key = s["store_id"].astype(str)
    elif level == "category":
        if items is None:
            raise ValueError("level='category' needs the items table")
        key = s["item_id"].map(items.drop_duplicates("item_id").set_index("item_id")["category"]).fillna("unknown")
    else:
        raise ValueError(f"level must be item, item_store, store or category, got {level!r}")
    s[ID] = key.to_numpy()
    agg = {"qty": "sum"}
    agg.update({c: "mean" for c in ("price", "promo") if c in s})
    out = s.groupby([ID, "ts"], as_index=False).agg(agg).rename(columns={"ts": DS, "qty": Y})
    return out
