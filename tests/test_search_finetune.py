"""shoplens.search.finetune / .adapter: MiniLM fine-tuned, or a linear adapter on frozen MiniLM vectors, learnt
from judged (query, title, grade) pairs (tiny data: they only have to learn, persist, and plug into a SearchIndex
and the relevance bench)."""

import gzip

import numpy as np
import pandas as pd
import pytest

from shoplens.bench import search as bench
from shoplens.bench.search import finetune as finetune_bench
from shoplens.search import SearchIndex
from shoplens.search.adapter import EmbeddingAdapter
from shoplens.search.finetune import SearchTunedMiniLM

# Each query has a relevant title (grade 3) and an irrelevant one (grade 1) from another product family.
JUDGED = [
    ("cordless drill", "DEWALT 20-Volt MAX Lithium-Ion Cordless Drill Driver Kit", 3),
    ("cordless drill", "Rubbermaid 2-Shelf Plastic Storage Cabinet", 1),
    ("white paint", "BEHR Premium Plus 1 gal. Ultra Pure White Interior Paint", 3),
    ("white paint", "SharkBite 1/2 in. Push-to-Connect Brass Coupling", 1),
    ("garden hose", "Flexzilla 5/8 in. x 50 ft. Garden Hose", 3),
    ("garden hose", "Hampton Bay 52 in. Ceiling Fan with Light Kit", 1),
    ("led bulb", "Philips 60-Watt Equivalent A19 LED Light Bulb Daylight", 3),
    ("led bulb", "Quikrete 80 lb. Concrete Mix", 1),
]
QUERIES, TITLES, GRADES = (list(column) for column in zip(*JUDGED))


def _margins(model) -> np.ndarray:
    """cos(query, relevant title) - cos(query, irrelevant title), per query."""
    queries = model.encode(QUERIES[::2], kind="query")
    relevant, irrelevant = model.encode(TITLES[::2]), model.encode(TITLES[1::2])
    return (queries * relevant).sum(1) - (queries * irrelevant).sum(1)


@pytest.fixture(scope="module")
def base_margins():
    return _margins(SearchTunedMiniLM(epochs=0).fit(QUERIES, TITLES, GRADES))  # no step: the base model


@pytest.mark.parametrize("loss", ["ranking", "cosine"])
def test_fine_tuning_moves_relevant_titles_up(loss, base_margins):
    before = base_margins
    model = SearchTunedMiniLM(loss=loss, epochs=2, lr=1e-4, batch_queries=2).fit(QUERIES, TITLES, GRADES)
    assert len(model.losses_) == 4 and model.n_pairs_ == 8 and model.n_queries_ == 4
    assert _margins(model).mean() > before.mean() + 0.01


def test_save_load_round_trip_and_search_index(tmp_path):
    model = SearchTunedMiniLM(epochs=1, batch_queries=4).fit(QUERIES, TITLES, GRADES)
    model.save(tmp_path / "tuned")
    assert not list(tmp_path.rglob("*.pkl")) and list(tmp_path.rglob("*.safetensors"))
    loaded = SearchTunedMiniLM.load(tmp_path / "tuned")
    assert loaded.name == model.name and "search-tuned" in loaded.name and loaded.dim == 384
    awkward = TITLES + ["", None, "\x00 drill", "drill " * 500]
    np.testing.assert_allclose(loaded.encode(awkward), model.encode(awkward), atol=1e-6)
    assert not loaded.encode([""]).any()  # blank text: a zero row, as every shoplens encoder

    items = pd.DataFrame({"item_id": [f"i{i}" for i in range(len(TITLES))], "title": TITLES})
    index = SearchIndex(encoder=str(tmp_path / "tuned")).fit(items)  # a saved folder names the encoder
    assert index.encoder_name == model.name
    assert index.search("cordless drill", k=1, mode="dense").items["title"].iloc[0] == TITLES[0]
    index.save(tmp_path / "index")
    reloaded = SearchIndex.load(tmp_path / "index")
    assert reloaded.search("garden hose", k=1).items["title"].iloc[0] == TITLES[4]


