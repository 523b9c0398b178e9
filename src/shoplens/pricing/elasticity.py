"""Price elasticity: log-log demand regressions with controls, per segment and per item with shrinkage.

The demand model is the constant-elasticity one every pricing text starts from,

    log E[qty] = a + e * log(price) + controls,        e = d log(qty) / d log(price)

- `loglog_regression(df, terms)` fits it by OLS on log(qty) with any controls and interactions written as
  column-name tuples; `("log_price",), ("item_id",)` is the textbook orange-juice model with brand controls
  (Taddy's oj.R: elasticity -3.14).
- `ItemElasticity` fits one model per item on a daily sales panel (store, weekday and trend controls) by a
  Poisson GLM with a log link, because daily item x store sales are small counts with many zeros that
  log(qty) cannot take, then shrinks each item's estimate toward its segment's (empirical Bayes, as a
  random-effects meta-analysis: noisy items borrow strength, well-measured ones keep their own).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


# ---------------------------------------------------------------------------- design matrices
def _term_columns(df: pd.DataFrame, term: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Columns of one term: the product of its factors; a text factor expands to treatment dummies
    (first level in sorted order is the baseline)."""
    parts: dict[str, np.ndarray] = {"": np.ones(len(df))}
    for factor in term:
        values = df[factor]
        if values.dtype == object or isinstance(values.dtype, pd.CategoricalDtype) or values.dtype == bool:
            levels = sorted(pd.unique(values.astype(str)))[1:]
            dummies = {f"{factor}[{lv}]": (values.astype(str) == lv).to_numpy(float) for lv in levels}
        else:
            dummies = {factor: values.to_numpy(float)}
        parts = {":".join(filter(None, (name, d))): col * dcol for name, col in parts.items() for d, dcol in dummies.items()}
    return parts


def design_matrix(df: pd.DataFrame, terms: Sequence[tuple[str, ...]]) -> tuple[np.ndarray, list[str]]:
    """Intercept plus the columns of each term, like an R formula without its parser."""
    columns = {"intercept": np.ones(len(df))}
    for term in terms:
        columns.update(_term_columns(df, tuple(term)))
    return np.column_stack(list(columns.values())), list(columns)


