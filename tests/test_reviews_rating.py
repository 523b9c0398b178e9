"""shoplens.reviews.rating: 1-5 stars from text."""

import numpy as np
import pytest

from conftest import dataset_dir
from shoplens.reviews.rating import RatingPredictor

TEXTS = {5: "love it, perfect fit, great quality", 4: "nice dress, fits well", 3: "it's ok, fabric is thin",
         2: "runs small, poor fabric", 1: "terrible quality, returned it"}


@pytest.fixture(scope="module")
def toy_model():
    texts = [t for _, t in TEXTS.items()] * 6
    ratings = [r for r in TEXTS] * 6
    return RatingPredictor(C=4.0, min_df=1).fit(texts, ratings, titles=["title"] * len(texts))


def test_predicts_stars_and_expected_value(toy_model):
    frame = toy_model.predict_frame(["love it, perfect", "terrible, returned"], titles=[None, ""])
    assert frame["stars"].tolist() == [5, 1]
    assert frame["expected"].between(1, 5).all() and frame["confidence"].between(0, 1).all()


def test_awkward_inputs(toy_model):
    awkward = ["", None, float("nan"), "\x00\xff", "bad " * 20_000, "很好 good 质量好"]
    assert len(toy_model.predict(awkward)) == len(awkward)


def test_round_trip(toy_model, tmp_path):
    toy_model.save(tmp_path)
    loaded = RatingPredictor.load(tmp_path)
    texts = list(TEXTS.values()) + [""]
    np.testing.assert_allclose(loaded.predict(texts), toy_model.predict(texts), atol=1e-9)


def test_missing_ratings_are_refused():
    with pytest.raises(ValueError, match="missing"):
        RatingPredictor().fit(["a", "b"], [5, float("nan")])


def test_real_subset_beats_the_mean():
    dataset_dir("womens-clothing-reviews")
    from shoplens.datasets import load

    reviews = load("womens-clothing-reviews").tables["reviews"].dropna(subset=["text"]).sample(2000, random_state=0)
    train, test = reviews.iloc[:1600], reviews.iloc[1600:]
    model = RatingPredictor(char_ngrams=None).fit(train["text"], train["rating"], titles=train["title"])
    rmse = np.sqrt(np.mean((model.predict(test["text"], test["title"]) - test["rating"]) ** 2))
    mean_rmse = np.sqrt(np.mean((train["rating"].mean() - test["rating"]) ** 2))
    assert rmse < 0.9 * mean_rmse
