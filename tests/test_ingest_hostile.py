"""Hostile and subtly wrong files: nothing runs, nothing is stored wrong, every refusal names what and where.

Issue 16 sections 1 and 2. Each case here was reproduced against the code before the fix (SQL ran from a
CSV header; 'nan' ids; naive times shifted by a neighbour's offset; a bare year read as epoch seconds; ...).
"""

import ast
import datetime
import gzip
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shoplens.data.readers import InputError, read_table
from shoplens.workspace import Workspace

from conftest import snapshot, write

# Each would have run SQL (or been the start of a statement) when names were formatted into SQL.
INJECTIONS = {
    "copy out": 'x" VARCHAR; COPY (SELECT 42 AS p) TO \'p.csv\'; ALTER TABLE items ADD COLUMN "y',
    "read_text": 'x" VARCHAR; COPY (SELECT * FROM read_text(\'/etc/hostname\')) TO \'h.csv\'; --',
    "attach": "x\" VARCHAR; ATTACH 'evil.duckdb' AS evil; CREATE TABLE evil.t AS SELECT 1; --",
    "install": 'x" VARCHAR; INSTALL httpfs; LOAD httpfs; --',
    "comment": "x -- the rest is a comment",
    "block comment": "x /* VARCHAR */",
    "single quote": "it's",
    "closing paren": "a) ; DROP TABLE events; --",
}
# Refused: one clear error each.
BAD_NAMES = {
    "empty": ("", "has an empty name"),
    "blank": ("   ", "has an empty name"),
    "too long": ("x" * 129, "129 characters long; the limit is 128"),
    "control character": ("a\x01b", "unprintable character U+0001"),
    "newline": ("a\nb", "unprintable character U+000A"),
    "right-to-left override": ("abc\u202e", "unprintable character U+202E"),
    "reserved": ("_row", "which the workspace uses itself"),
}


def csv_with_header(path, names, values):
    frame = pd.DataFrame([values], columns=names)
    frame.to_csv(path, index=False)
    return path


def jsonl_with_keys(path, names, values):
    path.write_text(json.dumps(dict(zip(names, values))) + "\n", encoding="utf-8")
    return path


def parquet_with_columns(path, names, values):
    pq.write_table(pa.table({n: [v] for n, v in zip(names, values)}), path)
    return path


WRITERS = {"csv": csv_with_header, "jsonl": jsonl_with_keys, "parquet": parquet_with_columns}


def files_under(*roots):
    return {p for root in roots for p in Path(root).rglob("*") if p.is_file()}


@pytest.mark.parametrize("fmt", list(WRITERS))
@pytest.mark.parametrize("case", list(INJECTIONS))
def test_a_hostile_header_is_only_a_name(ws, tmp_path, monkeypatch, fmt, case):
    """The name is stored verbatim as an extra column; no statement in it runs, no file appears anywhere."""
    repo = Path.cwd()
    monkeypatch.chdir(tmp_path)  # a relative COPY ... TO 'p.csv' would land here
    name = INJECTIONS[case]
    path = WRITERS[fmt](tmp_path / f"items.{fmt}", ["item_id", "title", name], ["a", "t", "v"])
    before_files = files_under(tmp_path)
    tables = set(ws.counts())
    ws.ingest(path, "items")
    stored = ws.table("items")
    assert list(stored.columns) == ["item_id", "title", "description", "category", "brand", "price", "created_at", name]
    assert stored[name].tolist() == ["v"] and ws.count("events") == 0
    assert set(ws.counts()) == tables
    created = {p for p in files_under(tmp_path) - before_files if "ws" not in p.relative_to(tmp_path).parts}
    assert not created, created
    assert not any((where / f).exists() for where in (repo, ws.path) for f in ("p.csv", "h.csv", "evil.duckdb"))
    attached = ws.connect().execute("SELECT database_name FROM duckdb_databases() WHERE NOT internal").fetchall()
    assert [d for (d,) in attached if d not in ("shoplens", "memory")] == [], attached


