"""Validated, all-or-nothing loading of files into the workspace's canonical tables.

`ingest(ws, "events.csv", "events", mapping={"user_id": "uid"})`:
1. read the file strictly (readers.py), rename source columns to canonical names;
2. validate every canonical column: required columns present, non-empty ids, numbers,
   timestamps, ranges, duplicate primary keys; the first bad rows are named in one error;
3. load in ONE DuckDB transaction: a failure leaves the workspace exactly as it was.

No SQL text is ever built from a name or a value that came with the input: values are parameters, rows
arrive as a registered Arrow table inserted BY NAME, and a new extra column is added through DuckDB's
relational API (an expression aliased to the name, never parsed as SQL). Names are still checked first
(`check_column_names`: printable, at most 128 characters, unique ignoring case).

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
import pyarrow as pa

from shoplens.data.readers import InputError, read_table
from shoplens.data.schema import SQL_TYPES, TABLES, TableSpec, table_spec
from shoplens.data.validate import fail_where, present_key, validate

LOG_TABLE = "_ingest_log"


@dataclass
class IngestReport:
    table: str
    source: str
    rows: int  # rows in the input
    inserted: int  # new rows
    replaced: int  # rows that replaced an existing key
    skipped_file: bool = False  # identical content already ingested into this table
    extra_columns: tuple[str, ...] = ()
    custom_events: dict[str, int] | None = None  # event names kept outside the vocabulary: rows each

    def summary(self) -> str:
        if self.skipped_file:
            return f"{self.source}: identical content already in {self.table!r}; nothing changed"
        extra = f"; extra columns kept: {', '.join(self.extra_columns)}" if self.extra_columns else ""
        custom = ("; custom event types kept: " + ", ".join(f"{k} ({n:,})" for k, n in self.custom_events.items())
                  if self.custom_events else "")
        return (f"{self.source}: {self.rows:,} rows -> {self.table!r} "
                f"({self.inserted:,} new, {self.replaced:,} replaced){extra}{custom}")


def create_tables(con: duckdb.DuckDBPyConnection) -> None:
    for spec in TABLES.values():
        cols = ", ".join(f'"{c.name}" {SQL_TYPES[c.kind]}' for c in spec.columns)
        con.execute(f'CREATE TABLE IF NOT EXISTS "{spec.name}" (_row BIGINT, {cols})')
    con.execute(f"""CREATE TABLE IF NOT EXISTS {LOG_TABLE} (
        content_hash VARCHAR, table_name VARCHAR, source VARCHAR, rows BIGINT, inserted BIGINT,
        replaced BIGINT, ingested_at TIMESTAMP DEFAULT current_timestamp)""")


def ingest(ws, source, kind: str, mapping: dict[str, str] | None = None, fmt: str | None = None,
           date_format: str | None = None, value_map: dict[str, dict[str, str]] | None = None,
           keep_unknown_events: bool = False) -> IngestReport:
    """Load `source` (a path or a DataFrame) into table `kind` of workspace `ws`.
    `date_format` (strftime codes) names the format of every timestamp column when it is not ISO 8601/epoch.
    `value_map` renames a shop's event names ({"event": {"buy": "purchase"}}) on top of the workspace's
    `event_names`; names still unknown are refused, or kept as custom types (and remembered in the workspace's
    settings) with `keep_unknown_events`."""
    spec = table_spec(kind)
    if isinstance(source, pd.DataFrame):
        name, raw = "<dataframe>", source
    else:
        name = str(source)
        raw = read_table(Path(source), fmt=fmt, max_bytes=ws.settings.max_ingest_bytes)
    renames = {"event": {**ws.settings.event_names, **(value_map or {}).get("event", {})}} | {
        k: v for k, v in (value_map or {}).items() if k != "event"}
    unknown = [c for c in (value_map or {}) if c not in spec.column_names or not spec.column(c).choices]
    if unknown:
        raise ValueError(f"--map-values {unknown[0]}=...: {unknown[0]!r} is not a column with a closed vocabulary "
                         f"in {spec.name!r}" + (" (only 'event' has one)" if spec.name == "events" else ""))
    frame = validate(raw, spec, mapping or {}, name, date_format=date_format, value_map=renames,
                     allowed_extra={"event": set(ws.settings.custom_events)}, keep_unknown=keep_unknown_events)
    custom = None
    if "event" in spec.column_names and "event" in frame.columns:
        outside = frame["event"][~frame["event"].isin(spec.column("event").choices)].dropna()
        custom = {str(k): int(n) for k, n in outside.value_counts().items()} or None
    con = ws.connect()
    new_columns = _type_extra_columns(con, spec, frame, name)
    rows = pa.Table.from_pandas(frame, preserve_index=False)
    content_hash = _content_hash(rows)
    con.execute("BEGIN TRANSACTION")
    try:
        seen = con.execute(f"SELECT 1 FROM {LOG_TABLE} WHERE content_hash = ? AND table_name = ?",
                           [content_hash, spec.name]).fetchall()
        if seen:
            con.execute("ROLLBACK")
            return IngestReport(spec.name, name, len(frame), 0, 0, skipped_file=True)
        if new_columns:
            _add_columns(con, spec.name, new_columns)
        replaced = _delete_existing_keys(con, spec, frame)
        _insert(con, spec, rows)
        con.execute(f"INSERT INTO {LOG_TABLE} (content_hash, table_name, source, rows, inserted, replaced) "
                    "VALUES (?, ?, ?, ?, ?, ?)", [content_hash, spec.name, name, len(frame), len(frame) - replaced, replaced])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    _remember_event_names(ws, (value_map or {}).get("event", {}), custom)
    return IngestReport(spec.name, name, len(frame), len(frame) - replaced, replaced,
                        extra_columns=tuple(c for c in frame.columns if c not in spec.column_names), custom_events=custom)


def _remember_event_names(ws, renames: dict[str, str], custom: dict[str, int] | None) -> None:
    """A mapping or custom type used in a successful ingest holds for the workspace from now on (later files,
    POST /events), so the same shop name never means two things."""
    names = {**ws.settings.event_names, **renames}
    kept = sorted(set(ws.settings.custom_events) | set(custom or {}))
    if names != ws.settings.event_names or kept != ws.settings.custom_events:
        ws.settings.event_names, ws.settings.custom_events = names, kept
        ws.save_settings()


def parse_value_map(text: str | None) -> dict[str, dict[str, str]]:
    """'event=buy:purchase,pv:view' -> {"event": {"buy": "purchase", "pv": "view"}}; a part without
    `column=` continues the column before it."""
    result: dict[str, dict[str, str]] = {}
    column = None
    for part in (text or "").split(","):
        if not part.strip():
            continue
        if "=" in part:
            column, _, part = part.partition("=")
            column = column.strip()
        source, sep, target = part.partition(":")
        if not column or not sep or not source.strip() or not target.strip():
            raise ValueError(f"bad --map-values entry {part!r}; expected column=yours:canonical,..., "
                             "e.g. event=buy:purchase,pv:view")
        result.setdefault(column, {})[source.strip()] = target.strip()
    return result


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


def _add_columns(con, table: str, columns: dict[str, str]) -> None:
    """Add NULL-filled columns to one of our tables. The names come from the user's file, so they go through
    the relational API as aliases (data, not SQL); `table` and the types are the schema's own constants.
    The table is rebuilt once (a copy), which only happens when a file brings a column never seen before."""
    rebuilt = f"_{table}_with_new_columns"
    added = [duckdb.ConstantExpression(None).cast(duckdb.sqltype(sql_type)).alias(name) for name, sql_type in columns.items()]
    con.table(table).select(duckdb.StarExpression(), *added).create(rebuilt)
    con.execute(f'DROP TABLE "{table}"')
    con.execute(f'ALTER TABLE "{rebuilt}" RENAME TO "{table}"')


def _content_hash(table: pa.Table) -> str:
    """sha1 of the validated rows in Arrow IPC form: identical content gives the identical hash."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return hashlib.sha1(sink.getvalue()).hexdigest()


