"""Read a tabular file (CSV, TSV, Parquet, JSON lines; gzip too) into a DataFrame, strictly.

Text formats are read with every column as a string, so that validation (not the parser)
decides what a value means and can name the row that is wrong.
"""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

FORMATS = ("csv", "tsv", "parquet", "jsonl")
# Strings stay in Arrow memory (no million Python str objects); validation works on them with Arrow compute.
ARROW_STRINGS = {pa.string(): pd.StringDtype("pyarrow"), pa.large_string(): pd.StringDtype("pyarrow")}.get


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
    """The file as a DataFrame; text formats give string (object) columns, nulls for empty cells."""
    path = Path(path)
    name = str(path)
    if not path.is_file():
        raise InputError(name, "file not found")
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise InputError(name, f"file is {size:,} bytes, over the configured limit of {max_bytes:,} bytes "
                         "(raise max_ingest_bytes in shoplens.json to allow it)")
    if size == 0:
        raise InputError(name, "file is empty")
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise InputError(name, f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if fmt == "parquet":
        try:
            return pq.read_table(path).to_pandas(types_mapper=ARROW_STRINGS)
        except (pa.ArrowInvalid, OSError) as e:
            raise InputError(name, f"not a readable Parquet file ({e})") from None
    raw = _read_bytes(path)
    _check_utf8(name, raw)
    if not raw.strip():
        raise InputError(name, "file has no rows")
    if fmt == "jsonl":
        return _parse_jsonl(name, raw)
    return _parse_delimited(name, raw, "," if fmt == "csv" else "\t")


def _read_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":  # gzip magic, whatever the extension says
        try:
            return gzip.decompress(data)
        except (OSError, EOFError) as e:
            raise InputError(str(path), f"corrupt gzip data ({e})") from None
    return data


def _check_utf8(name: str, raw: bytes) -> None:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise InputError(name, f"invalid UTF-8 at line {line} (byte {e.start}); save the file as UTF-8") from None


def _parse_delimited(name: str, raw: bytes, sep: str) -> pd.DataFrame:
    header = raw.split(b"\n", 1)[0].decode("utf-8").rstrip("\r").lstrip("\ufeff")
    columns = [c.strip('"') for c in header.split(sep)]
    if len(set(columns)) != len(columns):
        raise InputError(name, f"duplicate column names in the header: {columns}")
    try:
        table = pacsv.read_csv(
            io.BytesIO(raw),
            parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in columns}, strings_can_be_null=True, null_values=[""]
            ),
        )
    except pa.ArrowInvalid as e:
        raise InputError(name, _describe_csv_error(str(e))) from None
    return table.to_pandas(types_mapper=ARROW_STRINGS)


def _describe_csv_error(message: str) -> str:
    # Arrow says e.g. "CSV parse error: Expected 3 columns, got 4: a,b,c,d"; keep it, drop the noise.
    return "malformed delimited text: " + message.split("\n")[0]


def _parse_jsonl(name: str, raw: bytes) -> pd.DataFrame:
    records = []
    for number, line in enumerate(raw.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(name, f"invalid JSON ({e.msg})", rows=[number]) from None
        if not isinstance(record, dict):
            raise InputError(name, "each line must be a JSON object", rows=[number])
        records.append(record)
    df = pd.DataFrame.from_records(records)
    # Same contract as CSV: values as strings, so validation decides what they mean.
    return df.apply(lambda col: col.map(lambda v: None if v is None else (v if isinstance(v, str) else json.dumps(v) if isinstance(v, (dict, list)) else str(v))))
