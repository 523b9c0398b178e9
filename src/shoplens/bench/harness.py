"""The result every benchmark suite prints and saves (DESIGN.md, "Evaluation is part of the product").

A suite prints a table, then as its LAST line one JSON object:
{"suite", "dataset", "protocol", "metrics", "baselines", "seconds", "machine", "date", "command"}.
`command` is the `shoplens bench ...` line that produced the result, as typed (null for a library call).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return f"{os.cpu_count()} cores, {mem_gib:.0f} GiB, {cpu}, Python {platform.python_version()}"


def invoked_command() -> str | None:
    """The `shoplens bench ...` command line as typed, when this process is that command; None otherwise (a
    library call, a test runner, the service)."""
    if not (Path(sys.argv[0]).stem == "shoplens" and sys.argv[1:2] == ["bench"]):
        return None
    return shlex.join(["shoplens", *sys.argv[1:]])


@dataclass
class BenchResult:
    suite: str
    dataset: str
    protocol: str
    metrics: dict = field(default_factory=dict)
    baselines: dict = field(default_factory=dict)  # peer or published numbers, side by side
    seconds: float = 0.0
    rows: list[dict] = field(default_factory=list)  # the printed table, one dict per row

    def to_json(self) -> dict:
        return {
            "suite": self.suite,
            "dataset": self.dataset,
            "protocol": self.protocol,
            "metrics": self.metrics,
            "baselines": self.baselines,
            "seconds": round(self.seconds, 2),
            "machine": machine_description(),
            "date": dt.date.today().isoformat(),
            "command": invoked_command(),
        }


class Stopwatch:
    """`with Stopwatch() as sw: ...; sw.seconds`."""

    def __enter__(self):
        self.start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


def print_result(result: BenchResult, console: Console | None = None, out: str | Path | None = None) -> dict:
    """Print the table, then the JSON line (last); optionally save the JSON (with the table rows) to `out`."""
    console = console or Console()
    if not console.is_terminal:  # logs and pipes: don't squeeze the table into 80 columns
        console = Console(width=200)
    if result.rows:
        table = Table(title=f"{result.suite} — {result.dataset} — {result.protocol}")
        columns = list(dict.fromkeys(k for row in result.rows for k in row))
        for c in columns:
            table.add_column(str(c))
        for row in result.rows:
            table.add_row(*(_fmt(row.get(c, "")) for c in columns))
        console.print(table)
    payload = result.to_json()
    if out:
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({**payload, "rows": result.rows}, indent=2, ensure_ascii=False) + "\n")
    # Plain print, not rich: the last line must be machine-readable JSON, unwrapped.
    print(json.dumps(payload, ensure_ascii=False), flush=True)
    return payload


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)
