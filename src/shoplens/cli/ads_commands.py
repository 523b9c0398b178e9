"""Ad commands: ctr (score one user-item pair), target (choose users for a campaign); bench ctr.
`shoplens ads fit WS --model deepfm` (cli/recommend_commands.py's fit_ctr) calls `fit_ctr_model` here."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from shoplens.cli import app, bench_app, console, fail, open_workspace
from shoplens.cli.output import JSON_HELP, OUT_HELP, check_out, note, print_json, print_table, write_out
from shoplens.cli.progress import print_warnings


def fit_ctr_model(workspace: Path, model: str, name: Optional[str], params: dict, as_json: bool = False) -> None:
    from shoplens.ads.jobs import fit_ctr

    with open_workspace(workspace) as ws:
        try:
            fitted = fit_ctr(ws, model, name=name, **params)
        except (ValueError, TypeError, KeyError) as e:
            fail(str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e))
    validation = {k: v for k, v in getattr(fitted, "validation_", {}).items() if isinstance(v, float)}
    print_warnings(fitted.warnings_)
    if as_json:
        print_json({"model": model, "name": name or model, "fitted_as": fitted.fitted_as_, "warnings": fitted.warnings_,
                    "validation": validation})
        return
    scores = ", ".join(f"{k} {v:.4f}" for k, v in validation.items())
    console.print(f"trained {fitted.fitted_as_} (saved as {name or model!r}); validation on the newest impressions: "
                  f"{scores}", soft_wrap=True, markup=False)


@app.command()
def ctr(workspace: Path = typer.Argument(..., help="workspace folder"),
        user: str = typer.Option(..., "--user"), item: str = typer.Option(..., "--item"),
        model: str = typer.Option("deepfm", help="saved CTR model name"),
        as_json: bool = typer.Option(False, "--json", help=JSON_HELP)):
    """Calibrated probability that `user` clicks `item` when shown."""
    from shoplens.ads.jobs import ctr_report

    with open_workspace(workspace) as ws:
        try:
            report = ctr_report(ws, user, item, model=model)
        except (FileNotFoundError, ValueError, KeyError) as e:
            fail(str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e))
    print_warnings(report["warnings"])
    if as_json:
        print_json(report)
    else:
        fitted = "" if report["fitted_as"] == model else f", fitted as {report['fitted_as']}"
        console.print(f"P(click) {report['ctr']:.4f} for {user} on {item} ({model}{fitted})", soft_wrap=True,
                      markup=False)


@app.command()
def target(workspace: Path = typer.Argument(..., help="workspace folder"),
           category: Optional[str] = typer.Option(None, help="campaign = every item of this category: a path or a "
                                                  "prefix of whole levels (美妆 or 美妆 > 面霜, also 美妆/面霜), or its "
                                                  "last level"),
           items: Optional[str] = typer.Option(None, help="or these item ids, comma-separated"),
           impressions: int = typer.Option(1000, "--impressions", help="the budget: impressions to buy (one row each)"),
           budget: Optional[int] = typer.Option(None, "--budget", hidden=True, help="the old name of --impressions"),
           frequency_cap: int = typer.Option(1, help="impressions per user at most"),
           model: str = typer.Option("deepfm", help="saved CTR model name"),
           top: int = typer.Option(20, "--top", "-k", help="rows to show"),
           out: Optional[Path] = typer.Option(None, "--out", help=OUT_HELP),
           as_json: bool = typer.Option(False, "--json", help=JSON_HELP)):
    """Choose whom to show a campaign to, by expected clicks (CTR x chance the user shows up)."""
    from shoplens.ads.jobs import target_campaign

    if (category is None) == (items is None):
        fail("give --category or --items")
    if budget is not None:  # churn's --budget counts customers; this one always counted impressions
        note("`--budget` is now `--impressions`")
    budget = impressions if budget is None else budget
    for name, value in (("--impressions", budget), ("--frequency-cap", frequency_cap)):
        if value < 1:
            fail(f"{name} must be at least 1, got {value}")
    check_out(out)
    with open_workspace(workspace) as ws:
        try:
            chosen = target_campaign(ws, items=items.split(",") if items else None, category=category,
                                     budget=budget, frequency_cap=frequency_cap, model=model)
        except (FileNotFoundError, ValueError, KeyError) as e:
            fail(str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e))
    print_warnings(chosen.attrs["warnings"])
    write_out(chosen, out, as_json)
    if as_json:  # the shape of GET /target
        print_json({"model": model, "fitted_as": chosen.attrs["fitted_as"], "warnings": chosen.attrs["warnings"],
                    "impressions_chosen": len(chosen), "users": int(chosen["user_id"].nunique()),
                    "expected_clicks": float(chosen["expected_clicks"].sum()), "impressions": chosen})
        return
    console.print(f"{len(chosen):,} impressions to {chosen['user_id'].nunique():,} users; "
                  f"expected clicks {chosen['expected_clicks'].sum():.1f} (on the simulator, tightly targeted "
                  "forecasts ran up to ~2x high: docs/benchmarks.md)", soft_wrap=True, markup=False)
    print_table(chosen, title="best impressions first", limit=top)


@bench_app.command("ctr")
def bench_ctr(dataset: str = typer.Option("frappe-x1", help="frappe-x1, or a folder/CSV with train/valid/test"),
              model: str = typer.Option("all", help="lr|fm|deepfm|dcnv2|all"), seeds: int = typer.Option(3),
              quick: bool = typer.Option(False, help="a slice, one seed, few epochs"),
              data: Optional[Path] = typer.Option(None, "--data"),
              out: Optional[Path] = typer.Option(None, help="save the result JSON here")):
    """AUC / logloss against the BARS leaderboard, and DIN vs DeepFM on the simulator."""
    from shoplens.bench import ctr as suite
    from shoplens.bench.harness import print_result

    print_result(suite.run(dataset=dataset, model=model, seeds=tuple(range(seeds)), quick=quick, data=data), console, out)
