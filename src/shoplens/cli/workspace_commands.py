"""Workspace commands (top-level: init, ingest, info, demo) and datasets list|show."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from shoplens.cli import fail, open_workspace, app, console, datasets_app
from shoplens.cli.output import JSON_HELP
from shoplens.data.readers import InputError
from shoplens.workspace import Workspace, WorkspaceError


@app.command()
def init(path: Path = typer.Argument(..., help="folder for the new workspace")):
    """Create a workspace: a DuckDB file, artifacts/ and a config."""
    try:
        ws = Workspace.init(path)
    except WorkspaceError as e:
        fail(str(e))
    ws.close()
    console.print(f"created workspace [bold]{path}[/] ({ws.db_path.name}, {ws.artifacts.name}/)")


@app.command()
def ingest(
    workspace: Path = typer.Argument(..., help="workspace folder"),
    file: Path = typer.Argument(..., help="CSV, TSV, Parquet or JSON-lines file (gzip allowed)"),
    kind: str = typer.Option(..., "--kind", help="items|users|events|reviews|sales|ad_impressions"),
    mapping: Optional[str] = typer.Option(None, "--map", help="canonical=source,... e.g. user=uid,item=sku,ts=time"),
    fmt: Optional[str] = typer.Option(None, "--format", help="csv|tsv|parquet|jsonl (default: from the extension)"),
    value_map: Optional[str] = typer.Option(None, "--map-values",
                                            help="your event names -> canonical ones, e.g. event=buy:purchase,pv:view,fav:favorite "
                                                 "(remembered by the workspace, also for POST /events)"),
    keep_unknown_events: bool = typer.Option(False, "--keep-unknown-events",
                                             help="keep event names outside the vocabulary as custom types instead of refusing them"),
    date_format: Optional[str] = typer.Option(None, "--date-format",
                                              help="strftime format of the timestamp columns when not ISO 8601/epoch, e.g. %d/%m/%Y"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
):
    """Validate a file and load it into one table, all or nothing."""
    from shoplens.data.ingest import parse_mapping, parse_value_map

    ws = open_workspace(workspace)
    try:
        with console.status(f"ingesting {file.name} ..."):
            report = ws.ingest(file, kind, mapping=parse_mapping(mapping), fmt=fmt, date_format=date_format,
                               value_map=parse_value_map(value_map), keep_unknown_events=keep_unknown_events)
    except (InputError, ValueError) as e:
        fail(str(e))
    finally:
        ws.close()
    if as_json:
        print(json.dumps(report.__dict__, default=str))
    else:
        console.print(report.summary())


@app.command()
def info(workspace: Path = typer.Argument(..., help="workspace folder"), as_json: bool = typer.Option(False, "--json", help=JSON_HELP)):
    """Row counts of every table in a workspace."""
    with open_workspace(workspace) as ws:
        counts = ws.counts()
    if as_json:
        print(json.dumps(counts))
        return
    table = Table("table", "rows")
    for name, n in counts.items():
        table.add_row(name, f"{n:,}")
    console.print(table)


@datasets_app.command("list")
def datasets_list(data: Optional[Path] = typer.Option(None, "--data", help="root folder (default $SHOPLENS_DATA)"),
                  as_json: bool = typer.Option(False, "--json", help=JSON_HELP)):
    """Which public datasets are present, and where to put the missing ones."""
    from shoplens.datasets import list_datasets

    frame = list_datasets(data)
    if as_json:
        print(frame.to_json(orient="records", force_ascii=False))
        return
    table = Table("dataset", "present", "path / what is missing")
    for row in frame.itertuples():
        detail = str(row.path) if row.present else row.hint
        table.add_row(row.name, "[green]yes[/]" if row.present else "[red]no[/]", detail)
    console.print(table)


@datasets_app.command("show")
def datasets_show(source: str = typer.Argument(..., help="a dataset name (e.g. s3rec-amazon) or a path to your own copy"),
                  fmt: Optional[str] = typer.Option(None, "--format", help="for a path: s3rec|sasrec-pairs|recbole|"
                                                    "label-text-csv|chnsenticorp-tsv|lines-pos-neg"),
                  subset: Optional[str] = typer.Option(None, help="part of a multi-part dataset, e.g. Beauty"),
                  data: Optional[Path] = typer.Option(None, "--data", help="root folder (default $SHOPLENS_DATA)")):
    """Read a public dataset (or a file in one of their formats) into canonical tables and show their shapes."""
    from shoplens.datasets import DatasetNotFound, load, read_format

    try:
        dataset = read_format(source, fmt) if fmt else load(source, root=data, subset=subset)
    except (DatasetNotFound, KeyError, ValueError) as e:
        fail(str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e))
    table = Table("table", "rows", "columns", title=f"{dataset.name}")
    for name, frame in dataset.tables.items():
        table.add_row(name, f"{len(frame):,}", ", ".join(map(str, frame.columns)))
    console.print(table)


@app.command()
def demo(
    workspace: Optional[Path] = typer.Option(None, "--workspace", help="keep the demo workspace here (default: a temporary folder)"),
    users: int = typer.Option(2000, help="simulated users"),
    items: int = typer.Option(500, help="simulated items"),
    seed: int = typer.Option(0),
):
    """A tour on the built-in marketplace simulator.

    Everything on the simulated shop: ingest, a tour, and each capability's part."""
    from shoplens.demo import run_demo

    run_demo(workspace=workspace, n_users=users, n_items=items, seed=seed, console=console)
