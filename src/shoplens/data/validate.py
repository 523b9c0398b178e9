"""Validation: turn a raw frame into canonical typed columns, or one error naming every bad column.

Arrow compute does the common case fast (1M rows in about a second); pandas is only asked to
find *which* rows are bad once the fast path has failed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from shoplens.data.readers import InputError
from shoplens.data.schema import Column, TableSpec

MAX_ROWS_NAMED = 5

# Short aliases people type on the command line (user=uid instead of user_id=uid).
ALIASES = {"user": "user_id", "item": "item_id", "review": "review_id", "store": "store_id", "time": "ts",
           "timestamp": "ts", "session": "session_id", "ad": "ad_id", "quantity": "qty"}

TRUE_WORDS, FALSE_WORDS = ("1", "true", "yes", "t", "y"), ("0", "false", "no", "f", "n")
NUMBER_PATTERN = r"^\s*[-+]?\d+(\.\d*)?([eE][-+]?\d+)?\s*$"
YYYYMMDD_PATTERN = r"^\s*(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\s*$"


def validate(raw: pd.DataFrame, spec: TableSpec, mapping: dict[str, str], name: str) -> pd.DataFrame:
    """The canonical, typed frame, or an InputError naming file, rows, column and reason."""
    mapping = {ALIASES.get(k, k): v for k, v in mapping.items()}
    for canonical, src in mapping.items():
        if src not in raw.columns:
            raise InputError(name, f"--map {canonical}={src}: the file has no column {src!r} "
                             f"(columns: {', '.join(map(str, raw.columns))})")
    frame = raw.rename(columns={src: canonical for canonical, src in mapping.items()})
    frame.columns = [str(c) for c in frame.columns]
    if frame.columns.duplicated().any():
        raise InputError(name, f"column names clash after mapping: {frame.columns[frame.columns.duplicated()].tolist()}")
    if len(frame) == 0:
        raise InputError(name, "file has a header but no rows")
    missing = [c for c in spec.required if c not in frame.columns]
    if missing:
        raise InputError(name, f"missing required column(s) {', '.join(missing)} for table {spec.name!r} "
                         f"(columns present: {', '.join(frame.columns)}; map yours with --map {missing[0]}=YOUR_COLUMN)")
    frame = frame.reset_index(drop=True)
    typed, problems = {}, []
    for col in spec.columns:
        if col.name in frame.columns:
            try:
                typed[col.name] = convert_column(frame[col.name], col, name)
            except InputError as problem:  # keep going: one error should list every bad column
                problems.append(problem)
    if problems:
        raise problems[0] if len(problems) == 1 else InputError(
            name, "; ".join(str(p).removeprefix(f"{name}: ") for p in problems),
            rows=problems[0].rows, n_bad=problems[0].n_bad, prefix_rows=False)
    out = pd.DataFrame(typed)
    for extra in frame.columns:
        if extra not in spec.column_names and extra != "_row":
            out[extra] = frame[extra]
    check_keys(out, spec, name)
    return out


def convert_column(values: pd.Series, col: Column, name: str) -> pd.Series:
    if col.kind == "ts" and pd.api.types.is_datetime64_any_dtype(values):
        present = values.notna()
        parsed = values.dt.tz_convert(None) if values.dt.tz is not None else values
    elif col.kind in ("float", "int") and pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        present = values.notna()
        parsed = _numbers(values, col, name, present, None)
    else:
        text = _as_text(values)
        present = pd.Series(pc.fill_null(pc.not_equal(pc.utf8_trim_whitespace(text), ""), False).to_numpy(zero_copy_only=False))
        if col.kind == "str":
            parsed = pd.Series(pd.arrays.ArrowStringArray(pc.if_else(present.to_numpy(), text, None)))
        elif col.kind == "ts":
            parsed = parse_timestamps(text)
            fail_where(present & parsed.isna(), name, col.name, "not a parseable timestamp", values)
        elif col.kind == "bool":
            lowered = pc.utf8_lower(pc.utf8_trim_whitespace(text))
            parsed = pd.Series(pc.if_else(pc.is_in(lowered, pa.array(TRUE_WORDS)), True,
                                          pc.if_else(pc.is_in(lowered, pa.array(FALSE_WORDS)), False, None)).to_pandas(),
                               dtype="boolean")
            fail_where(present & parsed.isna(), name, col.name, "not a boolean (use 1/0 or true/false)", values)
        else:
            parsed = _numbers(_text_to_float(text), col, name, present, values)
    if col.required:
        fail_where(~present, name, col.name, "empty id" if col.kind == "str" else "empty value in a required column")
    return parsed


def _as_text(values: pd.Series) -> pa.Array:
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        return pa.array(values.array)  # already Arrow: no copy
    try:
        return pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed objects (e.g. ints in an id column)
        return pa.array(values.map(lambda v: None if pd.isna(v) else str(v)), type=pa.string(), from_pandas=True)


def _text_to_float(text: pa.Array) -> pd.Series:
    trimmed = pc.utf8_trim_whitespace(text)
    blank_as_null = pc.if_else(pc.equal(trimmed, ""), None, trimmed)
    try:
        return pd.Series(pc.cast(blank_as_null, pa.float64()).to_numpy(zero_copy_only=False))
    except pa.ArrowInvalid:  # some value is not a number: pandas marks which
        return pd.to_numeric(pd.Series(blank_as_null.to_pandas()), errors="coerce").astype("float64")


def _numbers(numbers: pd.Series, col: Column, name: str, present: pd.Series, original: pd.Series | None) -> pd.Series:
    numbers = numbers.astype("float64")
    finite = np.isfinite(numbers.to_numpy())
    fail_where(present & ~finite, name, col.name, "not a finite number", original if original is not None else numbers)
    if col.min is not None:
        fail_where(numbers < col.min, name, col.name, f"below the minimum {col.min:g}", original if original is not None else numbers)
    if col.max is not None:
        fail_where(numbers > col.max, name, col.name, f"above the maximum {col.max:g}", original if original is not None else numbers)
    if col.kind == "int":
        fail_where(present & (numbers % 1 != 0), name, col.name, "not a whole number", original if original is not None else numbers)
        return numbers.astype("Int64")
    return numbers


def parse_timestamps(text: pa.Array) -> pd.Series:
    """Value by value: ISO 8601 (an offset is converted to UTC), YYYYMMDD, or epoch numbers
    (seconds; milliseconds when above 1e11). Unparseable values come back as NaT."""
    trimmed = pc.utf8_trim_whitespace(text)
    try:  # the common case, naive ISO 8601 everywhere, in one Arrow cast
        return pd.Series(pc.cast(pc.if_else(pc.equal(trimmed, ""), None, trimmed), pa.timestamp("ns")).to_pandas())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    strings = pd.Series(trimmed.to_pandas(), dtype=object)
    parsed = pd.Series(pd.NaT, index=strings.index, dtype="datetime64[ns]")
    is_day = pd.Series(pc.fill_null(pc.match_substring_regex(trimmed, YYYYMMDD_PATTERN), False).to_numpy(zero_copy_only=False))
    is_number = pd.Series(pc.fill_null(pc.match_substring_regex(trimmed, NUMBER_PATTERN), False).to_numpy(zero_copy_only=False)) & ~is_day
    if is_day.any():
        parsed[is_day] = pd.to_datetime(strings[is_day], format="%Y%m%d", errors="coerce")
    if is_number.any():
        numbers = strings[is_number].astype(float)
        seconds = numbers.where(numbers.abs() <= 1e11, numbers / 1000)
        in_range = seconds.abs() < 9e9  # beyond year ~2255 pandas cannot hold it: NaT, reported as unparseable
        parsed[seconds[in_range].index] = pd.to_datetime(seconds[in_range], unit="s", errors="coerce")
    rest = strings[~is_day & ~is_number & strings.notna() & (strings != "")]
    if len(rest):
        iso = pd.to_datetime(rest, errors="coerce", format="ISO8601", utc=True)
        if iso.isna().any():  # not all ISO 8601: let pandas try the others one by one
            iso[iso.isna()] = pd.to_datetime(rest[iso.isna()], errors="coerce", format="mixed", utc=True)
        parsed[rest.index] = iso.dt.tz_convert(None)
    return parsed


def fail_where(bad: pd.Series, name: str, column: str, reason: str, values: pd.Series | None = None) -> None:
    bad = np.asarray(pd.Series(bad).fillna(False), dtype=bool)
    if not bad.any():
        return
    positions = np.flatnonzero(bad)
    example = f" (e.g. {str(values.iloc[positions[0]])[:60]!r})" if values is not None else ""
    raise InputError(name, reason + example, rows=(positions[:MAX_ROWS_NAMED] + 1).tolist(), column=column, n_bad=len(positions))


def present_key(spec: TableSpec, frame: pd.DataFrame) -> list[str]:
    """The key columns this frame has; a missing optional part (sales without store_id) counts as NULL."""
    return [k for k in spec.key if k in frame.columns]


def check_keys(frame: pd.DataFrame, spec: TableSpec, name: str) -> None:
    key = present_key(spec, frame)
    if not key:
        return
    keyed = frame[key]
    rows_with_key = keyed.notna().any(axis=1)  # events without an event_id are not keyed
    if not rows_with_key.any():
        return
    dup = keyed.duplicated(keep=False) & rows_with_key
    if dup.any():
        positions = np.flatnonzero(dup.to_numpy())
        first = frame.loc[dup, key].iloc[0].tolist()
        raise InputError(name, f"duplicate key {'/'.join(key)} = {first}", rows=(positions[:MAX_ROWS_NAMED] + 1).tolist(),
                         column=",".join(key), n_bad=len(positions))
