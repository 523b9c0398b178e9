"""Learned fusion: features, the LambdaRank estimator, and SearchIndex.fit_fusion end to end."""

import itertools

import numpy as np
import pandas as pd
import pytest

from shoplens.search import SearchIndex
from shoplens.search.learned import FEATURES, LearnedFusion, candidate_features

ADJECTIVES = ["cordless", "galvanized", "outdoor", "brass", "white", "heavy", "compact", "electric"]
NOUNS = ["drill", "hose", "lamp", "ladder", "faucet", "shelf", "saw", "mower", "tile", "hinge", "fan", "valve"]


def test_candidate_features_read_titles_and_scores():
    titles = ["Cordless Drill 18 V", "Drill Bit Set", "Garden Hose"]
    features = candidate_features("18v cordless drill", titles, np.array([4.0, 2.0, 0.0]),
                                  np.array([3.0, 1.5, 0.0]), np.array([0.9, 0.7, 0.2]))
    column = {name: features[:, i] for i, name in enumerate(FEATURES)}
    assert features.shape == (3, len(FEATURES))
    assert column["bm25_share_of_best"].tolist() == [1.0, 0.5, 0.0]
    assert column["cosine_gap_to_best"] == pytest.approx([0.0, -0.2, -0.7])
    assert column["cosine_rank"].tolist() == [1, 2, 3]
    assert column["last_word_in_title"].tolist() == [1.0, 1.0, 0.0]
    assert column["numbers_matched"].tolist() == [1.0, 0.0, 0.0]
    assert column["query_coverage"][0] == 1.0 and column["query_coverage"][2] == 0.0
    assert candidate_features("hose", ["garden hoses"], [1.0], [1.0], [0.5])[0, FEATURES.index("numbers_matched")] == -1


def test_learned_fusion_learns_an_ordering_and_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    features = rng.random((600, len(FEATURES)))
    gains = np.floor(features[:, FEATURES.index("last_word_in_title")] * 3) / 1.5  # 0, 0.67, 1.33
    fusion = LearnedFusion(n_estimators=30, min_child_samples=5).fit(features, gains, [6] * 100)
    predicted = fusion.predict(features)
    assert np.corrcoef(predicted, gains)[0, 1] > 0.9
    fusion.save(tmp_path / "fusion")
    assert np.allclose(LearnedFusion.load(tmp_path / "fusion").predict(features), predicted)


def test_learned_fusion_refuses_bad_input():
    features = np.zeros((4, len(FEATURES)))
    with pytest.raises(ValueError, match="columns"):
        LearnedFusion().fit(np.zeros((4, 3)), np.zeros(4), [4])
    with pytest.raises(ValueError, match="group_sizes"):
        LearnedFusion().fit(features, np.zeros(4), [3])
    with pytest.raises(ValueError, match="non-negative"):
        LearnedFusion().fit(features, -np.ones(4), [4])
    with pytest.raises(ValueError, match="not fitted"):
        LearnedFusion().predict(features)


def _judged_catalogue():
    """Per (adjective, noun) query: the exact product (gain 2), the same product type in another style (1),
    and the same style of another product (0) — only the product type tells the last two apart."""
    items, judgements = [], []
    for number, (adjective, noun) in enumerate(itertools.product(ADJECTIVES, NOUNS)):
        other_adjective = ADJECTIVES[(ADJECTIVES.index(adjective) + 1) % len(ADJECTIVES)]
        other_noun = NOUNS[(NOUNS.index(noun) + 1) % len(NOUNS)]
        for suffix, title, gain in (("exact", f"{adjective} {noun} model {number}", 2.0),
                                    ("type", f"{other_adjective} {noun} kit {number}", 1.0),
                                    ("style", f"{adjective} {other_noun} set {number}", 0.0)):
            items.append({"item_id": f"{number}-{suffix}", "title": title})
            judgements.append({"query": f"{adjective} {noun}", "item_id": f"{number}-{suffix}", "gain": gain})
    return pd.DataFrame(items), pd.DataFrame(judgements)


def test_fit_fusion_orders_held_out_queries_and_persists(tmp_path):
    items, judgements = _judged_catalogue()
    queries = judgements["query"].unique()
    train = judgements[judgements["query"].isin(queries[::2])]
    index = SearchIndex(encoder="static").fit(items)
    with pytest.raises(ValueError, match="fit_fusion"):
        SearchIndex(encoder="static", fusion="learned").fit(items).search("drill")
    index.fit_fusion(train, LearnedFusion(n_estimators=50, min_child_samples=5))
    assert index.fusion == "learned"

    held_out = judgements[~judgements["query"].isin(queries[::2])]
    correct = 0
    for query, group in held_out.groupby("query"):
        group = group.iloc[::-1]  # worst first, so a constant score cannot pass
        rows = index.rows_of(group["item_id"])
        scores = index.learned_fusion.predict(index.candidate_features(query, rows, index.encode_query(query)))
        correct += group["gain"].to_numpy()[np.argsort(-scores)].tolist() == [2.0, 1.0, 0.0]
    assert correct >= 0.8 * held_out["query"].nunique()

    result = index.search("brass lamp", k=5)
    assert result.reason is None and result.items["item_id"].iloc[0].endswith("-exact")
    reloaded = SearchIndex.load(index.save(tmp_path / "index"))
    assert reloaded.fusion == "learned"
    assert reloaded.search("brass lamp", k=5).items["item_id"].tolist() == result.items["item_id"].tolist()


def test_fit_fusion_needs_usable_judgements():
    items, judgements = _judged_catalogue()
    index = SearchIndex(encoder="static").fit(items)
    with pytest.raises(ValueError, match="gain"):
        index.fit_fusion(judgements.drop(columns="gain"))
    with pytest.raises(ValueError, match="two or more"):
        index.fit_fusion(judgements.assign(item_id="unknown"))
    with pytest.raises(ValueError, match="dense part"):
        SearchIndex(encoder=None).fit(items).fit_fusion(judgements)