def ols(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Coefficients, their classical standard errors, and R^2."""
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    dof = max(len(y) - X.shape[1], 1)
    sigma2 = resid @ resid / dof
    cov = sigma2 * np.linalg.pinv(X.T @ X)
    r2 = 1 - resid @ resid / np.sum((y - y.mean()) ** 2)
    return beta, np.sqrt(np.diag(cov)), float(r2)


def loglog_regression(df: pd.DataFrame, terms: Sequence[tuple[str, ...]] = (("log_price",),), *,
                      qty: str = "qty", price: str = "price") -> pd.DataFrame:
    """OLS of log(qty) on the terms; `log_price` is made from `price`. Rows with qty <= 0 or price <= 0 are
    dropped (and counted in the result's `attrs["dropped"]`): the log of a zero sale is undefined.

    Returns one row per coefficient (term, coef, se) with attrs r2, n, dropped."""
    ok = (df[qty] > 0) & (df[price] > 0)
    data = df.loc[ok].assign(log_price=np.log(df.loc[ok, price]))
    X, names = design_matrix(data, terms)
    beta, se, r2 = ols(X, np.log(data[qty].to_numpy(float)))
    out = pd.DataFrame({"term": names, "coef": beta, "se": se})
    out.attrs.update(r2=r2, n=int(ok.sum()), dropped=int((~ok).sum()))
    return out


# ---------------------------------------------------------------------------- per item, Poisson GLM
def poisson_glm(X: np.ndarray, y: np.ndarray, *, max_iter: int = 50, ridge: float = 1e-6, tol: float = 1e-8):
    """Poisson regression with log link by iteratively reweighted least squares.

    Returns coefficients and standard errors (sandwich with a Pearson over-dispersion factor, since
    retail counts are over-dispersed and plain Poisson errors would be too confident)."""
    mean_y = max(y.mean(), 1e-3)
    beta = np.zeros(X.shape[1])
    beta[0] = np.log(mean_y)  # column 0 is the intercept
    penalty = ridge * np.eye(X.shape[1])
    for _ in range(max_iter):
        mu = np.exp(np.clip(X @ beta, -30, 30))
        z = X @ beta + (y - mu) / mu  # working response
        XtW = X.T * mu
        new = np.linalg.solve(XtW @ X + penalty, XtW @ z)
        if np.max(np.abs(new - beta)) < tol:
            beta = new
            break
        beta = new
    mu = np.exp(np.clip(X @ beta, -30, 30))
    dispersion = max(np.sum((y - mu) ** 2 / mu) / max(len(y) - X.shape[1], 1), 1.0)
    cov = dispersion * np.linalg.pinv((X.T * mu) @ X + penalty)
    return beta, np.sqrt(np.diag(cov))


def _shrink(estimate: np.ndarray, se: np.ndarray) -> tuple[float, float, np.ndarray]:
    """Random-effects pooling (DerSimonian-Laird): segment mean, between-item variance tau^2, and each
    item's weight on its own estimate, tau^2 / (tau^2 + se^2)."""
    w = 1 / se**2
    fixed = np.sum(w * estimate) / np.sum(w)
    q = np.sum(w * (estimate - fixed) ** 2)
    tau2 = max(0.0, (q - (len(estimate) - 1)) / (np.sum(w) - np.sum(w**2) / np.sum(w))) if len(estimate) > 1 else 0.0
    w_re = 1 / (se**2 + tau2)
    mean = float(np.sum(w_re * estimate) / np.sum(w_re))
    return mean, tau2, tau2 / (tau2 + se**2)


class ItemElasticity:
    """Per-item price elasticities from a sales panel (item_id, store_id, ts, qty, price), shrunk per segment.

    segment: a column of `items` (e.g. "category"; its top level "a" of "a > b > c" is used) or None for one
    segment; controls: store dummies, weekday dummies and a per-item linear trend. Items whose price never
    moves have no elasticity to estimate: they get the segment mean and `identified = False`.
    """

    def __init__(self, *, segment: str | None = "category", segment_depth: int = 1, min_rows: int = 20,
                 min_price_spread: float = 0.02, clip: tuple[float, float] = (-8.0, 2.0)):
        self.segment = segment
        self.segment_depth = segment_depth
        self.min_rows = min_rows
        self.min_price_spread = min_price_spread
        self.clip = clip

    def _segments(self, item_ids: pd.Index, items: pd.DataFrame | None) -> pd.Series:
        if self.segment is None or items is None or self.segment not in items:
            return pd.Series("all", index=item_ids)
        seg = items.drop_duplicates("item_id").set_index("item_id")[self.segment].reindex(item_ids).fillna("unknown")
        return seg.astype(str).map(lambda p: " > ".join(p.split(" > ")[: self.segment_depth]))

    def fit(self, sales: pd.DataFrame, items: pd.DataFrame | None = None) -> "ItemElasticity":
        rows = []
        data = sales[(sales["price"] > 0) & sales["qty"].notna()]
        for item_id, g in data.groupby("item_id", sort=True):
            log_price = np.log(g["price"].to_numpy(float))
            spread = log_price.std()
            if len(g) < self.min_rows or spread < self.min_price_spread:
                rows.append((item_id, np.nan, np.nan, len(g)))
                continue
            controls = pd.DataFrame({
                "store": g["store_id"].astype(str).to_numpy() if "store_id" in g else "s",
                "weekday": pd.to_datetime(g["ts"]).dt.dayofweek.astype(str).to_numpy(),
                "trend": ((pd.to_datetime(g["ts"]) - pd.to_datetime(g["ts"]).min()).dt.days / 365.0).to_numpy(),
                "log_price": log_price - log_price.mean(),  # centred: the intercept stays well-conditioned
            })
            X, names = design_matrix(controls, [("store",), ("weekday",), ("trend",), ("log_price",)])
            qty = np.clip(g["qty"].to_numpy(float), 0, None)  # returns (negative qty) carry no demand signal
            beta, se = poisson_glm(X, qty)
            rows.append((item_id, beta[-1], se[-1], len(g)))
        est = pd.DataFrame(rows, columns=["item_id", "raw", "se", "n"]).set_index("item_id")
        est["segment"] = self._segments(est.index, items)
        est["identified"] = est["raw"].notna() & np.isfinite(est["se"]) & (est["se"] > 0)
        est["raw"] = est["raw"].clip(*self.clip)
        est["elasticity"] = np.nan
        segments = {}
        for seg, g in est[est["identified"]].groupby("segment"):
            mean, tau2, weight = _shrink(g["raw"].to_numpy(), g["se"].to_numpy())
            segments[seg] = {"segment": seg, "elasticity": mean, "tau": np.sqrt(tau2), "items": len(g)}
            est.loc[g.index, "elasticity"] = mean + weight * (g["raw"].to_numpy() - mean)
        overall = float(est.loc[est["identified"], "raw"].median()) if est["identified"].any() else -1.0
        seg_mean = est["segment"].map({k: v["elasticity"] for k, v in segments.items()}).fillna(overall)
        est["elasticity"] = est["elasticity"].fillna(seg_mean)
        self.items_ = est.reset_index()
        self.segments_ = pd.DataFrame(list(segments.values()))
        return self

    def elasticity(self, item_id: str) -> float:
        row = self.items_.loc[self.items_["item_id"] == item_id, "elasticity"]
        if row.empty:
            raise KeyError(f"no elasticity for item {item_id!r}: it has no sales rows")
        return float(row.iloc[0])