@pytest.mark.parametrize("fmt", list(WRITERS))
@pytest.mark.parametrize("case", list(BAD_NAMES))
def test_a_bad_column_name_is_one_clear_error(ws, tmp_path, fmt, case):
    name, reason = BAD_NAMES[case]
    if fmt == "csv" and case == "blank":
        name = ""  # pandas would write '   ' quoted; the empty name is the CSV form of this case
    ws.ingest(write(tmp_path / "keep.csv", "item_id,title\nkeep,me\n"), "items")
    before = snapshot(ws)
    path = WRITERS[fmt](tmp_path / f"items.{fmt}", ["item_id", name], ["a", "v"])
    with pytest.raises(InputError) as err:
        ws.ingest(path, "items")
    message = str(err.value)
    assert message.startswith(str(path)) and reason in message and "\n" not in message, message
    assert snapshot(ws) == before


@pytest.mark.parametrize("header", ["user_id,item_id,event,ts,TS", "user_id,item_id,event,ts,Ts"])
def test_names_that_differ_only_in_case_are_refused(ws, tmp_path, header):
    path = write(tmp_path / "e.csv", f"{header}\nu,i,view,2025-01-01,2025-01-01\n")
    with pytest.raises(InputError, match="differ only in case; names must be unique ignoring case"):
        ws.ingest(path, "events")
    assert ws.count("events") == 0


def test_an_extra_column_that_matches_a_stored_one_only_in_case(ws, tmp_path):
    ws.ingest(write(tmp_path / "a.csv", "item_id,colour\na,red\n"), "items")
    before = snapshot(ws)
    with pytest.raises(InputError, match=r"column 'Colour' differs from the stored column 'colour' only in case.*--map colour=Colour"):
        ws.ingest(write(tmp_path / "b.csv", "item_id,Colour\nb,blue\n"), "items")
    with pytest.raises(InputError, match="differs from the stored column 'title' only in case"):
        ws.ingest(write(tmp_path / "c.csv", "item_id,Title\nc,x\n"), "items")
    assert snapshot(ws) == before


def test_a_quoted_header_with_the_separator_inside_is_one_name(ws, tmp_path):
    ws.ingest(write(tmp_path / "i.csv", 'item_id,"size, cm"\na,12\n'), "items")
    assert ws.table("items")["size, cm"].tolist() == [12.0]


def test_no_sql_string_in_the_package_formats_a_value_it_was_given():
    """Every f-string passed to execute()/sql() may only interpolate the package's own names: upper-case
    module constants, the schema's table and key names, and names the code generates itself. (A string built
    elsewhere and passed by variable escapes this check; none does today.)"""
    allowed = {"LOG_TABLE", "CACHE_TABLE", "KEYS_TABLE", "self.PREDICTED_CATEGORIES",  # module and class constants
               "spec.name", "cols", "match",  # the schema's table, column and key names (data/schema.py)
               "table", "rebuilt",  # ingest._add_columns: a schema table name and one derived from it
               "view", "reader",  # names the code generates (a registered view, a DuckDB reader function)
               "name",  # workspace.table/count: refused unless a schema table name (table_spec)
               "', '.join(marks)"}  # serve: quoted schema table names passed by the code, not a request
    offenders = []
    for path in Path(__file__).parents[1].joinpath("src", "shoplens").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("execute", "sql", "executemany") and node.args):
                continue
            for part in ast.walk(node.args[0]):
                if isinstance(part, ast.FormattedValue):
                    offenders.append(f"{path.name}:{node.lineno}: {ast.unparse(part.value)}")
    unexpected = [o for o in offenders if o.rsplit(": ", 1)[1] not in allowed]
    assert not unexpected, unexpected


# --- section 2: data that was stored wrong without a word ---------------------------------------------------

