"""`shoplens bench rec-peer`: a peer library measured beside ShopLens on the same file, split and protocol."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import typer

from shoplens.cli import bench_app, console, fail

PEERS = ("recbole",)


@bench_app.command("rec-peer")
def bench_rec_peer(dataset: str = typer.Option(..., help="NAME[/SUBSET] of a public dataset, or a PATH"),
                   fmt: Optional[str] = typer.Option(None, "--format", help="for a PATH: s3rec|sasrec-pairs|recbole"),
                   peer: str = typer.Option("recbole", help="the peer library: recbole (its own venv, made on first "
                                                           "use under $SHOPLENS_PEERS_DIR or ~/.cache/shoplens/peers)"),
                   model: str = typer.Option("sasrec", help="the peer's model (its Pop always runs as the check)"),
                   seeds: int = typer.Option(1, help="seeds of the peer's model (0, 1, ...)"),
                   max_minutes: float = typer.Option(15.0, help="cap each of the peer's training runs at this many "
                                                                "minutes (its own early stopping ends it otherwise)"),
                   data: Optional[Path] = typer.Option(None, "--data",
                                                       help="public data root (default $SHOPLENS_DATA)"),
                   out: Optional[Path] = typer.Option(None, help="save the result JSON here")):
    """RecBole's SASRec and Pop beside ShopLens's popularity, leave-one-out, full ranking (docs/peers.md)."""
    from shoplens.bench.harness import print_result
    from shoplens.bench.peers import recbole as suite

    if peer not in PEERS:
        fail(f"--peer must be one of: {', '.join(PEERS)}, got {peer!r}")
    if model not in suite.PEER_MODELS:
        fail(f"--model must be one of: {', '.join(suite.PEER_MODELS)}, got {model!r}")
    if seeds < 1:
        fail(f"--seeds must be at least 1, got {seeds}")
    if not (math.isfinite(max_minutes) and max_minutes > 0):
        fail(f"--max-minutes must be a positive number of minutes, got {max_minutes}")
    looks_like_path = Path(dataset).suffix or dataset.startswith(("/", ".", "~"))
    if looks_like_path and not Path(dataset).exists():
        fail(f"--dataset {dataset}: no such file or folder")
    if out is not None and out.suffix.lower() != ".json":
        fail(f"--out {out}: the result is JSON; give a file name ending in .json")
    try:
        result = suite.run(dataset, format=fmt, data=data, model=model, seeds=seeds, max_minutes=max_minutes)
    except RuntimeError as e:  # the peer's install or run failed: its own output is above
        fail(str(e), code=1)
    print_result(result, console, out)
