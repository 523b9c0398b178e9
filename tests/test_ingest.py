import gzip
import json

import numpy as np
import pandas as pd
import pytest

from shoplens.data.ingest import parse_mapping
from shoplens.data.readers import InputError
from shoplens.workspace import Workspace

from conftest import snapshot, write


EVENTS_CSV = "uid,sku,event,time\nu1,i1,view,2025-01-01 10:00:00\nu1,i2,purchase,2025-01-01 10:05:00\nu2,i1,view,1735725600\n"


def test_events_csv_with_mapping(ws, tmp_path):
    report = ws.ingest(write(tmp_path / "e.csv", EVENTS_CSV), "events", parse_mapping("user=uid,item=sku,ts=time"))
    assert (report.rows, report.inserted, report.replaced) == (3, 3, 0)
    events = ws.table("events")
    assert events["user_id"].tolist() == ["u1", "u1", "u2"]
    assert events["ts"].iloc[2] == pd.Timestamp("2025-01-01 10:00:00")  # epoch seconds parsed as UTC


@pytest.mark.parametrize("suffix,writer", [
    ("csv.gz", lambda df, p: p.write_bytes(gzip.compress(df.to_csv(index=False).encode()))),
    ("tsv", lambda df, p: df.to_csv(p, sep="\t", index=False)),
    ("parquet", lambda df, p: df.to_parquet(p)),
    ("jsonl", lambda df, p: df.to_json(p, orient="records", lines=True, force_ascii=False)),
])
def test_every_format_and_chinese_round_trip(ws, tmp_path, suffix, writer):
    items = pd.DataFrame({"item_id": ["a", "b"], "title": ["【品牌】保湿补水面霜 50ml", "Face cream «x» ✓"],
                          "category": ["美妆 > 护肤 > 面霜", "beauty > skin"], "price": [89.5, 12.0]})
    path = tmp_path / f"items.{suffix}"
    writer(items, path)
    ws.ingest(path, "items")
    stored = ws.table("items")
    assert stored["title"].tolist() == items["title"].tolist()  # exact UTF-8 round trip
    assert stored["category"].tolist() == items["category"].tolist()
    assert stored["price"].tolist() == [89.5, 12.0]


def test_reingest_same_file_is_a_no_op(ws, tmp_path):
    path = write(tmp_path / "e.csv", EVENTS_CSV)
    mapping = parse_mapping("user=uid,item=sku,ts=time")
    ws.ingest(path, "events", mapping)
    again = ws.ingest(path, "events", mapping)
    assert again.skipped_file and ws.count("events") == 3


def test_keyed_table_replaces_existing_keys(ws, tmp_path):
    ws.ingest(write(tmp_path / "a.csv", "item_id,title,price\na,old,1\nb,keep,2\n"), "items")
    report = ws.ingest(write(tmp_path / "b.csv", "item_id,title,price\na,new,3\nc,added,4\n"), "items")
    assert (report.inserted, report.replaced) == (1, 1)
    stored = ws.table("items").set_index("item_id")["title"].to_dict()
    assert stored == {"a": "new", "b": "keep", "c": "added"}


def test_events_with_client_ids_are_idempotent(ws, tmp_path):
    ws.ingest(write(tmp_path / "a.csv", "event_id,user_id,item_id,event,ts\ne1,u,i,view,2025-01-01\n"), "events")
    ws.ingest(write(tmp_path / "b.csv", "event_id,user_id,item_id,event,ts\ne1,u,i,view,2025-01-01\ne2,u,j,view,2025-01-02\n"), "events")
    assert sorted(ws.table("events")["event_id"]) == ["e1", "e2"]


def test_extra_columns_are_kept(ws, tmp_path):
    ws.ingest(write(tmp_path / "u.csv", "user_id,age,city\n1,30,上海\n2,41,Paris\n"), "users")
    users = ws.table("users")
    assert users["age"].tolist() == [30.0, 41.0] and users["city"].tolist() == ["上海", "Paris"]


