"""Demand commands: forecast, price, inventory; bench forecast-walmart, forecast-favorita, elasticity-oj, inventory,
scale."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from shoplens.cli import app, bench_app, console, fail, open_workspace, print_frame


@app.command()
def forecast(workspace: Path = typer.Argument(..., help="workspace folder"),
             horizon: int = typer.Option(28, help="days ahead"),
             level: str = typer.Option("item", help="item | item_store | store | category"),
             model: str = typer.Option("auto", help="auto | gbm | ets"),
             as_json: bool = typer.Option(False, "--json")):
    """Forecast every sales series with an 80% interval; writes a chart PNG and prints its path."""
    from shoplens.forecast import forecast_workspace

    with open_workspace(workspace) as ws:
        try:
            with console.status("forecasting ..."):
                result = forecast_workspace(ws, horizon=horizon, level=level, model=model)
        except (ValueError, KeyError) as e:
            fail(str(e))
    if as_json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, default=str))
        return
    for note in result.notes:
        console.print(f"note: {note}")
    print_frame(result.forecast, title=f"forecast, {level} level, next {horizon} days (first rows)")
    if result.chart:
        console.print(f"chart: {result.chart} ({result.chart_series})")


@app.command()
def price(workspace: Path = typer.Argument(..., help="workspace folder"), item: str = typer.Option(..., "--item"),
          objective: str = typer.Option("profit", help="profit | revenue"),
          unit_cost: Optional[float] = typer.Option(None, help="default: 60% of the list price"),
          stock: Optional[float] = typer.Option(None, help="units available over the horizon"),
          as_json: bool = typer.Option(False, "--json")):
    """Price elasticity of an item and the discount that maximises profit or revenue under floors."""
    from shoplens.pricing import recommend_price

    with open_workspace(workspace) as ws:
        try:
            plan = recommend_price(ws, item, objective=objective, unit_cost=unit_cost, stock=stock)
        except KeyError as e:
            fail(str(e.args[0]) if e.args else str(e))
        except ValueError as e:
            fail(str(e))
    if as_json:
        print(json.dumps(plan, ensure_ascii=False, default=str))
    else:
        console.print_json(json.dumps(plan, ensure_ascii=False, default=str))


@app.command()
def inventory(workspace: Path = typer.Argument(..., help="workspace folder"),
              service_level: float = typer.Option(0.95, help="target probability of no stock-out per cycle"),
              lead_time: int = typer.Option(7, help="days"), review_period: int = typer.Option(7, help="days"),
              calibrate: bool = typer.Option(True, "--calibrate/--no-calibrate",
                                             help="measure the safety factor on a 2-window backtest of the forecast "
                                                  "(2 more fits); off: normal z, days treated as independent"),
              top: int = typer.Option(20, help="rows to show"), as_json: bool = typer.Option(False, "--json")):
    """Safety stock, reorder point and order-up-to level per series from forecast quantiles."""
    from shoplens.inventory import describe_safety, reorder_list

    with open_workspace(workspace) as ws:
        try:
            with console.status("forecasting" + (" and backtesting the safety factor ..." if calibrate else " ...")):
                table = reorder_list(ws, service_level=service_level, lead_time=lead_time,
                                     review_period=review_period, calibrate=calibrate)
        except ValueError as e:
            fail(str(e))
    safety = table.attrs["safety"]
    if as_json:
        print(table.reset_index().to_json(orient="records", force_ascii=False))
        return
    for note in table.attrs["notes"]:
        console.print(f"note: {note}")
    console.print(describe_safety(safety, lead_time=lead_time, review_period=review_period))
    print_frame(table.reset_index(), title=f"reorder list, service level {service_level:.0%}, "
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
