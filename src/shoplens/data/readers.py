"""Read a tabular file (CSV, TSV, Parquet, JSON lines; gzip too) into a DataFrame, strictly.

Text formats are read with every column as a string, so that validation (not the parser)
decides what a value means and can name the row that is wrong. The same rules hold for every
format: NaN and Infinity are not numbers (an empty cell or a JSON null is a missing value),
nested values (lists, structs, JSON objects) arrive as JSON text, and every column name is
checked (`check_column_names`) before anything else looks at it.
"""

from __future__ import annotations

import csv
import errno
import gzip
import io
import json
import re
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

FORMATS = ("csv", "tsv", "parquet", "jsonl")
MAX_NAME_LENGTH = 128
RESERVED_NAMES = ("_row",)  # the workspace's own row-order column
MAX_CSV_BLOCK = 2**31 - 1  # Arrow's largest block; a cell must fit in one block
# Strings stay in Arrow memory (no million Python str objects); integers stay integers when a column has
# nulls (pandas would otherwise make 101 into 101.0, and an id '101.0' matches nothing).
_PANDAS_TYPES = {pa.string(): pd.StringDtype("pyarrow"), pa.large_string(): pd.StringDtype("pyarrow"),
                 **{t: pd.Int64Dtype() for t in (pa.int8(), pa.int16(), pa.int32(), pa.int64(),
                                                 pa.uint8(), pa.uint16(), pa.uint32())}}
ARROW_STRINGS = _PANDAS_TYPES.get
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


class InputError(ValueError):
    """Bad input: names the file, the first offending rows (1-based data rows), the column, the reason."""

    def __init__(self, file: str, reason: str, rows: list[int] | None = None, column: str | None = None,
                 n_bad: int | None = None, prefix_rows: bool = True):
        self.file, self.reason, self.rows, self.column = file, reason, rows or [], column
        self.n_bad = n_bad if n_bad is not None else len(self.rows)
        where = ""
        if self.rows and prefix_rows:
            shown = ", ".join(str(r) for r in self.rows[:5])
            more = f" (and {self.n_bad - len(self.rows[:5])} more)" if self.n_bad > 5 else ""
            where = f" row{'s' if self.n_bad > 1 else ''} {shown}{more}"
        col = f" column {column!r}:" if column else ""
        super().__init__(f"{file}:{where}{col} {reason}")


