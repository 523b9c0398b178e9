"""Validation: turn a raw frame into canonical typed columns, or one error naming every bad column.

Arrow compute does the common case fast (1M rows in about a second); pandas is only asked to
find *which* rows are bad once the fast path has failed.

Timestamps, the same in every format and in POST /events: ISO 8601 (`2024-03-05`, `2024-03-05 14:02:11`,
`2024-03-05T14:02:11+08:00`; `2024/03/05` too, year first), YYYYMMDD, or epoch seconds or milliseconds from
1973 on. A value with an offset is converted to UTC; a value without one IS UTC (never the offset of a
neighbouring row). Anything else — `05/03/2024` (day or month first?), a bare year — is refused unless the
caller names the format (`date_format`, strftime codes). Every timestamp must lie in 1678..2261, the range
the workspace stores at nanosecond precision.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from shoplens.data.readers import InputError, check_column_names
from shoplens.data.schema import Column, TableSpec

MAX_ROWS_NAMED = 5

# Short aliases people type on the command line (user=uid instead of user_id=uid).
ALIASES = {"user": "user_id", "item": "item_id", "review": "review_id", "store": "store_id", "time": "ts",
           "timestamp": "ts", "session": "session_id", "ad": "ad_id", "quantity": "qty"}

TRUE_WORDS, FALSE_WORDS = ("1", "true", "yes", "t", "y"), ("0", "false", "no", "f", "n")
NUMBER_PATTERN = r"^\s*[-+]?\d+(\.\d*)?([eE][-+]?\d+)?\s*$"
YYYYMMDD_PATTERN = r"^\s*(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\s*$"
ISO_DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}"
OFFSET_PATTERN = r"^\d{4}-\d{2}-\d{2}[T ].*(Z|[+-]\d{2}(:?\d{2})?)$"
EPOCH_SECONDS = (1e8, 1e11)  # 1973-03-03 .. 5138: below, a number is more likely a year or a count than a time
EPOCH_MILLISECONDS = (1e11, 1e14)
TS_RANGE = (pd.Timestamp("1678-01-01"), pd.Timestamp("2261-12-31 23:59:59.999999999"))
TS_FORMATS_HELP = ("accepted: ISO 8601 such as 2024-03-05 or 2024-03-05 14:02:11[+08:00], YYYYMMDD, epoch "
                   "seconds/milliseconds; name any other format with --date-format, e.g. %d/%m/%Y")


def validate(raw: pd.DataFrame, spec: TableSpec, mapping: dict[str, str], name: str,
             date_format: str | None = None, value_map: dict[str, dict[str, str]] | None = None,
             allowed_extra: dict[str, set[str]] | None = None, keep_unknown: bool = False) -> pd.DataFrame:
    """The canonical, typed frame, or an InputError naming file, rows, column and reason.
    `date_format` (strftime codes, e.g. "%d/%m/%Y") reads every timestamp column in that one format.
    `value_map` renames values of a closed-vocabulary column ({"event": {"buy": "purchase"}}); a value outside
    the vocabulary (and `allowed_extra`) is refused, or kept when `keep_unknown`."""
    check_column_names(raw.columns, name)
    mapping = {ALIASES.get(k, k): v for k, v in mapping.items()}
    for canonical, src in mapping.items():
        if src not in raw.columns:
            raise InputError(name, f"--map {canonical}={src}: the file has no column {src!r} "
                             f"(columns: {', '.join(map(str, raw.columns))})")
    frame = raw.rename(columns={src: canonical for canonical, src in mapping.items()})
    frame.columns = [str(c) for c in frame.columns]
    if frame.columns.duplicated().any():
        raise InputError(name, f"column names clash after mapping: {frame.columns[frame.columns.duplicated()].tolist()}")
    check_column_names(frame.columns, name)
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
                typed[col.name] = convert_column(frame[col.name], col, name, date_format)
                if col.choices:
                    typed[col.name] = map_vocabulary(typed[col.name], col, name, (value_map or {}).get(col.name, {}),
                                                     (allowed_extra or {}).get(col.name, set()), keep_unknown)
            except InputError as problem:  # keep going: one error should list every bad column
                problems.append(problem)
    if problems:
        raise problems[0] if len(problems) == 1 else InputError(
            name, "; ".join(str(p).removeprefix(f"{name}: ") for p in problems),
            rows=problems[0].rows, n_bad=problems[0].n_bad, prefix_rows=False)
    out = pd.DataFrame(typed)
    for extra in frame.columns:
        if extra not in spec.column_names:
            if frame[extra].dtype == object:
                _as_text(frame[extra], name, extra)  # refuses text that is not valid Unicode
            out[extra] = frame[extra]
    check_keys(out, spec, name)
    return out


def convert_column(values: pd.Series, col: Column, name: str, date_format: str | None = None) -> pd.Series:
    if col.kind == "ts" and pd.api.types.is_datetime64_any_dtype(values):
        present = values.notna()
        parsed = values.dt.tz_convert(None) if values.dt.tz is not None else values
        fail_where(present & ((parsed < TS_RANGE[0]) | (parsed > TS_RANGE[1])), name, col.name,
                   "outside the supported range of years 1678..2261", values)
        parsed = parsed.astype("datetime64[ns]")
    elif col.kind in ("float", "int") and pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        present = values.notna()
        parsed = _numbers(values, col, name, present, None)
    else:
        text = _as_text(values, name, col.name)
        present = pd.Series(pc.fill_null(pc.not_equal(pc.utf8_trim_whitespace(text), ""), False).to_numpy(zero_copy_only=False))
        if col.kind == "str":
            # NUL ends a string in C: an id holding one is a different id to half the tools downstream
            fail_where(pd.Series(pc.fill_null(pc.match_substring(text, "\x00"), False).to_numpy(zero_copy_only=False)),
                       name, col.name, "contains a NUL character (U+0000)")
            parsed = pd.Series(pd.arrays.ArrowStringArray(pc.if_else(present.to_numpy(), text, None)))
        elif col.kind == "ts":
            parsed, why = parse_timestamps(text, date_format)
            bad = present & parsed.isna()
            if bad.any():
                reason = why[bad].iloc[0]
                fail_where(bad & (why == reason), name, col.name, reason, values)
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


def map_vocabulary(values: pd.Series, col: Column, name: str, renames: dict[str, str], extra: set[str],
                   keep_unknown: bool) -> pd.Series:
    """Rename a shop's values to the canonical ones, then refuse (or keep, on purpose) what is still unknown."""
    for source, target in renames.items():
        if target not in col.choices and target not in extra and not keep_unknown:
            raise InputError(name, f"--map-values {col.name}={source}:{target}: {target!r} is not a known "
                             f"{col.name} (accepted: {', '.join(col.choices)})")
    text = pa.array(values.array) if isinstance(values.dtype, pd.StringDtype) else pa.array(values, type=pa.string())
    if renames:  # a few names: one Arrow pass per name, the column stays in Arrow memory
        for source, target in renames.items():
            text = pc.if_else(pc.equal(text, source), target, text)
    allowed = pa.array([*col.choices, *sorted(extra)], type=pa.string())
    known = pd.Series(pc.fill_null(pc.or_kleene(pc.is_null(text), pc.is_in(text, value_set=allowed)), True)
                      .to_numpy(zero_copy_only=False))
    if not known.all() and not keep_unknown:
        mapped = pd.Series(text.to_pandas())
        counts = mapped[~known].value_counts()
        listed = ", ".join(f"{v!r} ({n:,} row{'s' if n > 1 else ''})" for v, n in counts.head(8).items())
        fail_where(~known, name, col.name,
                   f"unknown {col.name} name(s) {listed}; accepted: {', '.join(col.choices)}. Map yours with "
                   f"--map-values {col.name}={counts.index[0]}:ACCEPTED_NAME,... or keep them as custom types "
                   "with --keep-unknown-events")
    return pd.Series(pd.arrays.ArrowStringArray(text))


