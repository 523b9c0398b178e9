"""Turn an ad-impressions table into model inputs: categorical index matrix, dense matrix, behaviour sequences.

Every categorical field gets its own block of rows in ONE shared embedding table (field offsets, as in
FuxiCTR). Row 0 of each block is the out-of-vocabulary bucket: values rarer than `min_count` in training and
values never seen in training both land there, so a trained model scores any new user, item or ad. Missing
values (NaN / None / "") are their own value "<missing>", because "no value" often carries signal (Criteo).

Dense features: NaN -> 0, then sign(x)·log1p(|x|) (heavy-tailed counts), then standardised on training.
A sequence feature (DIN's recent items) is a column of id lists looked up in a categorical field's vocabulary
and right-aligned into a fixed-length array, 0 = padding (so indices are shifted by one).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shoplens.data.vocab import Vocab

MISSING = "<missing>"
OOV = "<oov>"
NOT_FEATURES = ("clicked", "label", "ts", "split")  # never inputs, even when present


@dataclass
class Batch:
    """Model inputs for n rows. categorical: [n, n_fields] int64 (global embedding rows); dense: [n, n_dense]
    float32; sequence: [n, seq_len] int64 (0 = padding, else 1 + index in `sequence_field`) or None."""

    categorical: np.ndarray
    dense: np.ndarray
    sequence: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.categorical)


def check_labels(y, name: str = "clicked") -> np.ndarray:
    """Labels as int64 0/1; anything else (NaN, 2, -1, 'yes') is an error naming the first offending rows."""
    values = pd.Series(y).reset_index(drop=True)
    numeric = pd.to_numeric(values, errors="coerce")
    bad = np.flatnonzero(~numeric.isin([0, 1]).to_numpy())
    if len(bad):
        shown = ", ".join(f"row {i}: {values.iloc[i]!r}" for i in bad[:5])
        raise ValueError(f"label column {name!r} must be 0 or 1; {len(bad)} rows are not ({shown})")
    return numeric.to_numpy(dtype=np.int64)


def infer_fields(df: pd.DataFrame, exclude=()) -> tuple[list[str], list[str]]:
    """(categorical, dense) columns: floats are dense, everything else (ids, ints, strings) categorical.
    Lists (sequence columns) and the label / timestamp / split columns are left out."""
    categorical, dense = [], []
    for column in df.columns:
        if column in NOT_FEATURES or column in exclude:
            continue
        first = df[column].dropna().iloc[0] if df[column].notna().any() else None
        if isinstance(first, (list, tuple, np.ndarray)):
            continue
        (dense if pd.api.types.is_float_dtype(df[column]) else categorical).append(column)
    return categorical, dense


def _as_keys(column: pd.Series) -> list[str]:
    """Categorical values as strings; ints and int-valued floats read the same ("3" not "3.0")."""
    if pd.api.types.is_integer_dtype(column) or pd.api.types.is_bool_dtype(column):
        return column.astype(np.int64).astype(str).tolist()  # fast path: Frappe, positions
    if pd.api.types.is_float_dtype(column):
        whole = column.notna() & (column == column.round())
        column = column.astype(object).where(~whole, column[whole].astype(np.int64).astype(str))
    keys = column.astype(object).where(column.notna(), MISSING).astype(str)
    return keys.where(keys != "", MISSING).tolist()


class FeatureEncoder:
    """Fit on training rows, then `transform` any rows (train, validation, serving) into a `Batch`."""

    def __init__(self, categorical=None, dense=None, sequence=None, min_count: int = 1, max_seq_len: int = 20):
        self.categorical = None if categorical is None else list(categorical)
        self.dense = None if dense is None else list(dense)
        self.sequence = dict(sequence or {})  # sequence column -> categorical field whose vocabulary it uses
        self.min_count = min_count
        self.max_seq_len = max_seq_len
        self.vocabs: dict[str, Vocab] = {}
        self.dense_mean: list[float] = []
        self.dense_std: list[float] = []
        self.defaults: dict[str, object] = {}  # most common value per field, for serving rows that lack it

    # ------------------------------------------------------------------ fit / transform
    def fit(self, df: pd.DataFrame) -> "FeatureEncoder":
        if len(df) == 0:
            raise ValueError("cannot fit features on an empty table")
        if self.categorical is None or self.dense is None:
            categorical, dense = infer_fields(df, exclude=self.sequence)
            self.categorical = categorical if self.categorical is None else self.categorical
            self.dense = dense if self.dense is None else self.dense
        self._check_columns(df)
        for field, source in self.sequence.items():
            if source not in self.categorical:
                raise ValueError(f"sequence column {field!r} uses field {source!r}, which is not a categorical field")
        if not self.categorical and not self.dense:
            raise ValueError("no feature columns: the table has only label / timestamp columns")
        for field in self.categorical:
            counts = pd.Series(_as_keys(df[field])).value_counts(sort=False)
            kept = counts.index[counts.to_numpy() >= self.min_count]
            self.vocabs[field] = Vocab([OOV, *sorted(kept)])  # sorted: the same table gives the same indices
            self.defaults[field] = counts.idxmax()
        for field in self.dense:
            self.defaults[field] = float(pd.to_numeric(df[field], errors="coerce").median())
        values = self._dense_values(df)
        self.dense_mean = values.mean(axis=0).tolist() if len(self.dense) else []
        self.dense_std = np.maximum(values.std(axis=0), 1e-6).tolist() if len(self.dense) else []
        return self

    def with_defaults(self, df: pd.DataFrame) -> pd.DataFrame:
        """`df` plus every feature column it lacks, filled with the training table's most common value (ids
        such as user_id or ad_id are better passed explicitly: their most common value is just one user)."""
        missing = {f: self.defaults[f] for f in [*self.categorical, *self.dense] if f not in df.columns}
        return df.assign(**missing) if missing else df

    def transform(self, df: pd.DataFrame) -> Batch:
        if not self.vocabs and not self.dense_mean:
            raise RuntimeError("FeatureEncoder is not fitted")
        self._check_columns(df)
        columns = [self.vocabs[f].lookup(_as_keys(df[f]), unknown=0) + self.offsets[i] for i, f in enumerate(self.categorical)]
        categorical = np.stack(columns, axis=1) if columns else np.zeros((len(df), 0), np.int64)
        dense = ((self._dense_values(df) - np.asarray(self.dense_mean)) / np.asarray(self.dense_std)).astype(np.float32)
        sequence = None
        for field, source in self.sequence.items():  # one sequence feature is what DIN uses
            sequence = self.encode_sequences(df[field], source)
        return Batch(categorical, dense.reshape(len(df), len(self.dense)), sequence)

    def encode_sequences(self, lists: pd.Series, source: str) -> np.ndarray:
        """Right-aligned [n, max_seq_len] array of 1 + local index in `source`'s vocabulary (0 = padding)."""
        vocab, out = self.vocabs[source], np.zeros((len(lists), self.max_seq_len), np.int64)
        for row, ids in enumerate(lists):
            if ids is None or (not isinstance(ids, (list, tuple, np.ndarray)) and pd.isna(ids)):
                continue
            ids = [str(i) for i in list(ids)[-self.max_seq_len:]]
            if ids:
                out[row, self.max_seq_len - len(ids):] = vocab.lookup(ids, unknown=0) + 1
        return out

    # ------------------------------------------------------------------ sizes
    @property
    def field_sizes(self) -> list[int]:
        return [len(self.vocabs[f]) for f in self.categorical]

    @property
    def offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.field_sizes)[:-1]]).astype(np.int64) if self.categorical else np.zeros(0, np.int64)

    @property
    def n_embeddings(self) -> int:
        return int(sum(self.field_sizes))

    def field_offset(self, field: str) -> int:
        return int(self.offsets[self.categorical.index(field)])

    # ------------------------------------------------------------------ persistence (JSON only)
    def to_dict(self) -> dict:
        return {
            "categorical": self.categorical,
            "dense": self.dense,
            "sequence": self.sequence,
            "min_count": self.min_count,
            "max_seq_len": self.max_seq_len,
            "vocabs": {f: v.to_dict() for f, v in self.vocabs.items()},
            "dense_mean": self.dense_mean,
            "dense_std": self.dense_std,
            "defaults": self.defaults,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "FeatureEncoder":
        encoder = cls(d["categorical"], d["dense"], d["sequence"], d["min_count"], d["max_seq_len"])
        encoder.vocabs = {f: Vocab.from_dict(v) for f, v in d["vocabs"].items()}
        encoder.dense_mean, encoder.dense_std, encoder.defaults = d["dense_mean"], d["dense_std"], d["defaults"]
        return encoder

    # ------------------------------------------------------------------ helpers
    def _check_columns(self, df: pd.DataFrame) -> None:
        needed = [*(self.categorical or []), *(self.dense or []), *self.sequence]
        missing = [c for c in needed if c not in df.columns]
        if missing:
            raise ValueError(f"missing feature columns {missing}; the table has {list(df.columns)}")

    def _dense_values(self, df: pd.DataFrame) -> np.ndarray:
        if not self.dense:
            return np.zeros((len(df), 0))
        values = df[self.dense].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
        values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
        return np.sign(values) * np.log1p(np.abs(values))
