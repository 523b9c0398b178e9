"""What every CTR estimator here shares: fit / predict / calibrate / save / load around a torch network.

Subclasses (lr.py, fm.py, deepfm.py, dcnv2.py, din.py) declare hyper-parameters as explicit keywords and build
their network from the fitted `FeatureEncoder`. Input is a DataFrame of impressions; the label is a column
(`clicked` by default) or `y`. Persistence: tensors.safetensors (weights) + config.json (hyper-parameters,
vocabularies, calibration, training history) — never pickle.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load_file, save_file
from sklearn.base import BaseEstimator

from shoplens.ads.calibration import calibrator_from_dict, make_calibrator
from shoplens.ads.features import FeatureEncoder, check_labels
from shoplens.ads.train import classification_metrics, predict_logits, train_network

CONFIG_FILE = "config.json"
TENSORS_FILE = "tensors.safetensors"
OUTPUT_BIASES = ("linear.bias", "head.bias")  # the networks' global bias parameters
AUTO_VALID_SHARE = 0.1  # held out of training for early stopping when no eval_set is given


def _features_and_labels(X: pd.DataFrame, y, label: str) -> tuple[pd.DataFrame, np.ndarray]:
    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"X must be a pandas DataFrame of impressions, got {type(X).__name__}")
    if len(X) == 0:
        raise ValueError("no impressions: the table is empty")
    if y is None:
        if label not in X.columns:
            raise ValueError(f"no label: pass y or a {label!r} column (columns: {list(X.columns)})")
        y = X[label]
    return X.drop(columns=[label], errors="ignore").reset_index(drop=True), check_labels(y, label)


class CTRModelBase(BaseEstimator):
    encoder_: FeatureEncoder
    network_: torch.nn.Module
    history_: list
    calibrator_ = None

    def _build_network(self, encoder: FeatureEncoder) -> torch.nn.Module:
        raise NotImplementedError

    def _sequence_fields(self) -> dict[str, str]:
        return {}

    # ------------------------------------------------------------------ training
    def fit(self, X: pd.DataFrame, y=None, *, eval_set: tuple | pd.DataFrame | None = None, label: str = "clicked",
            categorical: list[str] | None = None, dense: list[str] | None = None) -> "CTRModelBase":
        """Train on impressions X; early-stop on `eval_set` ((X_valid, y_valid) or a DataFrame with the label),
        or on a random 10% of X when none is given. Feature columns are inferred unless given."""
        X, y = _features_and_labels(X, y, label)
        if eval_set is None:
            rng = np.random.default_rng(self.seed)
            is_valid = rng.random(len(X)) < AUTO_VALID_SHARE
            X_valid, y_valid, X, y = X[is_valid], y[is_valid], X[~is_valid], y[~is_valid]
        else:
            X_valid, y_valid = eval_set if isinstance(eval_set, tuple) else (eval_set, None)
            X_valid, y_valid = _features_and_labels(X_valid, y_valid, label)
        torch.manual_seed(self.seed)
        self.encoder_ = FeatureEncoder(categorical, dense, self._sequence_fields(), self.min_count,
                                       getattr(self, "max_history", 20)).fit(X)
        self.network_ = self._build_network(self.encoder_)
        self._start_at_base_rate(y)
        self.calibrator_ = None
        self.history_ = train_network(self.network_, self.encoder_.transform(X), y, self.encoder_.transform(X_valid),
                                      y_valid, lr=self.lr, batch_size=self.batch_size, max_epochs=self.max_epochs,
                                      patience=self.patience, embedding_l2=self.embedding_l2, seed=self.seed,
                                      verbose=self.verbose, name=type(self).__name__)
        return self

    def _start_at_base_rate(self, y: np.ndarray) -> None:
        """Set the output bias to the training click log-odds: with a 2% CTR and lr 1e-3, a zero bias would
        spend the first epochs just learning the base rate."""
        rate = float(np.clip(np.mean(y), 1e-4, 1 - 1e-4))
        with torch.no_grad():
            for name, parameter in self.network_.named_parameters():
                if name in OUTPUT_BIASES:
                    parameter.fill_(np.log(rate / (1 - rate)))

    def calibrate(self, X: pd.DataFrame, y=None, *, method: str = "isotonic", label: str = "clicked") -> "CTRModelBase":
        """Fit a calibrator on held-out impressions (validation, never test); predict_ctr then uses it."""
        X, y = _features_and_labels(X, y, label)
        self.calibrator_ = make_calibrator(method).fit(self.decision_function(X), y)
        return self

    # ------------------------------------------------------------------ prediction
    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """Raw logits, one per row of X (label column, if any, ignored)."""
        return predict_logits(self.network_, self.encoder_.transform(X.reset_index(drop=True)))

    def predict_ctr(self, X: pd.DataFrame, calibrated: bool = True) -> np.ndarray:
        """Click probability per row; calibrated when `calibrate` was called (and `calibrated`)."""
        logits = self.decision_function(X)
        if calibrated and self.calibrator_ is not None:
            return self.calibrator_.transform(logits)
        return 1.0 / (1.0 + np.exp(-logits))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = self.predict_ctr(X)
        return np.stack([1 - p, p], axis=1)

    def score(self, X: pd.DataFrame, y=None, label: str = "clicked") -> dict[str, float]:
        """AUC and logloss of the uncalibrated model on labelled impressions."""
        X, y = _features_and_labels(X, y, label)
        return classification_metrics(y, self.decision_function(X))

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        config = {"model": type(self).__name__, "params": self.get_params(), "features": self.encoder_.to_dict(),
                  "calibration": None if self.calibrator_ is None else self.calibrator_.to_dict(),
                  "history": self.history_, "warnings": getattr(self, "warnings_", []),
                  "fitted_as": getattr(self, "fitted_as_", None)}
        (path / CONFIG_FILE).write_text(json.dumps(config, indent=1, ensure_ascii=False))
        save_file({k: v.detach().contiguous() for k, v in self.network_.state_dict().items()}, str(path / TENSORS_FILE))
        return path

    @classmethod
    def load(cls, path: str | Path) -> "CTRModelBase":
        path = Path(path)
        config = json.loads((path / CONFIG_FILE).read_text())
        if cls is CTRModelBase:  # load whichever model the folder holds
            from shoplens.ads import FALLBACKS, MODELS

            by_class = {m.__name__: m for m in (*MODELS.values(), *FALLBACKS.values())}
            if config["model"] not in by_class:
                raise ValueError(f"{path} holds an unknown model class {config['model']!r}")
            cls = by_class[config["model"]]
        elif config["model"] != cls.__name__:
            raise ValueError(f"{path} holds a {config['model']}, not a {cls.__name__}")
        params = {k: tuple(v) if isinstance(v, list) else v for k, v in config["params"].items()}
        model = cls(**params)
        model.encoder_ = FeatureEncoder.from_dict(config["features"])
        model.network_ = model._build_network(model.encoder_)
        model.network_.load_state_dict(load_file(str(path / TENSORS_FILE)))
        model.network_.eval()
        model.calibrator_ = calibrator_from_dict(config["calibration"])
        model.history_ = config["history"]
        model.warnings_ = config.get("warnings", [])  # why a workspace fit fell back to this model (jobs.fit_ctr)
        model.fitted_as_ = config.get("fitted_as")
        return model