def _as_text(values: pd.Series, name: str, column: str) -> pa.Array:
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        return pa.array(values.array)  # already Arrow: no copy
    if pd.api.types.is_integer_dtype(values):  # nullable Int64 ids: 101, never '101.0'
        return pc.cast(pa.array(values, from_pandas=True), pa.string())
    try:
        return pa.array(values, type=pa.string(), from_pandas=True)
    except UnicodeEncodeError:
        _fail_on_lone_surrogates(values, name, column)
        raise
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed objects (e.g. ints in an id column)
        as_strings = values.map(lambda v: None if _missing(v) else str(v))
        try:
            return pa.array(as_strings, type=pa.string(), from_pandas=True)
        except UnicodeEncodeError:
            _fail_on_lone_surrogates(as_strings, name, column)
            raise


def _missing(value) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and np.isnan(value))


def _fail_on_lone_surrogates(values: pd.Series, name: str, column: str) -> None:
    def invalid(v) -> bool:
        try:
            str(v).encode("utf-8")
            return False
        except UnicodeEncodeError:
            return True
    fail_where(values.map(lambda v: not _missing(v) and invalid(v)), name, column,
               "text contains a lone UTF-16 surrogate, which is not valid Unicode")


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


def parse_timestamps(text: pa.Array, date_format: str | None = None) -> tuple[pd.Series, pd.Series]:
    """(timestamps as naive UTC, why) value by value, under the rules in the module docstring.
    Values that cannot be read come back as NaT with the reason in `why` (None where fine or blank)."""
    trimmed = pc.utf8_trim_whitespace(text)
    trimmed = pc.replace_substring_regex(trimmed, r"^(\d{4})/(\d{2})/(\d{2})", r"\1-\2-\3")  # year first: unambiguous
    blank_as_null = pc.if_else(pc.equal(trimmed, ""), None, trimmed)
    why = pd.Series(None, index=pd.RangeIndex(len(blank_as_null)), dtype=object)
    if date_format is None and not pc.any(pc.match_substring_regex(blank_as_null, OFFSET_PATTERN)).as_py():
        try:  # the common case, naive ISO 8601 everywhere, in one Arrow cast (no Python strings)
            return _in_range(pd.Series(pc.cast(blank_as_null, pa.timestamp("ns")).to_pandas()), why)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    strings = pd.Series(blank_as_null.to_pandas(), dtype=object)
    if date_format is not None:
        parsed = pd.to_datetime(strings, format=date_format, errors="coerce", utc=True).dt.tz_convert(None)
        why[strings.notna() & parsed.isna()] = f"not a timestamp in the format {date_format!r}"
        return _in_range(parsed, why)
    parsed = pd.Series(pd.NaT, index=strings.index, dtype="datetime64[ns]")
    matches = lambda pattern: pd.Series(pc.fill_null(pc.match_substring_regex(blank_as_null, pattern), False)
                                        .to_numpy(zero_copy_only=False))
    is_day = matches(YYYYMMDD_PATTERN)
    is_number = matches(NUMBER_PATTERN) & ~is_day
    is_iso = matches(ISO_DATE_PATTERN)
    has_offset = matches(OFFSET_PATTERN) & is_iso
    if is_day.any():
        parsed[is_day] = pd.to_datetime(strings[is_day], format="%Y%m%d", errors="coerce")
    if is_number.any():
        numbers = strings[is_number].astype(float)
        seconds = numbers.where(numbers < EPOCH_MILLISECONDS[0], numbers / 1000)
        plausible = (numbers >= EPOCH_SECONDS[0]) & (numbers < EPOCH_MILLISECONDS[1])
        why[plausible[~plausible].index] = ("a number that is not a plausible epoch time (seconds or milliseconds "
                                            "after 1973); if it is a year or another format, say so with --date-format")
        kept = seconds[plausible & (seconds < TS_RANGE[1].timestamp())]
        parsed[kept.index] = pd.to_datetime(kept, unit="s", errors="coerce")
    # Naive and offset values are parsed apart: pandas, given both in one call, gives a naive value the
    # offset of the row before it.
    for part, offset in ((is_iso & ~has_offset, False), (has_offset, True)):
        if part.any():
            iso = pd.to_datetime(strings[part], errors="coerce", format="ISO8601", utc=offset)
            parsed[part] = iso.dt.tz_convert(None) if offset else iso
    unread = strings.notna() & parsed.isna() & why.isna()
    years = pd.to_numeric(strings[unread & is_iso].str[:4], errors="coerce")
    why[years[(years < TS_RANGE[0].year) | (years > TS_RANGE[1].year)].index] = "outside the supported range of years 1678..2261"
    why[unread & why.isna() & is_iso] = "not a parseable timestamp (no such date or time)"
    why[unread & why.isna()] = f"not a parseable timestamp ({TS_FORMATS_HELP})"
    return _in_range(parsed, why)


def _in_range(parsed: pd.Series, why: pd.Series) -> tuple[pd.Series, pd.Series]:
    parsed = parsed.astype("datetime64[ns]")
    outside = parsed.notna() & ((parsed < TS_RANGE[0]) | (parsed > TS_RANGE[1]))
    if outside.any():
        why[outside] = "outside the supported range of years 1678..2261"
        parsed[outside] = pd.NaT
    return parsed, why


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