def test_jsonl_missing_keys_are_missing_not_nan(ws, tmp_path):
    path = write(tmp_path / "e.jsonl", '{"user_id":"u1","item_id":"i","event":"view","ts":"2025-01-01"}\n'
                                       '{"item_id":"i","event":"view","ts":"2025-01-01"}\n')
    with pytest.raises(InputError, match=r"row 2 column 'user_id': empty id"):
        ws.ingest(path, "events")
    ok = write(tmp_path / "ok.jsonl", '{"user_id":"u1","item_id":"i","event":"view","ts":"2025-01-01","session_id":"s"}\n'
                                      '{"user_id":"u2","item_id":"i","event":"view","ts":"2025-01-01"}\n')
    ws.ingest(ok, "events")
    sessions = ws.table("events")["session_id"].tolist()
    assert sessions[0] == "s" and pd.isna(sessions[1])
    text_columns = ["user_id", "item_id", "event", "session_id", "query", "event_id"]
    assert "nan" not in ws.table("events")[text_columns].astype(str).to_numpy().ravel().tolist()


def test_jsonl_numbers_keep_their_text(ws, tmp_path):
    path = write(tmp_path / "i.jsonl", '{"item_id": 12345678901234567890, "price": 1.10}\n{"item_id": 7, "price": 2}\n')
    ws.ingest(path, "items")
    assert ws.table("items")["item_id"].tolist() == ["12345678901234567890", "7"]


@pytest.mark.parametrize("value, reason", [("NaN", "NaN is not a number"), ("Infinity", "Infinity is not a number"),
                                           ("-Infinity", "-Infinity is not a number"), ("1e999", "not a finite number")])
def test_jsonl_nan_and_infinity_are_refused(ws, tmp_path, value, reason):
    path = write(tmp_path / "e.jsonl", '{"user_id":"u","event":"view","ts":"2025-01-01","value":1}\n'
                                       f'{{"user_id":"u","event":"view","ts":"2025-01-01","value":{value}}}\n')
    with pytest.raises(InputError, match=f"row 2.*{reason}"):
        ws.ingest(path, "events")
    assert ws.count("events") == 0


def test_mixed_offsets_and_naive_times_follow_one_rule(ws, tmp_path):
    """Naive = UTC, offsets converted to UTC, the same from CSV, JSON lines, Parquet and a DataFrame."""
    times = ["2025-01-01 12:00:00+08:00", "2025-01-01 12:00:00", "2025-01-01 12:00:00-05:00"]
    expected = [pd.Timestamp("2025-01-01 04:00"), pd.Timestamp("2025-01-01 12:00"), pd.Timestamp("2025-01-01 17:00")]
    rows = pd.DataFrame({"user_id": ["a", "b", "c"], "event": "view", "ts": times})
    sources = {"csv": tmp_path / "e.csv", "jsonl": tmp_path / "e.jsonl", "parquet": tmp_path / "e.parquet"}
    rows.to_csv(sources["csv"], index=False)
    rows.to_json(sources["jsonl"], orient="records", lines=True)
    rows.to_parquet(sources["parquet"], index=False)
    for fmt, path in sources.items():
        with Workspace.init(tmp_path / f"ws-{fmt}") as w:
            w.ingest(path, "events")
            assert w.table("events")["ts"].tolist() == expected, fmt
    ws.ingest(rows.assign(user_id=["x", "y", "z"]), "events")
    assert ws.table("events")["ts"].tolist() == expected


@pytest.mark.parametrize("value, reason", [
    ("2025", "not a plausible epoch time"),
    ("05/03/2024", "not a parseable timestamp (accepted: ISO 8601"),
    ('"March 5, 2024"', "not a parseable timestamp (accepted: ISO 8601"),
    ("1500-01-01", "outside the supported range of years 1678..2261"),
    ("9999-12-31", "outside the supported range of years 1678..2261"),
    ("2025-02-30", "no such date or time"),
])
def test_ambiguous_or_implausible_times_are_refused(ws, tmp_path, value, reason):
    path = write(tmp_path / "e.csv", f"user_id,event,ts\nu,view,2025-01-01\nu,view,{value}\n")
    with pytest.raises(InputError) as err:
        ws.ingest(path, "events")
    assert "row 2 column 'ts'" in str(err.value) and reason in str(err.value), str(err.value)
    assert ws.count("events") == 0


