"""User-interest models and their evaluation.

    from shoplens.recommend import SASRec, evaluate, leave_one_out
    split = leave_one_out(sequences)
    model = SASRec().fit(split.train, n_items, valid=(split.valid_history, split.valid_target))
    evaluate(model, split.test_history, split.test_target)          # full ranking over all items

The model classes are imported on first use (PEP 562): serving a popularity or ALS model, or printing
`shoplens --help`, does not pay for importing PyTorch.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

from shoplens.recommend.base import Recommender, RecommenderBase, load_recommender
from shoplens.recommend.evaluate import evaluate, leave_one_out, sample_negatives

# name -> (module, class), as used by `shoplens rec fit --model NAME` and `bench rec --model NAME`
MODEL_CLASSES = {"popularity": ("baselines", "Popularity"), "itemknn": ("baselines", "ItemKNN"),
                 "als": ("baselines", "ALS"), "bpr": ("baselines", "BPR"), "sasrec": ("sasrec", "SASRec"),
                 "hstu": ("hstu", "HSTU"), "esasrec": ("esasrec", "ESASRec")}
SEQUENCE_MODELS = ("sasrec", "hstu", "esasrec")  # trained by train.py: validation, early stopping, item text


class _LazyModels(Mapping):
    """name -> class, importing a model's module only when its class is asked for."""

    def __getitem__(self, name: str) -> type:
        module, cls = MODEL_CLASSES[name]
        return getattr(importlib.import_module(f"shoplens.recommend.{module}"), cls)

    def __iter__(self) -> Iterator[str]:
        return iter(MODEL_CLASSES)

    def __len__(self) -> int:
        return len(MODEL_CLASSES)


MODELS = _LazyModels()
_CLASS_MODULES = {cls: module for module, cls in MODEL_CLASSES.values()}


def __getattr__(name: str):
    if name in _CLASS_MODULES:
        return getattr(importlib.import_module(f"shoplens.recommend.{_CLASS_MODULES[name]}"), name)
    raise AttributeError(f"module 'shoplens.recommend' has no attribute {name!r}")


__all__ = ["ALS", "BPR", "ESASRec", "HSTU", "MODELS", "MODEL_CLASSES", "ItemKNN", "Popularity", "Recommender", "RecommenderBase",
           "SASRec", "SEQUENCE_MODELS", "evaluate", "leave_one_out", "load_recommender", "sample_negatives"]