BAD_FILES = {
    "missing column": ("e.csv", "user_id,item_id,ts\nu,i,2025-01-01\n", None, ["missing required column(s) event"]),
    "bad timestamp": ("e.csv", "user_id,item_id,event,ts\nu,i,view,2025-01-01\nu,i,view,yesterday\n", None,
                      ["row 2", "column 'ts'", "not a parseable timestamp", "'yesterday'"]),
    "empty id": ("e.csv", "user_id,item_id,event,ts\nu,i,view,2025-01-01\n,i,view,2025-01-01\n", None, ["row 2", "'user_id'", "empty id"]),
    "invalid utf-8": ("e.csv", b"user_id,item_id,event,ts\nu,\xff\xfe,view,2025-01-01\n", None, ["invalid UTF-8 at line 2"]),
    "empty file": ("e.csv", b"", None, ["file is empty"]),
    "header only": ("e.csv", "user_id,item_id,event,ts\n", None, ["no rows"]),
    "negative price": ("i.csv", "item_id,price\na,1\nb,-3\n", "items", ["row 2", "'price'", "below the minimum 0"]),
    "rating out of range": ("r.csv", "review_id,item_id,rating\nr1,a,4\nr2,a,7\n", "reviews", ["row 2", "'rating'", "above the maximum 5"]),
    "duplicate keys": ("i.csv", "item_id,title\na,x\nb,y\na,z\n", "items", ["rows 1, 3", "duplicate key item_id"]),
    "not a number": ("s.csv", "item_id,ts,qty\na,2025-01-01,two\n", "sales", ["row 1", "'qty'", "not a finite number"]),
    "ragged row": ("e.csv", "user_id,item_id,event,ts\nu,i,view,2025-01-01\nu,i,view,2025-01-01,extra\n", None,
                   ["row 2", "has 5 fields, the header has 4 (line 3)"]),
    "bad json line": ("e.jsonl", '{"user_id":"u","item_id":"i","event":"view","ts":"2025-01-01"}\n{oops\n', None, ["row 2", "invalid JSON"]),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_input_names_file_rows_column_and_changes_nothing(ws, tmp_path, case):
    name, content, kind, expected = BAD_FILES[case]
    ws.ingest(write(tmp_path / "ok.csv", "item_id,title\nkeep,me\n"), "items")
    before = snapshot(ws)
    path = write(tmp_path / name, content)
    with pytest.raises(InputError) as err:
        ws.ingest(path, kind or "events")
    message = str(err.value)
    assert message.startswith(str(path))
    for fragment in expected:
        assert fragment in message, message
    assert snapshot(ws) == before


def test_one_bad_row_among_100k(ws, tmp_path):
    n = 100_000
    frame = pd.DataFrame({"user_id": [f"u{i % 977}" for i in range(n)], "item_id": [f"i{i % 313}" for i in range(n)],
                          "event": "view", "ts": pd.date_range("2025-01-01", periods=n, freq="min").strftime("%Y-%m-%d %H:%M")})
    frame.loc[73_210, "ts"] = "2025-02-30 10:00"  # no such day
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    before = snapshot(ws)
    with pytest.raises(InputError, match=r"row 73211 column 'ts': not a parseable timestamp \(no such date or time\) \(e\.g\. '2025-02-30 10:00'\)"):
        ws.ingest(path, "events")
    assert snapshot(ws) == before
    frame.loc[73_210, "ts"] = "2025-02-28 10:00"
    frame.to_csv(path, index=False)
    assert ws.ingest(path, "events").inserted == n and ws.count("events") == n  # nothing accepted is lost


def test_file_over_the_size_limit(tmp_path):
    ws = Workspace.init(tmp_path / "ws")
    ws.settings.max_ingest_bytes = 100
    path = write(tmp_path / "e.csv", EVENTS_CSV * 5)
    with pytest.raises(InputError, match="over the configured limit of 100 bytes"):
        ws.ingest(path, "events", parse_mapping("user=uid,item=sku,ts=time"))
    assert ws.count("events") == 0
    ws.close()


def test_failure_inside_the_transaction_rolls_back_new_columns(ws, tmp_path):
    ws.ingest(write(tmp_path / "a.csv", "user_id,age\n1,30\n"), "users")
    before = snapshot(ws)
    with pytest.raises(InputError, match="'age': not a number, but earlier files stored this column as numbers"):
        ws.ingest(write(tmp_path / "b.csv", "user_id,age,city\n2,old,Rome\n"), "users")
    assert snapshot(ws) == before  # the ALTER TABLE for `city` was rolled back too


def test_several_bad_columns_reported_in_one_error(ws, tmp_path):
    path = write(tmp_path / "e.csv", "user_id,item_id,event,ts\n,i,view,2025-01-01\nu,i,view,never\n")
    with pytest.raises(InputError) as err:
        ws.ingest(path, "events")
    assert "'user_id': empty id" in str(err.value) and "'ts': not a parseable timestamp" in str(err.value)


def test_mapping_errors():
    with pytest.raises(ValueError, match="expected canonical=source"):
        parse_mapping("user_id")
    assert parse_mapping("user=uid, item = sku") == {"user": "uid", "item": "sku"}


def test_mapping_to_a_missing_source_column(ws, tmp_path):
    with pytest.raises(InputError, match="the file has no column 'nope'"):
        ws.ingest(write(tmp_path / "e.csv", EVENTS_CSV), "events", {"user_id": "nope"})


def test_dataframe_source_and_json_report(ws):
    frame = pd.DataFrame({"user_id": ["a"], "item_id": ["x"], "event": ["view"], "ts": [pd.Timestamp("2025-01-01")]})
    report = ws.ingest(frame, "events")
    assert report.inserted == 1 and json.dumps(report.__dict__)
    assert np.issubdtype(ws.table("events")["ts"].dtype, np.datetime64)


def test_epoch_beyond_the_datetime_range_is_a_clear_error(ws, tmp_path):
    path = write(tmp_path / "e.csv", "user_id,item_id,event,ts\nu,i,view,1735725600\nu,i,view,-1e30\n")
    with pytest.raises(InputError, match=r"row 2 column 'ts': a number that is not a plausible epoch time .* \(e\.g\. '-1e30'\)"):
        ws.ingest(path, "events")
