"""`shoplens bench SUITE`: each suite prints a table, then one JSON line (DESIGN.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from shoplens.cli import bench_app, console


@bench_app.command("ingest")
def bench_ingest(rows: int = typer.Option(1_000_000, help="events to generate and load"),
                 quick: bool = typer.Option(False, help="100k rows instead"),
                 out: Optional[Path] = typer.Option(None, help="save the result JSON here")):
    """Rows/s for validated ingest of CSV and Parquet, beside DuckDB's own unvalidated load."""
    from shoplens.bench import ingest as suite
    from shoplens.bench.harness import print_result

    print_result(suite.run(rows=100_000 if quick else rows), console, out)


@bench_app.command("cli")
def bench_cli(runs: int = typer.Option(7, min=1, help="processes per command"),
              quick: bool = typer.Option(False, help="3 runs"),
              out: Optional[Path] = typer.Option(None, help="save the result JSON here")):
    """Start-up: wall seconds of light commands as whole processes, beside `python -c pass`."""
    from shoplens.bench import cli as suite
    from shoplens.bench.harness import print_result

    print_result(suite.run(runs=runs, quick=quick), console, out)


@bench_app.command("simulator")
def bench_simulator(quick: bool = typer.Option(False, help="small sizes only"),
                    out: Optional[Path] = typer.Option(None, help="save the result JSON here")):
    """Events generated per second by the marketplace simulator, up to ~1M events."""
    from shoplens.bench import simulator as suite
    from shoplens.bench.harness import print_result

    print_result(suite.run(quick=quick), console, out)


@bench_app.command("text")
def bench_text(quick: bool = typer.Option(False, help="a few dozen texts per backend"),
               data: Optional[Path] = typer.Option(None, "--data", help="public data root (default $SHOPLENS_DATA)"),
               out: Optional[Path] = typer.Option(None, help="save the result JSON here")):
    """Texts/s of each encoder backend on real titles and reviews, and jieba tokenisation speed."""
    from shoplens.bench import text as suite
    from shoplens.bench.harness import print_result

    print_result(suite.run(quick=quick, data=data), console, out)
