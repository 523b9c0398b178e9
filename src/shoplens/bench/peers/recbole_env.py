"""RecBole's own virtual environment: made on first use, by the recipe measured on this machine (issue 18)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

# Installed in this order. torch by its exact pin: the CPU wheel lies on local disk, an unpinned torch pulls a
# multi-GB CUDA build. The second step holds back what RecBole 1.2.1 breaks on (docs/peers.md says which).
RECIPE = (
    ("torch==2.13.0", "recbole==1.2.1"),
    ("setuptools<81", "numpy==1.26.4", "pandas==2.1.4", "scipy==1.13.1", "scikit-learn==1.5.2"),
)
READY = "shoplens-peer.json"  # written last: an install that was cut off is made again


def peers_dir() -> Path:
    return Path(os.environ.get("SHOPLENS_PEERS_DIR") or Path.home() / ".cache" / "shoplens" / "peers")


def recbole_dir() -> Path:
    return peers_dir() / "recbole"


def recbole_python() -> Path | None:
    """The peer venv's python when the environment is complete; None when it has not been made."""
    python = recbole_dir() / "bin" / "python"
    return python if (recbole_dir() / READY).is_file() and python.is_file() else None


def ensure_recbole(log=sys.stderr) -> Path:
    """The peer venv's python, making the environment first if it is not there (minutes; progress on `log`)."""
    python = recbole_python()
    if python is not None:
        return python
    where = recbole_dir()
    print(f"peer recbole: making its own environment in {where} (first use; SHOPLENS_PEERS_DIR moves it)",
          file=log, flush=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(where)
    python = where / "bin" / "python"
    for step, packages in enumerate(RECIPE, 1):
        print(f"peer recbole: [{step}/{len(RECIPE)}] pip install {' '.join(packages)}", file=log, flush=True)
        done = subprocess.run([str(python), "-m", "pip", "install", "--progress-bar", "off", *packages],
                              stdout=log, stderr=log)
        if done.returncode != 0:
            raise RuntimeError(f"peer recbole: `pip install {' '.join(packages)}` failed (exit {done.returncode}) "
                               f"in {where}; see the pip output above")
    versions = subprocess.run([str(python), "-c", "import json, importlib.metadata as m; print(json.dumps("
                               "{p: m.version(p) for p in ('torch', 'recbole', 'numpy', 'pandas', 'scipy', "
                               "'scikit-learn', 'setuptools')}))"], capture_output=True, text=True, check=True)
    (where / READY).write_text(json.dumps({"recipe": RECIPE, "versions": json.loads(versions.stdout)}, indent=2))
    print(f"peer recbole: ready ({versions.stdout.strip()})", file=log, flush=True)
    return python


def installed_versions() -> dict:
    return json.loads((recbole_dir() / READY).read_text())["versions"]
