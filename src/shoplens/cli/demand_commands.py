"""Demand commands: forecast, price, inventory; bench forecast-walmart, forecast-favorita, elasticity-oj, inventory,
scale."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from shoplens.cli import app, bench_app, console, fail, open_workspace
from shoplens.cli.output import JSON_HELP, OUT_HELP, check_out, note, print_json, print_table, write_out
from shoplens.cli.progress import StepProgress, print_warnings


LEVELS = ("item", "item_store", "store", "category")
FORECAST_MODELS = ("auto", "gbm", "ets")


@app.command()
def forecast(workspace: Path = typer.Argument(..., help="workspace folder"),
             horizon: int = typer.Option(28, "--horizon", help="days (periods) ahead"),
             horizon_days: Optional[int] = typer.Option(None, "--horizon-days", hidden=True,
                                                        help="the old name of --horizon"),
             level: str = typer.Option("item", help="item | item_store | store | category"),
             model: str = typer.Option("auto", help="auto | gbm | ets"),
             top: int = typer.Option(20, "--top", "-k", help="series to show"),
             out: Optional[Path] = typer.Option(None, "--out", help="also write every day of every series to this "
                                                "file: .csv, .parquet or .json"),
             as_json: bool = typer.Option(False, "--json", help=JSON_HELP)):
    """Forecast every sales series with an 80% interval; writes a chart PNG and prints its path. Series with
    less than two seasons of history are forecast by seasonal naive or their mean, with a warning."""
    from shoplens.forecast import forecast_workspace

    if horizon_days is not None:
        note("`--horizon-days` is now `--horizon`")
        horizon = horizon_days
    if horizon < 1:
        fail(f"--horizon must be at least 1 day, got {horizon}")
    if level not in LEVELS:
        fail(f"unknown --level {level!r}; expected one of {', '.join(LEVELS)}")
    if model not in FORECAST_MODELS:
        fail(f"unknown --model {model!r}; expected one of {', '.join(FORECAST_MODELS)}")
    check_out(out)
    with open_workspace(workspace) as ws:
        try:
            with StepProgress("forecast") as progress:
                result = forecast_workspace(ws, horizon=horizon, level=level, model=model, progress=progress)
        except (ValueError, KeyError) as e:
            fail(str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e))
    print_warnings(result.warnings)
    write_out(result.forecast, out, as_json)
    if as_json:
        print_json(result.to_dict())
        return
    for said in result.notes:
        console.print(f"note: {said}", soft_wrap=True, markup=False)
    print_table(_per_series(result.forecast), limit=top,
                title=f"forecast, {level} level, next {horizon} days: one row per series (every day: --out or --json)")
    if len(result.fallbacks):
        print_table(result.fallbacks, limit=top, title="series forecast by a fallback model (too little history)")
    if result.chart:
        console.print(f"chart: {result.chart} ({result.chart_series})", soft_wrap=True, markup=False)


def _per_series(forecast):
    """One row per series: its dates, the forecast total, and the daily mean of the forecast and its bounds."""
    bounds = [c for c in forecast.columns if c.startswith(("yhat_lo", "yhat_hi"))]
    grouped = forecast.groupby("unique_id", sort=False)
    table = grouped.agg(start=("ds", "min"), end=("ds", "max"), total=("yhat", "sum"), per_day=("yhat", "mean"))
    for column in bounds:  # e.g. yhat_lo80 -> lo80_per_day: the mean of the daily bounds, not a bound on the total
        table[f"{column.removeprefix('yhat_')}_per_day"] = grouped[column].mean()
    return table.sort_values("total", ascending=False)


@app.command()
def price(workspace: Path = typer.Argument(..., help="workspace folder"), item: str = typer.Option(..., "--item"),
          objective: str = typer.Option("profit", help="profit | revenue"),
          unit_cost: Optional[float] = typer.Option(None, help="default: 60% of the list price"),
          stock: Optional[float] = typer.Option(None, help="units available over the horizon"),
          as_json: bool = typer.Option(False, "--json", help=JSON_HELP)):
    """Price elasticity of an item and the discount that maximises profit or revenue under floors."""
    from shoplens.pricing import recommend_price

    if objective not in ("profit", "revenue"):
        fail(f"unknown --objective {objective!r}; expected profit or revenue")
    for name, value in (("--unit-cost", unit_cost), ("--stock", stock)):
        if value is not None and not value >= 0:
            fail(f"{name} must be a non-negative number, got {value:g}")
    with open_workspace(workspace) as ws:
        try:
            plan = recommend_price(ws, item, objective=objective, unit_cost=unit_cost, stock=stock)
        except KeyError as e:
            fail(str(e.args[0]) if e.args else str(e))
        except ValueError as e:
            fail(str(e))
    if as_json:
        print_json(plan)
        return
    identified = "" if plan.get("elasticity_identified", True) else " (not identified from the data: a prior)"
    console.print(f"[bold]{escape(plan['item_id'])}[/] ({escape(str(plan['segment']))}): elasticity {plan['elasticity']:g}{identified}, "
                  f"list price {plan['list_price']:,.2f}, unit cost {plan['unit_cost']:,.2f}", soft_wrap=True)
    console.print(f"best for {plan['objective']} over {plan['horizon_days']} days: discount {plan['plan_discount']:.0%} "
                  f"-> price {plan['plan_price']:,.2f}; expected {plan['plan_expected_units']:,.0f} units, revenue "
                  f"{plan['plan_expected_revenue']:,.2f}, profit {plan['plan_expected_profit']:,.2f} "
                  f"(limited by: {plan['plan_binding']})", soft_wrap=True, markup=False)


@app.command()
def inventory(workspace: Path = typer.Argument(..., help="workspace folder"),
              service_level: float = typer.Option(0.95, help="target probability of no stock-out per cycle"),
              lead_time: int = typer.Option(7, help="days"), review_period: int = typer.Option(7, help="days"),
              calibrate: bool = typer.Option(True, "--calibrate/--no-calibrate",
                                             help="measure the safety factor on a 2-window backtest of the forecast "
                                                  "(2 more fits); off: normal z, days treated as independent"),
              top: int = typer.Option(20, "--top", "-k", help="rows to show"),
              out: Optional[Path] = typer.Option(None, "--out", help=OUT_HELP),
              as_json: bool = typer.Option(False, "--json", help=JSON_HELP)):
    """Safety stock, reorder point and order-up-to level per series from forecast quantiles."""
    from shoplens.inventory import describe_safety, reorder_list

    if not 0 < service_level < 1:
        fail(f"--service-level must be between 0 and 1 (e.g. 0.95), got {service_level:g}")
    for name, value in (("--lead-time", lead_time), ("--review-period", review_period)):
        if value < 1:
            fail(f"{name} must be at least 1 day, got {value}")
    check_out(out)
    with open_workspace(workspace) as ws:
        try:
            with StepProgress("inventory") as progress:
                table = reorder_list(ws, service_level=service_level, lead_time=lead_time,
                                     review_period=review_period, calibrate=calibrate, progress=progress)
        except ValueError as e:
            fail(str(e))
    safety = table.attrs["safety"]
    print_warnings(table.attrs["warnings"])
    write_out(table, out, as_json)
    if as_json:
        print_json({"safety": safety, "notes": table.attrs["notes"], "warnings": table.attrs["warnings"],
                    "fallbacks": table.attrs["fallbacks"], "reorder": table})
        return
    for said in table.attrs["notes"]:
        console.print(f"note: {said}", soft_wrap=True, markup=False)
    console.print(describe_safety(safety, lead_time=lead_time, review_period=review_period), soft_wrap=True, markup=False)
    print_table(table, title=f"reorder list, service level {service_level:.0%}, "
                f"{'calibrated' if safety['rule'] == 'calibrated' else 'normal-z'} safety stock", limit=top)


def _suite(module_name: str):
    def command(quick: bool = typer.Option(False), data: Optional[Path] = typer.Option(None, "--data"),
                out: Optional[Path] = typer.Option(None, help="save the result JSON here")):
        import importlib

        from shoplens.bench.harness import print_result

        suite = importlib.import_module(f"shoplens.bench.{module_name}")
        print_result(suite.run(quick=quick, data=data), console, out)

    command.__doc__ = {"forecast_walmart": "Walmart weekly department sales: WMAE against statsforecast peers.",
                       "forecast_favorita": "Favorita daily store transactions: sMAPE against statsforecast peers.",
                       "elasticity_oj": "Orange-juice price elasticity with brand controls; simulator elasticities and discounts.",
                       "inventory": "Interval coverage (PBS, simulator) and the inventory policy's fill rate.",
                       "scale": "One forecasting batch callable in a local loop and on Ray, side by side."}[module_name]
    return command


for _name in ("forecast_walmart", "forecast_favorita", "elasticity_oj", "inventory", "scale"):
    bench_app.command(_name.replace("_", "-"))(_suite(_name))
