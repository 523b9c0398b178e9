"""User-interest models and their evaluation.

    from shoplens.recommend import SASRec, evaluate, leave_one_out
    split = leave_one_out(sequences)
    model = SASRec().fit(split.train, n_items, valid=(split.valid_history, split.valid_target))
    evaluate(model, split.test_history, split.test_target)          # full ranking over all items
"""

from shoplens.recommend.base import Recommender, RecommenderBase, load_recommender
from shoplens.recommend.baselines import ALS, BPR, ItemKNN, Popularity
from shoplens.recommend.evaluate import evaluate, leave_one_out, sample_negatives
from shoplens.recommend.hstu import HSTU
from shoplens.recommend.sasrec import SASRec

# name -> class, as used by `shoplens fit --model NAME` and `bench rec --model NAME`
MODELS = {"popularity": Popularity, "itemknn": ItemKNN, "als": ALS, "bpr": BPR, "sasrec": SASRec, "hstu": HSTU}

__all__ = ["ALS", "BPR", "HSTU", "MODELS", "ItemKNN", "Popularity", "Recommender", "RecommenderBase", "SASRec",
           "evaluate", "leave_one_out", "load_recommender", "sample_negatives"]
