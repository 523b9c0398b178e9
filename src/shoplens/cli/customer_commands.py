"""Customer commands (`shoplens customers profile|churn|segments`, registered in cli/grammar.py); bench churn-cdnow
and profiles."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from shoplens.cli import app, bench_app, console, fail, open_workspace
from shoplens.cli.output import JSON_HELP, OUT_HELP, check_out, note, print_json, print_table, write_out


@app.command()
def profile(workspace: Path = typer.Argument(..., help="workspace folder"),
            user: str = typer.Option(..., "--user", help="external user id"),
            as_json: bool = typer.Option(False, "--json", help=JSON_HELP)):
    """One user's profile: RFM, segment, preferred categories/brands/prices, active hours, interests, drift."""
    from shoplens.customers.jobs import workspace_profile

    with open_workspace(workspace) as ws:
        try:
            result = workspace_profile(ws, user)
        except KeyError as e:
            fail(str(e.args[0]) if e.args else str(e))
        except ValueError as e:
            fail(str(e))
    if as_json:
        print_json(result)
        return
    _print_profile(result)


def _shares(entries: list[dict], key: str = "name") -> str:
    return ", ".join(f"{e[key]} {e['share']:.0%}" for e in entries) or "-"


def _print_profile(p: dict) -> None:
    import pandas as pd

    rfm = p["rfm"]
    console.print(f"[bold]{escape(p['user_id'])}[/] as of {p['as_of']}: {p['events']:,} events", soft_wrap=True)
    if rfm["purchases"]:
        spend = f", spend {rfm['spend']:,.2f}" if rfm.get("spend") is not None else ""
        console.print(f"purchases: {rfm['purchases']:,} on {rfm['purchase_days']:,} days{spend}; first "
                      f"{rfm['first_purchase']}, last {rfm['days_since_last_purchase']:g} days ago"
                      + (f"; segment {rfm['segment']}" if rfm.get("segment") else ""), soft_wrap=True, markup=False)
    else:
        console.print("purchases: none", soft_wrap=True, markup=False)
    console.print(f"categories: {_shares(p['categories'])}", soft_wrap=True, markup=False)
    console.print(f"brands: {_shares(p['brands'])}", soft_wrap=True, markup=False)
    price = p.get("price") or {}
    if price.get("band"):
        console.print(f"price: {price['band']} ({price['relative_to_category_median']:g} x the category median; "
                      f"median price paid or viewed {price['median_price_paid_or_viewed']:g})", soft_wrap=True, markup=False)
    hours = ", ".join(f"{h['hour']:02d}h {h['share']:.0%}" for h in p["active_hours"])
    console.print(f"active hours: {hours}; weekend share {p['weekend_share']:.0%}", soft_wrap=True, markup=False)
    if p.get("interests"):
        print_table(pd.DataFrame(p["interests"]), title="interests")
    drift = p.get("drift") or {}
    if drift.get("since"):
        console.print(f"drift since {drift['since']}: distance {drift['distance']:g}; rising "
                      f"{', '.join(drift['rising']) or '-'}; fading {', '.join(drift['fading']) or '-'}", soft_wrap=True, markup=False)


