"""The closed event vocabulary: a shop's own action names are mapped, refused, or kept on purpose — never
stored as something no model counts (issue 17: `buy` was accepted and then never counted as a purchase)."""

import json

import pytest

from shoplens.data.ingest import parse_value_map
from shoplens.data.readers import InputError
from shoplens.workspace import Workspace

from conftest import snapshot, write

TAOBAO = "uid,sku,act,time\nu1,i1,pv,2024-03-05 14:02:11\nu1,i2,fav,2024-03-05 14:03:00\nu1,i2,buy,2024-03-05 14:05:00\n"
MAP = {"user_id": "uid", "item_id": "sku", "event": "act", "ts": "time"}


def test_unknown_event_names_are_refused_with_the_accepted_list(ws, tmp_path):
    before = snapshot(ws)
    with pytest.raises(InputError) as err:
        ws.ingest(write(tmp_path / "e.csv", TAOBAO), "events", MAP)
    message = str(err.value)
    assert "rows 1, 2, 3 column 'event': unknown event name(s) 'pv' (1 row), 'fav' (1 row), 'buy' (1 row)" in message
    assert "accepted: view, click, cart, purchase" in message and "--map-values event=pv:" in message
    assert snapshot(ws) == before


def test_mapped_names_are_stored_canonical_and_remembered(ws, tmp_path):
    report = ws.ingest(write(tmp_path / "e.csv", TAOBAO), "events", MAP,
                       value_map=parse_value_map("event=buy:purchase,pv:view,fav:favorite"))
    assert report.inserted == 3
    assert ws.table("events")["event"].tolist() == ["view", "favorite", "purchase"]
    assert json.loads((ws.path / "shoplens.json").read_text())["event_names"] == {"buy": "purchase", "pv": "view", "fav": "favorite"}
    # the workspace remembers: the next file (or POST /events) with the same names needs no flag
    ws.ingest(write(tmp_path / "more.csv", TAOBAO.replace("u1", "u2")), "events", MAP)
    assert ws.table("events")["event"].tolist()[3:] == ["view", "favorite", "purchase"]
    reopened = Workspace.open(ws.path)
    assert reopened.settings.event_names["buy"] == "purchase"


def test_a_mapping_to_a_name_outside_the_vocabulary_is_refused(ws, tmp_path):
    with pytest.raises(InputError, match=r"--map-values event=buy:bought: 'bought' is not a known event"):
        ws.ingest(write(tmp_path / "e.csv", TAOBAO), "events", MAP, value_map={"event": {"buy": "bought"}})
    with pytest.raises(ValueError, match="'user_id' is not a column with a closed vocabulary"):
        ws.ingest(write(tmp_path / "e.csv", TAOBAO), "events", MAP, value_map={"user_id": {"u1": "x"}})


def test_custom_event_types_are_kept_only_on_purpose_and_counted(ws, tmp_path):
    content = TAOBAO + "u3,i1,share,2024-03-06 10:00:00\nu4,i1,share,2024-03-06 10:01:00\n"
    mapping = parse_value_map("event=buy:purchase,pv:view,fav:favorite")
    with pytest.raises(InputError, match=r"rows 4, 5 column 'event': unknown event name\(s\) 'share' \(2 rows\)"):
        ws.ingest(write(tmp_path / "e.csv", content), "events", MAP, value_map=mapping)
    report = ws.ingest(write(tmp_path / "e.csv", content), "events", MAP, value_map=mapping, keep_unknown_events=True)
    assert report.custom_events == {"share": 2} and "custom event types kept: share (2)" in report.summary()
    assert ws.settings.custom_events == ["share"]
    ws.ingest(write(tmp_path / "f.csv", "user_id,event,ts\nu9,share,2024-03-07\n"), "events")  # accepted from now on


def test_parse_value_map():
    assert parse_value_map("event=buy:purchase, pv:view") == {"event": {"buy": "purchase", "pv": "view"}}
    with pytest.raises(ValueError, match="expected column=yours:canonical"):
        parse_value_map("buy:purchase")
    with pytest.raises(ValueError, match="expected column=yours:canonical"):
        parse_value_map("event=buy")