def check_column_names(columns, name: str) -> list[str]:
    """The column names as strings, or an InputError: every name must be non-empty, at most 128 printable
    characters (no control or format characters, no lone surrogates), unique ignoring case (DuckDB's
    identifiers are case-insensitive) and not one of the workspace's own columns."""
    names = [str(c) for c in columns]
    for position, column in enumerate(names, start=1):
        shown = repr(column[:40]) + ("..." if len(column) > 40 else "")
        if not column.strip():
            raise InputError(name, f"column {position} has an empty name; every column needs a name")
        if len(column) > MAX_NAME_LENGTH:
            raise InputError(name, f"column {position} name {shown} is {len(column):,} characters long; "
                             f"the limit is {MAX_NAME_LENGTH}")
        bad = next((ch for ch in column if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn")), None)
        if bad is not None:
            raise InputError(name, f"column {position} name {shown} contains the unprintable character "
                             f"U+{ord(bad):04X}; names must be printable text")
        if column in RESERVED_NAMES:
            raise InputError(name, f"column {position} is named {column!r}, which the workspace uses itself; "
                             "rename it in the file")
    seen: dict[str, str] = {}
    for column in names:
        if column.casefold() in seen:
            other = seen[column.casefold()]
            why = "twice" if other == column else f"and {other!r}, which differ only in case"
            raise InputError(name, f"duplicate column names: {column!r} {why}; names must be unique ignoring case")
        seen[column.casefold()] = column
    return names


def detect_format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    ext = suffixes[-1] if suffixes else ""
    by_ext = {".csv": "csv", ".tsv": "tsv", ".txt": "tsv", ".parquet": "parquet", ".pq": "parquet",
              ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
    if ext not in by_ext:
        raise InputError(str(path), f"cannot tell the format from the extension {ext or '(none)'!r}; "
                         f"use one of .csv .tsv .parquet .jsonl (optionally .gz) or pass the format")
    return by_ext[ext]


def read_table(path: str | Path, fmt: str | None = None, max_bytes: int | None = None) -> pd.DataFrame:
    """The file as a DataFrame; text formats give string columns, nulls for empty cells.
    `max_bytes` bounds the file AND its decompressed content (a small .gz can expand a thousandfold)."""
    path = Path(path)
    name = str(path)
    size = _regular_file_size(path)
    if max_bytes is not None and size > max_bytes:
        raise InputError(name, f"file is {size:,} bytes, over the configured limit of {max_bytes:,} bytes "
                         "(raise max_ingest_bytes in shoplens.json to allow it)")
    if size == 0:
        raise InputError(name, "file is empty")
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise InputError(name, f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if fmt == "parquet":
        return _read_parquet(name, path)
    raw = _read_bytes(path, max_bytes)
    _check_utf8(name, raw)
    if not raw.strip():
        raise InputError(name, "file has no rows")
    if fmt == "jsonl":
        return _parse_jsonl(name, raw)
    return _parse_delimited(name, raw, "," if fmt == "csv" else "\t")


def _regular_file_size(path: Path) -> int:
    """The size of a readable regular file, or an error that says what the path is instead."""
    try:
        info = path.stat()
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise InputError(str(path), "is a symbolic link loop, not a file") from None
        if e.errno in (errno.ENOENT, errno.ENOTDIR):
            raise InputError(str(path), "file not found") from None
        raise InputError(str(path), f"cannot read the file ({e.strerror})") from None
    if path.is_dir():
        raise InputError(str(path), "is a directory; give the path of a file")
    if not path.is_file():
        raise InputError(str(path), "is not a regular file (a device, socket or pipe)")
    return info.st_size


def _read_parquet(name: str, path: Path) -> pd.DataFrame:
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as e:
        raise InputError(name, f"not a readable Parquet file ({e})") from None
    check_column_names(table.column_names, name)
    columns = []
    for column, values in zip(table.column_names, table.columns):
        kind = values.type
        if pa.types.is_floating(kind):
            nan = np.flatnonzero(pc.fill_null(pc.is_nan(values), False).to_numpy(zero_copy_only=False))
            if len(nan):
                raise InputError(name, "NaN is not a number (leave the value null for a missing value)",
                                 rows=(nan[:5] + 1).tolist(), column=column, n_bad=len(nan))
        if pa.types.is_nested(kind) or pa.types.is_map(kind):  # as JSON text, the same as JSON lines give it
            values = pa.array([None if v is None else json.dumps(v, ensure_ascii=False, default=str)
                               for v in values.to_pylist()], type=pa.string())
        columns.append(values)
    return pa.table(columns, names=table.column_names).to_pandas(types_mapper=ARROW_STRINGS)


def _read_bytes(path: Path, max_bytes: int | None) -> bytes:
    with path.open("rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"  # gzip magic, whatever the extension says
    if not gzipped:
        return path.read_bytes()
    limit = max_bytes if max_bytes is not None else float("inf")
    chunks, total = [], 0
    try:
        with gzip.open(path, "rb") as f:  # streamed: a gzip bomb stops at the limit, not at the end
            while chunk := f.read(1 << 20):
                total += len(chunk)
                if total > limit:
                    raise InputError(str(path), f"decompressed content is over the configured limit of "
                                     f"{max_bytes:,} bytes (raise max_ingest_bytes in shoplens.json to allow it)")
                chunks.append(chunk)
    except (OSError, EOFError) as e:
        raise InputError(str(path), f"corrupt gzip data ({e})") from None
    return b"".join(chunks)


def _check_utf8(name: str, raw: bytes) -> None:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise InputError(name, f"invalid UTF-8 at line {line} (byte {e.start}); save the file as UTF-8") from None


def _parse_delimited(name: str, raw: bytes, sep: str) -> pd.DataFrame:
    reader = csv.reader(io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8-sig", newline=""), delimiter=sep)
    try:
        header = next(reader)
    except csv.Error as e:
        raise InputError(name, f"malformed header line ({e})") from None
    columns = check_column_names(header, name)
    if raw.count(b'"') % 2:  # an odd number of quotes: maybe an unterminated one, which Arrow reads to the end
        _raise_for_malformed_rows(name, raw, sep, len(columns))
    parse = pacsv.ParseOptions(delimiter=sep, newlines_in_values=True)
    convert = pacsv.ConvertOptions(column_types={c: pa.string() for c in columns}, strings_can_be_null=True,
                                   null_values=[""])
    try:
        table = pacsv.read_csv(io.BytesIO(raw), parse_options=parse, convert_options=convert)
    except pa.ArrowInvalid as e:
        if "straddling" not in str(e):
            _raise_for_malformed_rows(name, raw, sep, len(columns))
            raise InputError(name, _describe_csv_error(str(e))) from None
        # a cell longer than Arrow's 1 MB block: read again in one block as large as the file
        if len(raw) >= MAX_CSV_BLOCK:
            raise InputError(name, f"a cell is too long to parse (a file over {MAX_CSV_BLOCK:,} bytes with "
                             "a multi-line cell); split the file") from None
        table = pacsv.read_csv(io.BytesIO(raw), read_options=pacsv.ReadOptions(block_size=len(raw) + 1),
                               parse_options=parse, convert_options=convert)
    return table.to_pandas(types_mapper=ARROW_STRINGS)


def _raise_for_malformed_rows(name: str, raw: bytes, sep: str, n_columns: int) -> None:
    """Find the rows Arrow choked on with Python's strict csv reader, which counts records and lines."""
    reader = csv.reader(io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8-sig", newline=""), delimiter=sep,
                        strict=True)
    bad, first_reason, row, start_line = [], None, 0, 1
    try:
        next(reader)
        start_line = reader.line_num + 1
        for record in reader:
            row += 1
            if record and len(record) != n_columns:
                bad.append(row)
                first_reason = first_reason or (f"has {len(record)} fields, the header has {n_columns} "
                                                f"(line {start_line})")
            start_line = reader.line_num + 1
    except csv.Error as e:
        reason = ("a quoted field is never closed" if "unexpected end of data" in str(e)
                  else f"malformed quoting ({e})")
        raise InputError(name, f"{reason} (the record starts at line {start_line})", rows=[row + 1]) from None
    if bad:
        raise InputError(name, first_reason, rows=bad[:5], n_bad=len(bad))


def _describe_csv_error(message: str) -> str:
    # Arrow says e.g. "CSV parse error: Expected 3 columns, got 4: a,b,c,d"; keep it, drop the noise.
    return "malformed delimited text: " + message.split("\n")[0]


def _reject_constant(constant: str):
    raise ValueError(f"{constant} is not a number (use null for a missing value)")


def _parse_jsonl(name: str, raw: bytes) -> pd.DataFrame:
    records, keys = [], {}
    for number, line in enumerate(raw.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            # numbers are kept as their text, so that validation decides (and 1e999 is not silently inf)
            record = json.loads(line, parse_constant=_reject_constant, parse_float=str, parse_int=str)
        except json.JSONDecodeError as e:
            raise InputError(name, f"invalid JSON ({e.msg})", rows=[number]) from None
        except ValueError as e:
            raise InputError(name, f"invalid JSON ({e})", rows=[number]) from None
        except RecursionError:
            raise InputError(name, "JSON nested too deeply", rows=[number]) from None
        if not isinstance(record, dict):
            raise InputError(name, "each line must be a JSON object", rows=[number])
        if _SURROGATE_ESCAPE.search(line):
            _check_no_lone_surrogates(name, number, record)
        keys.update(dict.fromkeys(record))
        records.append(record)
    check_column_names(keys, name)
    # Same contract as CSV: values as strings, a missing key or a null is a missing value.
    return pd.DataFrame({key: pd.array([_as_text(r.get(key)) for r in records], dtype=pd.StringDtype("pyarrow"))
                         for key in keys})


def _as_text(value) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False)  # a nested object or list, as JSON text


def _check_no_lone_surrogates(name: str, number: int, record: dict) -> None:
    try:
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(name, "text contains a lone UTF-16 surrogate (an escape such as \\ud800 without its "
                         "pair), which is not valid Unicode", rows=[number]) from None