def _type_extra_columns(con, spec: TableSpec, frame: pd.DataFrame, name: str) -> dict[str, str]:
    """Give each extra column one SQL type: the stored one when an earlier file made it, else inferred.
    Converts `frame` in place; returns {new column: SQL type} for the columns the table lacks."""
    rows = con.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?",
                       [spec.name]).fetchall()
    existing = dict(rows)
    stored_by_case = {c.casefold(): c for c in existing}
    new = {}
    for col in (c for c in frame.columns if c not in spec.column_names):
        stored = stored_by_case.get(col.casefold(), col)
        if stored != col:  # DuckDB's names are case-insensitive: this would be that column, or a clash
            raise InputError(name, f"column {col!r} differs from the stored column {stored!r} only in case; "
                             f"rename it in the file or map it (--map {stored}={col})")
        values = frame[col]
        sql_type = existing.get(col) or _infer_sql_type(values)
        if sql_type == "DOUBLE":
            numbers = pd.to_numeric(values, errors="coerce") if not pd.api.types.is_numeric_dtype(values) else values.astype("float64")
            why = "not a number, but earlier files stored this column as numbers" if col in existing else "not a number"
            fail_where(values.notna() & numbers.isna(), name, col, why, values)
            frame[col] = numbers
        elif sql_type == "VARCHAR":
            frame[col] = values.map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)).astype(object)
        if col not in existing:
            new[col] = sql_type
    return new


def _infer_sql_type(values: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(values):
        return "BOOLEAN"
    if pd.api.types.is_datetime64_any_dtype(values):
        return "TIMESTAMP"
    if pd.api.types.is_numeric_dtype(values):
        return "DOUBLE"
    numbers = pd.to_numeric(values, errors="coerce")
    return "DOUBLE" if values.notna().any() and numbers.notna().sum() == values.notna().sum() else "VARCHAR"


def _delete_existing_keys(con, spec: TableSpec, frame: pd.DataFrame) -> int:
    key = present_key(spec, frame)
    if not key:
        return 0
    keys = frame[key].dropna(how="all")
    if keys.empty:
        return 0
    con.register("_incoming_keys", keys)
    try:
        absent = [k for k in spec.key if k not in key]
        # key columns are the schema's own names (spec.key), never the file's
        match = " AND ".join([f't."{k}" IS NOT DISTINCT FROM i."{k}"' for k in key] + [f't."{k}" IS NULL' for k in absent])
        n = con.execute(f'SELECT count(*) FROM "{spec.name}" t WHERE EXISTS (SELECT 1 FROM _incoming_keys i WHERE {match})').fetchall()[0][0]
        if n:
            con.execute(f'DELETE FROM "{spec.name}" t WHERE EXISTS (SELECT 1 FROM _incoming_keys i WHERE {match})')
        return n
    finally:
        con.unregister("_incoming_keys")


def _insert(con, spec: TableSpec, rows: pa.Table) -> None:
    start = con.execute(f'SELECT coalesce(max(_row), 0) FROM "{spec.name}"').fetchall()[0][0]
    batch = rows.append_column("_row", pa.array(np.arange(start + 1, start + 1 + rows.num_rows, dtype=np.int64)))
    con.register("_incoming", batch)
    try:
        con.execute(f'INSERT INTO "{spec.name}" BY NAME SELECT * FROM _incoming')  # spec.name: the schema's own
    finally:
        con.unregister("_incoming")
