"""A forecast chart as a PNG, drawn with numpy and written with zlib: no plotting library needed.

History is a dark blue line, the forecast an orange line over a light orange band (the interval), with a
grey vertical rule at the forecast origin. No text is drawn (there is no font without a plotting library):
the caller prints what the chart shows next to its path.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

BLUE, ORANGE, BAND, GREY, WHITE = (31, 78, 121), (230, 120, 20), (250, 215, 180), (170, 170, 170), (255, 255, 255)


def write_png(path: str | Path, image: np.ndarray) -> Path:
    """image: (height, width, 3) uint8 -> an RGB PNG file."""
    height, width, _ = image.shape
    raw = b"".join(b"\x00" + image[row].tobytes() for row in range(height))  # filter type 0 per row

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)
    return path


def _line(img: np.ndarray, xs: np.ndarray, ys: np.ndarray, color, thickness: int = 2) -> None:
    for (x0, y0), (x1, y1) in zip(zip(xs[:-1], ys[:-1]), zip(xs[1:], ys[1:])):
        n = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
        px = np.linspace(x0, x1, n).round().astype(int)
        py = np.linspace(y0, y1, n).round().astype(int)
        for d in range(thickness):
            img[np.clip(py + d, 0, img.shape[0] - 1), np.clip(px, 0, img.shape[1] - 1)] = color


def forecast_chart(path: str | Path, history: np.ndarray, forecast: np.ndarray, lower: np.ndarray | None = None,
                   upper: np.ndarray | None = None, width: int = 800, height: int = 400, margin: int = 20) -> Path:
    """One series: history values then forecast values (with an optional interval) on a shared y axis."""
    history, forecast = np.asarray(history, float), np.asarray(forecast, float)
    lower = forecast if lower is None else np.asarray(lower, float)
    upper = forecast if upper is None else np.asarray(upper, float)
    values = np.concatenate([history, forecast, lower, upper])
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    hi = hi if hi > lo else lo + 1.0
    n = len(history) + len(forecast)
    x = lambda i: margin + (width - 2 * margin) * np.asarray(i, float) / max(n - 1, 1)  # noqa: E731
    y = lambda v: height - margin - (height - 2 * margin) * (np.asarray(v, float) - lo) / (hi - lo)  # noqa: E731
    img = np.full((height, width, 3), WHITE, dtype=np.uint8)
    steps = np.arange(len(history) - 1, n)  # the band and forecast start from the last observed point
    band_lo = np.r_[history[-1:], lower] if len(history) else lower
    band_hi = np.r_[history[-1:], upper] if len(history) else upper
    for col in range(int(x(steps[0])), int(x(steps[-1])) + 1):
        t = np.interp(col, x(steps), steps)
        top, bottom = y(np.interp(t, steps, band_hi)), y(np.interp(t, steps, band_lo))
        img[int(max(top, 0)): int(min(bottom, height - 1)) + 1, col] = BAND
    img[margin: height - margin, int(x(len(history) - 1))] = GREY
    img[height - margin, margin: width - margin] = GREY
    if len(history) > 1:
        _line(img, x(np.arange(len(history))), y(history), BLUE)
    fc = np.r_[history[-1:], forecast] if len(history) else forecast
    _line(img, x(steps), y(fc), ORANGE)
    return write_png(path, img)
