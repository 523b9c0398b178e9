"""`shoplens bench cli`: how long a light command takes as a whole process, beside `python -c pass`.

A small shop (the marketplace simulator, 300 users) is ingested and a popularity model and a small SASRec fitted once; then each
command runs `runs` times as a fresh process (the installed `shoplens` script), interleaved with the peer so
that machine load hits both alike. Reported: median and min wall seconds, and the median as a multiple of the
peer's median (the machine is noisy; the ratio is the figure to compare across runs). Target (issue 17): light
commands within 1.5 s.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from shoplens.bench.harness import BenchResult

TARGET_SECONDS = 1.5


def _commands(ws: Path, user: str) -> dict[str, list[str]]:
    return {"--help": ["--help"], "info": ["info", str(ws), "--json"], "keys list": ["keys", "list", str(ws)],
            "rec user (fitted popularity)": ["rec", "user", str(ws), "--user", user, "--model", "popularity", "--json"],
            "rec user (fitted SASRec: imports PyTorch)": ["rec", "user", str(ws), "--user", user, "--model", "sasrec",
                                                          "--json"],
            "datasets list": ["datasets", "list", "--json"]}


def _wall(argv: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.strip()[:300]}")
    return seconds


def run(runs: int = 7, quick: bool = False) -> BenchResult:
    from shoplens.datasets.synthetic import marketplace
    from shoplens.recommend.workspace_models import fit_workspace_model
    from shoplens.workspace import Workspace

    started = time.perf_counter()
    runs = 3 if quick else runs
    shoplens = str(Path(sys.executable).with_name("shoplens"))
    peer = [sys.executable, "-c", "pass"]
    with tempfile.TemporaryDirectory() as tmp:
        ws_path = Path(tmp) / "shop"
        world = marketplace(n_users=300, n_items=100, days=60, seed=0)
        with Workspace.init(ws_path) as ws:
            ws.ingest(world.tables["items"], "items")
            ws.ingest(world.tables["events"], "events")
            fit_workspace_model(ws, "popularity")
            fit_workspace_model(ws, "sasrec", encoder="static", max_epochs=2, dim=16)  # load time, not quality
            user = str(ws.table("events")["user_id"].iloc[0])
        commands = _commands(ws_path, user)
        times = {name: [] for name in ["python -c pass", *commands]}
        for _ in range(runs):  # interleaved: a busy second hits every command alike
            times["python -c pass"].append(_wall(peer))
            for name, args in commands.items():
                times[name].append(_wall([shoplens, *args]))
    peer_median = statistics.median(times["python -c pass"])
    rows, metrics = [], {}
    for name, seconds in times.items():
        median = statistics.median(seconds)
        rows.append({"command": name if name.startswith("python") else f"shoplens {name}", "median s": round(median, 3),
                     "min s": round(min(seconds), 3), "x python -c pass": round(median / peer_median, 1),
                     "within 1.5 s": "" if name.startswith("python") else ("yes" if median <= TARGET_SECONDS else "no")})
        metrics[f"{name} median_s"] = round(median, 3)
    protocol = (f"each command as a fresh process, {runs} runs interleaved with the peer `python -c pass`; "
                "a 300-user simulator shop with a fitted popularity model and a small SASRec")
    return BenchResult("cli", "simulator shop (300 users)", protocol, metrics,
                       baselines={"python -c pass median_s": round(peer_median, 3)},
                       seconds=time.perf_counter() - started, rows=rows)
