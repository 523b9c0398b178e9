"""Validated, all-or-nothing loading of files into the workspace's canonical tables.

`ingest(ws, "events.csv", "events", mapping={"user_id": "uid"})`:
1. read the file strictly (readers.py), rename source columns to canonical names;
2. validate every canonical column: required columns present, non-empty ids, numbers,
   timestamps, ranges, duplicate primary keys; the first bad rows are named in one error;
3. load in ONE DuckDB transaction: a failure leaves the workspace exactly as it was.

Re-ingesting is idempotent two ways: a file whose content hash was already loaded into that
table is skipped (and says so); keyed tables (items, users, reviews, sales, events with an
event_id) replace rows whose key is already present instead of duplicating them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from shoplens.data.readers import InputError, read_table
from shoplens.data.schema import SQL_TYPES, TABLES, Column, TableSpec, table_spec

LOG_TABLE = "_ingest_log"
MAX_ROWS_NAMED = 5


@dataclass
class IngestReport:
    table: str
    source: str
    rows: int  # rows in the input
    inserted: int  # new rows
    replaced: int  # rows that replaced an existing key
    skipped_file: bool = False  # identical content already ingested into this table
    extra_columns: tuple[str, ...] = ()

    def summary(self) -> str:
        if self.skipped_file:
            return f"{self.source}: identical content already in {self.table!r}; nothing changed"
        extra = f"; extra columns kept: {', '.join(self.extra_columns)}" if self.extra_columns else ""
        return (f"{self.source}: {self.rows:,} rows -> {self.table!r} "
                f"({self.inserted:,} new, {self.replaced:,} replaced){extra}")


def create_tables(con: duckdb.DuckDBPyConnection) -> None:
    for spec in TABLES.values():
        cols = ", ".join(f'"{c.name}" {SQL_TYPES[c.kind]}' for c in spec.columns)
        con.execute(f'CREATE TABLE IF NOT EXISTS "{spec.name}" (_row BIGINT, {cols})')
    con.execute(f"""CREATE TABLE IF NOT EXISTS {LOG_TABLE} (
        content_hash VARCHAR, table_name VARCHAR, source VARCHAR, rows BIGINT, inserted BIGINT,
        replaced BIGINT, ingested_at TIMESTAMP DEFAULT current_timestamp)""")


def ingest(ws, source, kind: str, mapping: dict[str, str] | None = None, fmt: str | None = None) -> IngestReport:
    """Load `source` (a path or a DataFrame) into table `kind` of workspace `ws`."""
    spec = table_spec(kind)
    if isinstance(source, pd.DataFrame):
        name, raw = "<dataframe>", source
    else:
        name = str(source)
        raw = read_table(Path(source), fmt=fmt, max_bytes=ws.settings.max_ingest_bytes)
    frame = validate(raw, spec, mapping or {}, name)
    content_hash = _content_hash(frame)
    con = ws.connect()
    con.execute("BEGIN TRANSACTION")
    try:
        seen = con.execute(f"SELECT 1 FROM {LOG_TABLE} WHERE content_hash = ? AND table_name = ?",
                           [content_hash, spec.name]).fetchall()
        if seen:
            con.execute("ROLLBACK")
            return IngestReport(spec.name, name, len(frame), 0, 0, skipped_file=True)
        extras = _add_extra_columns(con, spec, frame, name)
        replaced = _delete_existing_keys(con, spec, frame)
        _insert(con, spec, frame)
        con.execute(f"INSERT INTO {LOG_TABLE} (content_hash, table_name, source, rows, inserted, replaced) "
                    "VALUES (?, ?, ?, ?, ?, ?)", [content_hash, spec.name, name, len(frame), len(frame) - replaced, replaced])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return IngestReport(spec.name, name, len(frame), len(frame) - replaced, replaced, extra_columns=extras)


def parse_mapping(text: str | None) -> dict[str, str]:
    """'user_id=uid,item_id=sku' -> {"user_id": "uid", "item_id": "sku"} (canonical=source)."""
    mapping: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        canonical, sep, src = part.partition("=")
        if not sep or not canonical.strip() or not src.strip():
            raise ValueError(f"bad --map entry {part!r}; expected canonical=source, e.g. user_id=uid")
        mapping[canonical.strip()] = src.strip()
    return mapping


# Short aliases people type on the command line (user=uid instead of user_id=uid).
ALIASES = {"user": "user_id", "item": "item_id", "review": "review_id", "store": "store_id", "time": "ts",
           "timestamp": "ts", "session": "session_id", "ad": "ad_id", "quantity": "qty"}


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
        dup = frame.columns[frame.columns.duplicated()].tolist()
        raise InputError(name, f"column names clash after mapping: {dup}")
    if len(frame) == 0:
        raise InputError(name, "file has a header but no rows")
    missing = [c for c in spec.required if c not in frame.columns]
    if missing:
        raise InputError(name, f"missing required column(s) {', '.join(missing)} for table {spec.name!r} "
                         f"(columns present: {', '.join(frame.columns)}; map yours with --map {missing[0]}=YOUR_COLUMN)")
    out, problems = {}, []
    for col in spec.columns:
        if col.name in frame.columns:
            try:
                out[col.name] = _convert(frame[col.name], col, name)
            except InputError as problem:  # keep going: one error should list every bad column
                problems.append(problem)
    if problems:
        raise problems[0] if len(problems) == 1 else InputError(
            name, "; ".join(str(p).removeprefix(f"{name}: ") for p in problems),
            rows=problems[0].rows, column=None, n_bad=problems[0].n_bad, prefix_rows=False)
    typed = pd.DataFrame(out, index=frame.index)
    for extra in frame.columns:
        if extra not in spec.column_names and extra != "_row":
            typed[extra] = frame[extra]
    _check_keys(typed, spec, name)
    return typed.reset_index(drop=True)


def _convert(values: pd.Series, col: Column, name: str) -> pd.Series:
    present = values.notna() & (values.astype("string").str.strip() != "") if values.dtype == object or isinstance(values.dtype, pd.StringDtype) else values.notna()
    if col.required:
        _fail_where(~present, name, col.name, "empty value in a required column" if col.kind != "str" else "empty id")
    if col.kind == "str":
        return values.astype("string").where(present, None)
    if col.kind == "ts":
        parsed = _parse_timestamps(values)
        _fail_where(present & parsed.isna(), name, col.name, "not a parseable timestamp", values)
        return parsed
    if col.kind == "bool":
        lowered = values.astype("string").str.strip().str.lower()
        parsed = lowered.map({"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False})
        _fail_where(present & parsed.isna(), name, col.name, "not a boolean (use 1/0 or true/false)", values)
        return parsed.astype("boolean")
    numbers = pd.to_numeric(values, errors="coerce")
    _fail_where(present & (numbers.isna() | ~np.isfinite(numbers.fillna(0))), name, col.name, "not a finite number", values)
    if col.min is not None:
        _fail_where(numbers < col.min, name, col.name, f"below the minimum {col.min:g}", values)
    if col.max is not None:
        _fail_where(numbers > col.max, name, col.name, f"above the maximum {col.max:g}", values)
    if col.kind == "int":
        _fail_where(present & (numbers % 1 != 0), name, col.name, "not a whole number", values)
        return numbers.astype("Int64")
    return numbers.astype("float64")


def _parse_timestamps(values: pd.Series) -> pd.Series:
    """ISO-like strings, or epoch numbers (seconds; milliseconds when > 1e11), value by value."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.tz_localize(None) if values.dt.tz is not None else values
    numeric = pd.to_numeric(values, errors="coerce")
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    is_number = numeric.notna()
    if is_number.any():
        numbers = numeric[is_number]
        seconds = numbers.where(numbers.abs() <= 1e11, numbers / 1000)
        parsed[is_number] = pd.to_datetime(seconds, unit="s", errors="coerce")
    text = values[~is_number & values.notna()].astype(str)
    if len(text):
        as_iso = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True)
        if as_iso.isna().any():  # not all ISO 8601: let pandas try the rest value by value
            as_iso[as_iso.isna()] = pd.to_datetime(text[as_iso.isna()], errors="coerce", format="mixed", utc=True)
        parsed[text.index] = as_iso.dt.tz_convert(None)
    return parsed


