"""Deterministic train/validation/test splits.

- `leave_one_out_split`: per user by time, last interaction = test, second-to-last = validation
  (the sequential-recommendation protocol of SASRec / S3-Rec).
- `temporal_split`: one global cut-off time; everything before trains, everything after tests.
- `stratified_split`: seeded random split that keeps label proportions (classification sets).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split


@dataclass
class Split:
    train: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "valid": len(self.valid), "test": len(self.test)}


def leave_one_out_split(
    events: pd.DataFrame, user_col: str = "user_id", time_col: str = "ts", min_events: int = 3
) -> Split:
    """Per user, ordered by time (ties keep input order): last row -> test, previous -> valid.

    Users with fewer than `min_events` rows keep everything in train: they cannot give a
    training history plus a validation and a test target.
    """
    ordered = events.assign(_pos=np.arange(len(events))).sort_values([user_col, time_col, "_pos"], kind="stable")
    from_end = ordered.groupby(user_col, sort=False).cumcount(ascending=False).to_numpy()
    n_per_user = ordered.groupby(user_col, sort=False)[user_col].transform("size").to_numpy()
    eligible = n_per_user >= min_events
    test_mask = eligible & (from_end == 0)
    valid_mask = eligible & (from_end == 1)
    parts = [ordered[m].drop(columns="_pos") for m in (~(test_mask | valid_mask), valid_mask, test_mask)]
    return Split(*parts)


def temporal_split(events: pd.DataFrame, cutoff, time_col: str = "ts", valid_cutoff=None) -> Split:
    """Rows with time < cutoff train, >= cutoff test. `cutoff` is a timestamp, or a float in (0, 1)
    meaning that quantile of the time column. With `valid_cutoff` (< cutoff), rows in
    [valid_cutoff, cutoff) form the validation set; otherwise it is empty."""
    times = events[time_col]
    cut = times.quantile(cutoff) if isinstance(cutoff, float) else pd.Timestamp(cutoff)
    vcut = cut if valid_cutoff is None else (
        times.quantile(valid_cutoff) if isinstance(valid_cutoff, float) else pd.Timestamp(valid_cutoff)
    )
    if vcut > cut:
        raise ValueError(f"valid_cutoff {vcut} is after cutoff {cut}")
    return Split(events[times < vcut], events[(times >= vcut) & (times < cut)], events[times >= cut])


def stratified_split(
    df: pd.DataFrame, label_col: str, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1), seed: int = 0
) -> Split:
    """Seeded split keeping the label proportions in each part; the same seed gives the same rows."""
    if not np.isclose(sum(fractions), 1.0) or min(fractions) < 0:
        raise ValueError(f"fractions must be non-negative and sum to 1, got {fractions}")
    train_frac, valid_frac, test_frac = fractions
    labels = df[label_col]
    rest_frac = valid_frac + test_frac
    train, rest = train_test_split(df, test_size=rest_frac, stratify=labels, random_state=seed)
    if valid_frac == 0:
        return Split(train, rest.iloc[:0], rest)
    if test_frac == 0:
        return Split(train, rest, rest.iloc[:0])
    valid, test = train_test_split(
        rest, test_size=test_frac / rest_frac, stratify=rest[label_col], random_state=seed
    )
    return Split(train, valid, test)
