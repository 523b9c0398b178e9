"""The `shoplens` command line: argument parsing and printing only; the work is plain Python calls.

One module per domain registers its commands on `app` (or `bench_app`) when imported below."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from shoplens.workspace import Workspace, WorkspaceError

app = typer.Typer(help="ShopLens: understand what each e-commerce user is interested in.", no_args_is_help=True)
datasets_app = typer.Typer(help="Public datasets under $SHOPLENS_DATA.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks: a table, then one JSON line (DESIGN.md).", no_args_is_help=True)
app.add_typer(datasets_app, name="datasets")
app.add_typer(bench_app, name="bench")
console = Console()


def fail(message: str) -> None:
    console.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    raise typer.Exit(code=1)


def open_workspace(path: Path) -> Workspace:
    try:
        return Workspace.open(path)
    except WorkspaceError as e:
        fail(str(e))


def print_frame(frame, title: str | None = None, limit: int = 20) -> None:
    """A DataFrame as a Rich table (the first `limit` rows)."""
    table = Table(*map(str, frame.columns), title=title)
    for row in frame.head(limit).itertuples(index=False):
        table.add_row(*(_cell(v) for v in row))
    console.print(table)


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return str(value)


# Registration by import: each module adds its commands to `app` / `bench_app`.
from shoplens.cli import workspace_commands, recommend_commands, search_commands, review_commands, customer_commands, demand_commands, ads_commands, serve_commands, bench_commands  # noqa: E402,F401,I001  (order = help order)

if __name__ == "__main__":
    app()