def _fail_where(bad: pd.Series, name: str, column: str, reason: str, values: pd.Series | None = None) -> None:
    bad = bad.fillna(False).to_numpy(dtype=bool)
    if not bad.any():
        return
    positions = np.flatnonzero(bad)
    example = f" (e.g. {str(values.iloc[positions[0]])[:60]!r})" if values is not None else ""
    raise InputError(name, reason + example, rows=(positions[:MAX_ROWS_NAMED] + 1).tolist(), column=column, n_bad=len(positions))


def _check_keys(frame: pd.DataFrame, spec: TableSpec, name: str) -> None:
    key = _present_key(spec, frame)
    if not key:
        return
    keyed = frame[key]
    rows_with_key = keyed.notna().any(axis=1)  # events without an event_id are not keyed
    dup = keyed.duplicated(keep=False) & rows_with_key
    if dup.any():
        positions = np.flatnonzero(dup.to_numpy())
        first = frame.loc[dup, key].iloc[0].tolist()
        raise InputError(name, f"duplicate key {'/'.join(key)} = {first}", rows=(positions[:MAX_ROWS_NAMED] + 1).tolist(),
                         column=",".join(key), n_bad=len(positions))


def _present_key(spec: TableSpec, frame: pd.DataFrame) -> list[str]:
    """The key columns this frame has; a missing optional part (sales without store_id) counts as NULL."""
    return [k for k in spec.key if k in frame.columns]