@app.command()
def churn(workspace: Path = typer.Argument(..., help="workspace folder"),
          precision: Optional[float] = typer.Option(None, help="flag customers at this target precision"),
          budget: Optional[int] = typer.Option(None, help="a number of customers: flag the N with the most value at "
                                               "risk (default, without --precision: everyone more likely to churn than not)"),
          horizon: float = typer.Option(90.0, "--horizon", help="days: churn = no purchase in this many days"),
          horizon_days: Optional[float] = typer.Option(None, "--horizon-days", hidden=True,
                                                       help="the old name of --horizon"),
          top: int = typer.Option(20, "--top", "-k", help="how many customers to show (--out and --json have all)"),
          out: Optional[Path] = typer.Option(None, "--out", help=OUT_HELP),
          as_json: bool = typer.Option(False, "--json", help=JSON_HELP)):
    """Early warning: at-risk customers with their top reasons and the value at risk."""
    from shoplens.customers.jobs import workspace_churn

    if precision is not None and budget is not None:
        fail("give --precision or --budget, not both")
    if precision is not None and not 0 < precision <= 1:
        fail(f"--precision must be in (0, 1], got {precision:g}")
    if budget is not None and budget < 1:
        fail(f"--budget must be a positive number of customers, got {budget}")
    if horizon_days is not None:
        note("`--horizon-days` is now `--horizon`")
        horizon = horizon_days
    if horizon <= 0:
        fail(f"--horizon must be positive, got {horizon:g}")
    check_out(out)
    with open_workspace(workspace) as ws:
        if precision is None and budget is None:
            budget = ws.connect().execute("SELECT count(DISTINCT user_id) FROM events").fetchone()[0]
        try:
            table, summary = workspace_churn(ws, precision=precision, budget=budget, horizon_days=horizon)
        except ValueError as e:
            fail(str(e))
    write_out(table, out, as_json)
    if as_json:
        print_json({"summary": summary, "customers": table})
        return
    if summary.get("warning"):
        console.print(f"[bold yellow]warning:[/] {escape(summary['warning'])}", soft_wrap=True)
    console.print(f"{summary['flagged']:,} of {summary['customers']:,} customers flagged (risk >= "
                  f"{summary['threshold']:.3g}), value at risk {summary['value_at_risk']:,.2f}; "
                  f"model: {summary.get('model', 'learned')}; {summary['trained_on']}", soft_wrap=True, markup=False)
    if len(table):  # the reasons in one column, so the table fits a terminal; --out/--json keep them apart
        reasons = [c for c in table.columns if c.startswith("reason_")]
        shown = table.drop(columns=reasons).assign(
            reasons=table[reasons].apply(lambda r: "; ".join(v for v in r if isinstance(v, str) and v), axis=1))
        print_table(shown.drop(columns=["value_if_retained"]), title="customers at risk (by value at risk)", limit=top)


@app.command()
def segments(workspace: Path = typer.Argument(..., help="workspace folder"),
             clusters: int = typer.Option(8, help="embedding clusters"),
             out: Optional[Path] = typer.Option(None, "--out", help="also write each customer's segment and cluster "
                                                "to this file: .csv, .parquet or .json"),
             as_json: bool = typer.Option(False, "--json", help=JSON_HELP)):
    """Named RFM segments and embedding-based clusters with descriptions."""
    from shoplens.customers.jobs import workspace_segments

    if clusters < 1:
        fail(f"--clusters must be at least 1, got {clusters}")
    check_out(out)
    with open_workspace(workspace) as ws:
        try:
            result = workspace_segments(ws, n_clusters=clusters)
        except ValueError as e:
            fail(str(e))
    write_out(result["customers"], out, as_json)
    if as_json:
        print_json({k: v for k, v in result.items() if k != "customers"})
        return
    print_table(result["rfm"], title="RFM segments", limit=None)
    if "clusters" in result:
        print_table(result["clusters"], title="interest clusters", limit=None)


@bench_app.command("churn-cdnow")
def bench_churn(quick: bool = typer.Option(False), data: Optional[Path] = typer.Option(None, "--data"),
                out: Optional[Path] = typer.Option(None, help="save the result JSON here")):
    """BG/NBD, Pareto/NBD, Gamma-Gamma vs the learned model on CDNOW; churn flags on the simulator."""
    from shoplens.bench import churn as suite
    from shoplens.bench.harness import print_result

    print_result(suite.run(quick=quick, data=data), console, out)


@bench_app.command("profiles")
def bench_profiles(quick: bool = typer.Option(False), out: Optional[Path] = typer.Option(None)):
    """Recovered interests and segments against the simulator's true latent interests."""
    from shoplens.bench import profiles as suite
    from shoplens.bench.harness import print_result

    print_result(suite.run(quick=quick), console, out)
