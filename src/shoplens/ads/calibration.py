"""Turn CTR scores into probabilities you can multiply by a budget, and measure how well that worked.

Negative down-sampling, regularisation and early stopping all bend a model's probabilities. Fit a calibrator
on VALIDATION predictions, then check on test with the expected calibration error:
ECE = Σ_b (n_b / n) · |mean predicted in bin b − click rate in bin b|, equal-width bins over [0, 1].
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.isotonic import IsotonicRegression

CALIBRATION_METHODS = ("isotonic", "temperature")


def expected_calibration_error(y, p, n_bins: int = 15) -> float:
    y, p = np.asarray(y, dtype=np.float64), np.asarray(p, dtype=np.float64)
    if len(y) == 0:
        return float("nan")
    bins = np.minimum((p * n_bins).astype(np.int64), n_bins - 1)
    counts = np.bincount(bins, minlength=n_bins)
    gap = np.abs(np.bincount(bins, p, n_bins) - np.bincount(bins, y, n_bins))  # per-bin sums, so |Σp − Σy|
    return float(gap.sum() / len(y)) if counts.sum() else float("nan")


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


class TemperatureCalibrator:
    """p = sigmoid(z / T + b) fitted on validation logits by L-BFGS (Platt scaling with a temperature)."""

    def __init__(self, temperature: float = 1.0, bias: float = 0.0):
        self.temperature, self.bias = temperature, bias

    def fit(self, logits, y) -> "TemperatureCalibrator":
        z = torch.tensor(np.asarray(logits), dtype=torch.float64)
        t = torch.tensor(np.asarray(y), dtype=torch.float64)
        log_t, b = torch.zeros(1, dtype=torch.float64, requires_grad=True), torch.zeros(1, dtype=torch.float64, requires_grad=True)
        optimizer = torch.optim.LBFGS([log_t, b], max_iter=100, line_search_fn="strong_wolfe")

        def closure():
            optimizer.zero_grad()
            loss = torch.nn.functional.binary_cross_entropy_with_logits(z / log_t.exp() + b, t)
            loss.backward()
            return loss

        optimizer.step(closure)
        self.temperature, self.bias = float(log_t.detach().exp()), float(b.detach())
        return self

    def transform(self, logits) -> np.ndarray:
        return _sigmoid(np.asarray(logits, dtype=np.float64) / self.temperature + self.bias)

    def to_dict(self) -> dict:
        return {"method": "temperature", "temperature": self.temperature, "bias": self.bias}


class IsotonicCalibrator:
    """A monotone step function from predicted probability to click rate (piecewise linear between steps)."""

    def __init__(self, x=(), y=()):
        self.x, self.y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)

    def fit(self, logits, y) -> "IsotonicCalibrator":
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(_sigmoid(np.asarray(logits)), y)
        self.x, self.y = iso.X_thresholds_, iso.y_thresholds_
        return self

    def transform(self, logits) -> np.ndarray:
        return np.interp(_sigmoid(np.asarray(logits, dtype=np.float64)), self.x, self.y)

    def to_dict(self) -> dict:
        return {"method": "isotonic", "x": self.x.tolist(), "y": self.y.tolist()}


def make_calibrator(method: str):
    if method not in CALIBRATION_METHODS:
        raise ValueError(f"calibration method must be one of {CALIBRATION_METHODS}, got {method!r}")
    return IsotonicCalibrator() if method == "isotonic" else TemperatureCalibrator()


def calibrator_from_dict(d: dict | None):
    if d is None:
        return None
    if d["method"] == "isotonic":
        return IsotonicCalibrator(d["x"], d["y"])
    return TemperatureCalibrator(d["temperature"], d["bias"])