def test_a_named_date_format_reads_day_first(ws, tmp_path):
    path = write(tmp_path / "e.csv", "user_id,event,ts\nu,view,05/03/2024\nu,view,31/12/2024\n")
    ws.ingest(path, "events", date_format="%d/%m/%Y")
    assert ws.table("events")["ts"].tolist() == [pd.Timestamp("2024-03-05"), pd.Timestamp("2024-12-31")]
    with pytest.raises(InputError, match=r"row 2 column 'ts': not a timestamp in the format '%m/%d/%Y'"):
        ws.ingest(path, "events", date_format="%m/%d/%Y")


def test_year_first_slashes_and_epochs_still_read(ws, tmp_path):
    path = write(tmp_path / "e.csv", "user_id,event,ts\nu,view,2024/03/05 14:02:11\nu,view,1735725600\nu,view,1735725600000\nu,view,20240305\n")
    ws.ingest(path, "events")
    assert ws.table("events")["ts"].tolist() == [pd.Timestamp("2024-03-05 14:02:11"), pd.Timestamp("2025-01-01 10:00"),
                                                 pd.Timestamp("2025-01-01 10:00"), pd.Timestamp("2024-03-05")]


def test_parquet_timestamps_outside_the_range_are_refused_like_csv(ws, tmp_path):
    path = tmp_path / "e.parquet"
    pq.write_table(pa.table({"user_id": ["u", "u"], "event": ["view", "view"],
                             "ts": pa.array([datetime.datetime(2025, 1, 1), datetime.datetime(9999, 12, 31)], pa.timestamp("us"))}), path)
    with pytest.raises(InputError, match=r"row 2 column 'ts': outside the supported range of years 1678..2261"):
        ws.ingest(path, "events")
    assert ws.count("events") == 0


def test_parquet_integer_ids_with_a_null_stay_integers(ws, tmp_path):
    path = tmp_path / "e.parquet"
    pq.write_table(pa.table({"user_id": pa.array([101, None, 7], pa.int64()), "item_id": pa.array([5, 6, None], pa.int32()),
                             "event": ["view"] * 3, "ts": ["2025-01-01"] * 3}), path)
    with pytest.raises(InputError, match="row 2 column 'user_id': empty id"):
        ws.ingest(path, "events")
    pq.write_table(pa.table({"user_id": pa.array([101, 102], pa.int64()), "item_id": pa.array([5, None], pa.int32()),
                             "event": ["view"] * 2, "ts": ["2025-01-01"] * 2}), path)
    ws.ingest(path, "events")
    stored = ws.table("events")
    assert stored["user_id"].tolist() == ["101", "102"] and stored["item_id"].iloc[0] == "5" and pd.isna(stored["item_id"].iloc[1])


def test_nan_is_refused_in_parquet_as_in_csv(ws, tmp_path):
    path = tmp_path / "i.parquet"
    pq.write_table(pa.table({"item_id": ["a", "b"], "price": [1.0, float("nan")]}), path)
    with pytest.raises(InputError, match=r"row 2 column 'price': NaN is not a number"):
        ws.ingest(path, "items")
    with pytest.raises(InputError, match=r"row 2 column 'price': not a finite number"):
        ws.ingest(write(tmp_path / "i.csv", "item_id,price\na,1\nb,NaN\n"), "items")
    pq.write_table(pa.table({"item_id": ["a", "b"], "price": [1.0, None]}), path)  # null is a missing value
    ws.ingest(path, "items")
    assert ws.table("items")["price"].isna().tolist() == [False, True]


def test_a_list_where_a_number_belongs(ws, tmp_path):
    path = tmp_path / "i.parquet"
    pq.write_table(pa.table({"item_id": ["a", "b"], "price": pa.array([[1.0], [1.0, 2.0]], pa.list_(pa.float64()))}), path)
    with pytest.raises(InputError, match=r"rows 1, 2 column 'price': not a finite number \(e\.g\. '\[1\.0\]'\)"):
        ws.ingest(path, "items")


