"""Query suggestions: prefix completions by popularity, similar queries, persistence, bad input."""

import pandas as pd
import pytest

from shoplens.search import QuerySuggester


@pytest.fixture(scope="module")
def events():
    rows = [("s1", "蓝牙耳机"), ("s1", "无线耳机"), ("s2", "蓝牙耳机"), ("s2", "无线耳机"), ("s3", "蓝牙音箱"),
            ("s4", "Bluetooth  Earbuds"), ("s5", "bluetooth earbuds"), ("s6", "bluetooth speaker"),
            ("s7", "蓝牙耳机"), ("s8", None), ("s9", "   ")]
    return pd.DataFrame(rows, columns=["session_id", "query"])


@pytest.fixture(scope="module")
def suggester(events):
    return QuerySuggester(encoder="static").fit(events)


def test_prefix_completions_ranked_by_popularity(suggester):
    assert suggester.complete("蓝牙", k=5)["query"].tolist() == ["蓝牙耳机", "蓝牙音箱"]
    completions = suggester.complete("BLUE", k=5)
    assert completions["query"].tolist() == ["bluetooth earbuds", "bluetooth speaker"]
    assert completions["count"].tolist() == [2, 1]
    assert suggester.complete("", k=1)["query"].tolist() == ["蓝牙耳机"]
    assert suggester.complete("zzz").empty
    assert suggester.complete("\x00" * 5000 + "蓝")["query"].tolist()  # control characters are dropped


def test_similar_queries_use_sessions_and_embeddings(suggester):
    similar = suggester.similar("蓝牙耳机", k=3)
    assert similar["query"].iloc[0] == "无线耳机"  # searched in the same two sessions
    assert similar["co_sessions"].iloc[0] == 2
    assert "蓝牙耳机" not in similar["query"].tolist()
    assert suggester.similar("", k=3).empty


def test_save_and_load(suggester, tmp_path):
    suggester.save(tmp_path / "suggest")
    loaded = QuerySuggester.load(tmp_path / "suggest")
    assert loaded.complete("blue").equals(suggester.complete("blue"))
    assert loaded.similar("蓝牙耳机")["query"].tolist() == suggester.similar("蓝牙耳机")["query"].tolist()
    with pytest.raises(FileNotFoundError):
        QuerySuggester.load(tmp_path / "missing")


def test_events_without_queries_are_refused():
    with pytest.raises(ValueError, match="query column"):
        QuerySuggester(encoder=None).fit(pd.DataFrame({"session_id": ["a"]}))
    empty = QuerySuggester(encoder=None).fit(pd.DataFrame({"query": [None]}))
    assert empty.complete("a").empty and empty.similar("a").empty
