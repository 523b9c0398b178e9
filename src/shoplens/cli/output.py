"""How a command shows its result: a readable Rich table or text by default, exactly one JSON document with
`--json`, and a file with `--out FILE` (.csv, .parquet or .json) for the commands that produce a table."""

from __future__ import annotations

import json
import math
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from shoplens.cli import console, errors, fail

OUT_FORMATS = (".csv", ".parquet", ".json")  # pandas is imported inside the functions: `shoplens --help` stays fast
MAX_PIPED_WIDTH = 240  # characters per line of a table printed to a file or a pipe
OUT_HELP = "also write the whole table to this file: .csv, .parquet or .json"
JSON_HELP = "print the result as one JSON document on stdout (progress and notes go to stderr)"


def jsonable(value):
    """Timestamps, numpy numbers, NaN (-> null) and DataFrames (-> a list of records) as plain JSON values."""
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        return json.loads(frame_for_output(value).to_json(orient="records", date_format="iso", force_ascii=False,
                                                          default_handler=str))
    if isinstance(value, dict):  # tables inside a result keep their named index (e.g. the segment names)
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return json.loads(pd.Series([value], dtype=object).to_json(orient="records", date_format="iso",
                                                               force_ascii=False, default_handler=str))[0]


def print_json(value) -> None:
    """One JSON document on stdout, nothing else."""
    print(json.dumps(jsonable(value), ensure_ascii=False, allow_nan=False))


def frame_for_output(frame: pd.DataFrame) -> pd.DataFrame:
    """A named index (user_id, item_id, ...) becomes a column; a plain row number is dropped."""
    if any(name is not None for name in frame.index.names):
        return frame.reset_index()
    return frame.reset_index(drop=True)


def print_table(frame: pd.DataFrame, title: str | None = None, limit: int | None = 20) -> None:
    """A DataFrame as a Rich table: full column names (long ones fold onto the next line, never cut),
    lists as comma-separated text, missing values empty; the first `limit` rows (None: all)."""
    frame = frame_for_output(frame)
    shown = frame if limit is None else frame.head(limit)
    cells = [[cell_text(v) for v in row] for row in shown.itertuples(index=False)]
    # Text, not markup: a title, header or cell may hold a user's [brackets]
    table = Table(title=None if title is None else Text(title, style="italic"))
    for column in frame.columns:
        table.add_column(Text(str(column)), overflow="fold")
    for row in cells:
        table.add_row(*map(Text, row))
    if console.is_terminal:  # a terminal's width is fixed: long cells and headers fold onto more lines
        console.print(table)
    else:  # a file or a pipe has no width: one line per row, up to MAX_PIPED_WIDTH
        natural = console.measure(table, options=console.options.update_width(MAX_PIPED_WIDTH)).maximum
        Console(width=max(console.width, natural), no_color=console.no_color).print(table)
    if limit is not None and len(frame) > limit:
        console.print(f"(first {limit:,} of {len(frame):,} rows; all of them: --out FILE or --json)")


def cell_text(value) -> str:
    import pandas as pd

    if isinstance(value, (list, tuple)) or (hasattr(value, "tolist") and not isinstance(value, str)
                                             and getattr(value, "ndim", 0) == 1):
        return ", ".join(cell_text(v) for v in list(value))
    if isinstance(value, dict):
        return ", ".join(f"{k}: {cell_text(v)}" for k, v in value.items())
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d") if value == value.normalize() else value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return str(value)


def note(message: str) -> None:
    """One `note: ...` line on stderr: stdout keeps the result alone (one JSON document under --json)."""
    errors.print(f"note: {message}", soft_wrap=True, markup=False, highlight=False)


def check_out(path: Path | None) -> None:
    """Refuse an --out path that cannot be written before any work is done."""
    if path is None:
        return
    if path.suffix.lower() not in OUT_FORMATS:
        fail(f"--out {path}: the file name must end in {', '.join(OUT_FORMATS)} (it picks the format)")
    if not path.parent.is_dir():
        fail(f"--out {path}: the folder {path.parent} does not exist")
    if path.is_dir():
        fail(f"--out {path} is a folder; give a file name")


def write_out(frame: pd.DataFrame, path: Path | None, as_json: bool = False) -> None:
    """Write the whole table to `path` (format by extension) and say where (on stderr under --json, whose
    stdout is the JSON document alone); nothing when path is None.
    CSV cannot hold lists: they are written as `a; b` text (Parquet and JSON keep them as lists)."""
    if path is None:
        return
    frame = frame_for_output(frame)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame.to_parquet(path, index=False)
    elif suffix == ".json":
        path.write_text(json.dumps(jsonable(frame), ensure_ascii=False, allow_nan=False), encoding="utf-8")
    else:
        as_text = {c: frame[c].map(lambda v: "; ".join(map(str, v)) if isinstance(v, (list, tuple)) else v)
                   for c in frame.columns if frame[c].map(lambda v: isinstance(v, (list, tuple))).any()}
        frame.assign(**as_text).to_csv(path, index=False)
    (errors if as_json else console).print(f"wrote {len(frame):,} rows to {path}", soft_wrap=True)
