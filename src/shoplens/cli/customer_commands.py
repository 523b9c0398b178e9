"""Customer commands: profile, churn, segments; bench churn-cdnow and profiles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from shoplens.cli import app, bench_app, console, fail, open_workspace, print_frame


@app.command()
def profile(workspace: Path = typer.Argument(..., help="workspace folder"),
            user: str = typer.Option(..., "--user", help="external user id"),
            as_json: bool = typer.Option(False, "--json")):
    """One user's profile: RFM, segment, preferred categories/brands/prices, active hours, interests, drift."""
    from shoplens.customers.jobs import workspace_profile

    with open_workspace(workspace) as ws:
        try:
            result = workspace_profile(ws, user)
        except (KeyError, ValueError) as e:
            fail(str(e))
    if as_json:
        print(json.dumps(result, ensure_ascii=False, default=str))
    else:
        console.print_json(json.dumps(result, ensure_ascii=False, default=str))


@app.command()
def churn(workspace: Path = typer.Argument(..., help="workspace folder"),
          precision: Optional[float] = typer.Option(None, help="flag customers at this target precision"),
          budget: Optional[int] = typer.Option(None, help="flag the N customers with the most value at risk"),
          horizon_days: float = typer.Option(90.0, help="churn = no purchase in this many days"),
          as_json: bool = typer.Option(False, "--json")):
    """Early warning: at-risk customers with their top reasons and the value at risk."""
    from shoplens.customers.jobs import workspace_churn

    if precision is not None and budget is not None:
        fail("give --precision or --budget, not both")
    with open_workspace(workspace) as ws:
        try:
            table, summary = workspace_churn(ws, precision=precision, budget=budget, horizon_days=horizon_days)
        except ValueError as e:
            fail(str(e))
    if as_json:
        print(json.dumps({"summary": summary, "customers": table.reset_index().to_dict(orient="records")},
                         ensure_ascii=False, default=str))
        return
    console.print(summary)
    print_frame(table.reset_index(), title="customers at risk (by value at risk)")


@app.command()
def segments(workspace: Path = typer.Argument(..., help="workspace folder"),
             clusters: int = typer.Option(8, help="embedding clusters"),
             as_json: bool = typer.Option(False, "--json")):
    """Named RFM segments and embedding-based clusters with descriptions."""
    from shoplens.customers.jobs import workspace_segments

    with open_workspace(workspace) as ws:
        try:
            result = workspace_segments(ws, n_clusters=clusters)
        except ValueError as e:
            fail(str(e))
    if as_json:
        print(json.dumps({k: v.reset_index().to_dict(orient="records") for k, v in result.items() if k != "customers"},
                         ensure_ascii=False, default=str))
        return
    print_frame(result["rfm"].reset_index(), title="RFM segments")
    if "clusters" in result:
        print_frame(result["clusters"].reset_index(), title="interest clusters")


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