def _content_hash(frame: pd.DataFrame) -> str:
    h = hashlib.sha1(",".join(frame.columns).encode())
    h.update(pd.util.hash_pandas_object(frame.astype("string"), index=False).to_numpy().tobytes())
    return h.hexdigest()


def _existing_columns(con, table: str) -> dict[str, str]:
    rows = con.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?", [table]).fetchall()
    return {c: t for c, t in rows}


def _add_extra_columns(con, spec: TableSpec, frame: pd.DataFrame, name: str) -> tuple[str, ...]:
    existing = _existing_columns(con, spec.name)
    extras = [c for c in frame.columns if c not in spec.column_names]
    for col in extras:
        if col in existing:
            if existing[col] == "DOUBLE":
                numbers = pd.to_numeric(frame[col], errors="coerce")
                _fail_where(frame[col].notna() & numbers.isna(), name, col,
                            "not a number, but earlier files stored this column as numbers", frame[col])
                frame[col] = numbers
            continue
        numbers = pd.to_numeric(frame[col], errors="coerce")
        is_numeric = frame[col].notna().any() and numbers.notna().sum() == frame[col].notna().sum()
        if is_numeric:
            frame[col] = numbers
        con.execute(f'ALTER TABLE "{spec.name}" ADD COLUMN "{col}" {"DOUBLE" if is_numeric else "VARCHAR"}')
    return tuple(extras)


def _delete_existing_keys(con, spec: TableSpec, frame: pd.DataFrame) -> int:
    key = _present_key(spec, frame)
    if not key:
        return 0
    keys = frame[key].dropna(how="all")
    if keys.empty:
        return 0
    con.register("_incoming_keys", keys)
    try:
        absent = [k for k in spec.key if k not in key]
        match = " AND ".join([f't."{k}" IS NOT DISTINCT FROM i."{k}"' for k in key] + [f't."{k}" IS NULL' for k in absent])
        n = con.execute(f'SELECT count(*) FROM "{spec.name}" t WHERE EXISTS (SELECT 1 FROM _incoming_keys i WHERE {match})').fetchall()[0][0]
        if n:
            con.execute(f'DELETE FROM "{spec.name}" t WHERE EXISTS (SELECT 1 FROM _incoming_keys i WHERE {match})')
        return n
    finally:
        con.unregister("_incoming_keys")


def _insert(con, spec: TableSpec, frame: pd.DataFrame) -> None:
    start = con.execute(f'SELECT coalesce(max(_row), 0) FROM "{spec.name}"').fetchall()[0][0]
    batch = frame.assign(_row=np.arange(start + 1, start + 1 + len(frame), dtype=np.int64))
    con.register("_incoming", batch)
    try:
        cols = ", ".join(f'"{c}"' for c in batch.columns)
        con.execute(f'INSERT INTO "{spec.name}" ({cols}) SELECT {cols} FROM _incoming')
    finally:
        con.unregister("_incoming")