def test_the_size_limit_applies_to_decompressed_content(tmp_path):
    rows = "u,i,view,2025-01-01\n" * 50_000  # ~1 MB of text, a few kB compressed
    path = tmp_path / "e.csv.gz"
    path.write_bytes(gzip.compress(("user_id,item_id,event,ts\n" + rows).encode()))
    assert path.stat().st_size < 20_000
    with pytest.raises(InputError, match="decompressed content is over the configured limit of 100,000 bytes"):
        read_table(path, max_bytes=100_000)
    assert len(read_table(path, max_bytes=10_000_000)) == 50_000


def test_a_cell_longer_than_arrows_block_loads(ws, tmp_path):
    long_text = "很长的描述 " * 1_000_000  # ~ 16 MB of UTF-8 in one cell
    path = tmp_path / "i.csv"
    pd.DataFrame({"item_id": ["a", "b"], "description": [long_text, "short\nwith a newline"]}).to_csv(path, index=False)
    ws.ingest(path, "items")
    assert ws.table("items")["description"].tolist() == [long_text, "short\nwith a newline"]


@pytest.mark.parametrize("content, expected", [
    ("user_id,event,ts\nu,view,2025-01-01\nu,view,2025-01-01,extra\n", "row 2 has 4 fields, the header has 3 (line 3)"),
    ("user_id,event,ts\nu,view,2025-01-01\nu,view\nu,view\n", "rows 2, 3 has 2 fields, the header has 3 (line 3)"),
    ('user_id,event,ts\n"u,view,2025-01-01\nu,view,2025-01-01\n', 'row 1 a quoted field is never closed (the record starts at line 2)'),
])
def test_malformed_rows_are_named(ws, tmp_path, content, expected):
    path = write(tmp_path / "e.csv", content)
    with pytest.raises(InputError) as err:
        ws.ingest(path, "events")
    assert str(err.value).startswith(f"{path}: {expected}"), str(err.value)
    assert ws.count("events") == 0


def test_paths_that_are_not_files(tmp_path):
    (tmp_path / "adir.csv").mkdir()
    loop = tmp_path / "loop.csv"
    loop.symlink_to(loop)
    with pytest.raises(InputError, match="is a directory; give the path of a file"):
        read_table(tmp_path / "adir.csv")
    with pytest.raises(InputError, match="is a symbolic link loop, not a file"):
        read_table(loop)
    with pytest.raises(InputError, match="file not found"):
        read_table(tmp_path / "absent.csv")


def test_json_nested_too_deeply(ws, tmp_path):
    deep = "[" * 100_000 + "]" * 100_000
    path = write(tmp_path / "e.jsonl", '{"user_id":"u","event":"view","ts":"2025-01-01"}\n{"user_id":"u","x":' + deep + "}\n")
    with pytest.raises(InputError, match="row 2 JSON nested too deeply"):
        ws.ingest(path, "events")


def test_a_lone_surrogate_is_refused(ws, tmp_path):
    path = write(tmp_path / "e.jsonl", '{"user_id":"u","event":"view","ts":"2025-01-01"}\n{"user_id":"u\\ud800","event":"view","ts":"2025-01-01"}\n')
    with pytest.raises(InputError, match="row 2 text contains a lone UTF-16 surrogate"):
        ws.ingest(path, "events")
    ok = write(tmp_path / "ok.jsonl", '{"user_id":"\\ud83d\\ude00","event":"view","ts":"2025-01-01"}\n')  # a valid pair
    ws.ingest(ok, "events")
    assert ws.table("events")["user_id"].tolist() == ["\U0001F600"]
    frame = pd.DataFrame({"user_id": ["a", "b\ud800"], "event": ["view", "view"], "ts": ["2025-01-01", "2025-01-01"]})
    with pytest.raises(InputError, match="row 2 column 'user_id': text contains a lone UTF-16 surrogate"):
        ws.ingest(frame, "events")
    assert ws.count("events") == 1


def test_a_nul_character_in_an_id_is_refused(ws, tmp_path):
    frame = pd.DataFrame({"user_id": ["a", "a\x00b"], "event": ["view", "view"], "ts": ["2025-01-01", "2025-01-01"]})
    with pytest.raises(InputError, match=r"row 2 column 'user_id': contains a NUL character \(U\+0000\)"):
        ws.ingest(frame, "events")
    assert ws.count("events") == 0