@pytest.mark.parametrize("side", ["query", "both"])
def test_adapter_moves_relevant_titles_up_and_round_trips(side, base_margins, tmp_path):
    adapter = EmbeddingAdapter(side=side, epochs=30, lr=1e-2, batch_queries=2).fit(QUERIES, TITLES, GRADES)
    assert _margins(adapter).mean() > base_margins.mean() + 0.01
    if side == "query":  # titles keep the base encoder's vectors: an index needs no re-embedding
        np.testing.assert_allclose(adapter.encode(TITLES), SearchTunedMiniLM(epochs=0).fit(
            QUERIES, TITLES, GRADES).encode(TITLES), atol=1e-5)
    adapter.save(tmp_path)
    loaded = EmbeddingAdapter.load(tmp_path)
    assert loaded.name == adapter.name and "+adapter-" in loaded.name
    awkward = QUERIES + ["", None, "drill " * 500]
    np.testing.assert_allclose(loaded.encode(awkward, kind="query"), adapter.encode(awkward, kind="query"), atol=1e-6)
    assert not loaded.encode([""], kind="query").any()


def test_refuses_unfitted_and_unknown_loss():
    with pytest.raises(RuntimeError, match="not fitted"):
        SearchTunedMiniLM().encode(["drill"])
    with pytest.raises(ValueError, match="loss must be one of"):
        SearchTunedMiniLM(loss="hinge").fit(QUERIES, TITLES, GRADES)
    with pytest.raises(FileNotFoundError, match="no fine-tuned search encoder"):
        SearchTunedMiniLM.load("/nonexistent-folder")
    with pytest.raises(RuntimeError, match="not fitted"):
        EmbeddingAdapter().encode(["drill"])
    with pytest.raises(ValueError, match="side one of"):
        EmbeddingAdapter(side="title").fit(QUERIES, TITLES, GRADES)


@pytest.mark.parametrize("kind", ["adapter", "full"])
def test_relevance_bench_reports_fine_tuned_rows(kind, tmp_path):
    """The bench's fine-tuned rows, on a tiny file in the Kaggle train.csv layout (30 queries, 3 candidates)."""
    nouns = ["drill", "hose", "lamp", "paint", "ladder", "faucet"]
    rows = []
    for q in range(30):
        noun, other = nouns[q % 6], nouns[(q + 1) % 6]
        for title, grade in ((f"cordless {noun} model {q}", 3.0), (f"{noun} part {q}", 2.0), (f"plastic {other} {q}", 1.0)):
            rows.append({"id": len(rows), "product_uid": len(rows), "product_title": title,
                         "search_term": f"{noun} {q}", "relevance": grade})
    (tmp_path / "homedepot-search-relevance").mkdir()
    with gzip.open(tmp_path / "homedepot-search-relevance" / "train.csv.gz", "wt", encoding="latin-1") as f:
        pd.DataFrame(rows).to_csv(f, index=False)
    result = bench.run("relevance", quick=True, data=tmp_path, encoder="static", cache=tmp_path / "cache.duckdb",
                       finetune=kind, finetune_dir=tmp_path / "tuned")
    label = "static+adapter" if kind == "adapter" else "minilm-ft"
    methods = {row["method"]: row for row in result.rows}
    assert {f"dense-{label}", f"hybrid-weighted ({label})", f"hybrid-learned ({label})"} <= set(methods)
    assert 0 <= methods[f"hybrid-weighted ({label})"]["recall@100 (full)"] <= 1
    record = result.metrics["finetune"]
    assert record["pairs"] == 27 and record["steps"] >= 1 and record["fit_seconds"] >= 0
    if kind == "adapter":  # chosen by cross-validation inside the tuning split, on the bench's encoder
        assert record["selection"]["folds"] == finetune_bench.FINETUNE_FOLDS and record["params"]["base"] == "static"
        assert record["selection"]["chosen"].items() <= record["params"].items()
    else:
        assert record["params"]["side"] == "query" and record["selection"].startswith("FULL_DEFAULT")
    assert (EmbeddingAdapter if kind == "adapter" else SearchTunedMiniLM).load(
        tmp_path / "tuned").name == record["encoder_name"]
    assert set(result.metrics["tuned_ft"]) == {"rrf_k", "rrf_keyword_weight", "weighted_keyword_weight"}


def test_tune_search_command(tmp_path):
    from typer.testing import CliRunner

    from shoplens.cli import app

    pd.DataFrame({"q": QUERIES, "t": TITLES, "grade": GRADES}).to_csv(tmp_path / "judged.csv", index=False)
    runner = CliRunner()
    result = runner.invoke(app, ["tune-search", str(tmp_path / "judged.csv"), str(tmp_path / "tuned"),
                                 "--query", "q", "--title", "t", "--side", "query"])
    assert result.exit_code == 0, result.output
    assert SearchTunedMiniLM.load(tmp_path / "tuned").side == "query"
    refused = runner.invoke(app, ["tune-search", str(tmp_path / "judged.csv"), str(tmp_path / "other")])
    assert refused.exit_code != 0 and "no column 'query'" in refused.output
