"""A forecast chart as a PNG (matplotlib, no display needed): history, forecast and its interval."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: works on servers and in CI without a display
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib import font_manager  # noqa: E402

# Chinese series names need a CJK font (Debian: fonts-noto-cjk); without one the title falls back to ASCII.
CJK_FONTS = [f.name for f in font_manager.fontManager.ttflist if "CJK" in f.name or f.name in ("WenQuanYi Zen Hei", "SimHei")]
if CJK_FONTS:
    matplotlib.rcParams["font.sans-serif"] = [CJK_FONTS[0], *matplotlib.rcParams["font.sans-serif"]]


def _printable(text: str) -> str:
    return text if CJK_FONTS or text.isascii() else text.encode("ascii", "replace").decode().replace("?", "")


def forecast_chart(path: str | Path, history: pd.Series, forecast: pd.Series, lower: pd.Series | None = None,
                   upper: pd.Series | None = None, title: str = "", level: int = 80) -> Path:
    """One series: `history` and `forecast` are values indexed by date; `lower`/`upper` bound the interval."""
    fig, ax = plt.subplots(figsize=(9, 4), dpi=100)
    ax.plot(history.index, history.to_numpy(), color="#1f4e79", linewidth=1.4, label="history")
    joined = pd.concat([history.tail(1), forecast])  # the forecast line starts at the last observation
    ax.plot(joined.index, joined.to_numpy(), color="#d9730d", linewidth=1.6, label="forecast")
    if lower is not None and upper is not None:
        ax.fill_between(forecast.index, lower.to_numpy(), upper.to_numpy(), color="#d9730d", alpha=0.25,
                        label=f"{level}% interval")
    ax.axvline(history.index[-1], color="grey", linewidth=0.8, linestyle="--")
    ax.set_title(_printable(title))
    ax.set_ylabel("quantity")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    fig.autofmt_xdate()
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path
