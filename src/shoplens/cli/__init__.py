"""The `shoplens` command line: argument parsing and printing only; the work is plain Python calls.

One module per domain registers its commands on `app` (or `bench_app`) when imported below; `grammar`, imported
last, groups them by domain (`shoplens rec user WS`, docs/cli.md) and keeps the old flat names as hidden aliases."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console
from rich.text import Text

from shoplens.workspace import SERVER_FILE, Workspace, WorkspaceError

app = typer.Typer(help="ShopLens: understand what each e-commerce user is interested in.\n\n"
                       "shoplens NOUN VERB WORKSPACE [--flags]: e.g. `shoplens rec user myshop --user U1 --top 5 --json`. "
                       "Every command has --help; docs/cli.md has them all.", no_args_is_help=True,
                  rich_markup_mode=None,  # help texts say NAME[/SUBSET]: text, not Rich markup
                  pretty_exceptions_enable=False)
datasets_app = typer.Typer(help="Public datasets under $SHOPLENS_DATA: which are present.",
                           no_args_is_help=True, rich_markup_mode=None)
bench_app = typer.Typer(help="Benchmarks on public data: a table, then one JSON line.", no_args_is_help=True,
                        rich_markup_mode=None)
app.add_typer(datasets_app, name="datasets")
app.add_typer(bench_app, name="bench")
console = Console()
errors = Console(stderr=True)
USAGE_ERROR = 2  # bad arguments or bad input, as click's own usage errors


def fail(message: str, code: int = USAGE_ERROR) -> NoReturn:
    """One line on stderr, `error: ...` (never markup: a message may quote a user's `[brackets]`), then exit."""
    errors.print(Text.assemble(("error:", "bold red"), " ", " ".join(str(message).split())), soft_wrap=True)
    raise typer.Exit(code=code)


def main() -> None:
    """The `shoplens` entry point: the app, with anything it did not handle said in one line, not a traceback
    (SHOPLENS_DEBUG=1 shows the traceback)."""
    import duckdb
    from typer._click import exceptions as click_errors  # typer's own click: its usage errors are these

    from shoplens.data.readers import InputError

    try:
        code = app(standalone_mode=False)  # click's usage errors come here too, to be said in one line
        sys.exit(code if isinstance(code, int) else 0)
    except click_errors.NoArgsIsHelpError as e:  # `shoplens` or `shoplens rec` alone: the help, on stdout as --help
        print(e.ctx.get_help())
        sys.exit(0)
    except click_errors.UsageError as e:
        where = f" (see `{e.ctx.command_path} --help`)" if e.ctx is not None else ""
        _fail_or_debug(e, f"{e.format_message()}{where}")
    except typer.Abort:
        _fail_or_debug(KeyboardInterrupt(), "aborted", code=130)
    except click_errors.ClickException as e:
        _fail_or_debug(e, e.format_message(), code=e.exit_code)
    except (InputError, WorkspaceError, ValueError, FileNotFoundError, KeyError) as e:
        _fail_or_debug(e, str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e))
    except duckdb.IOException as e:
        _fail_or_debug(e, _lock_message(e) if "lock" in str(e).lower() else f"the workspace database: {e}")
    except Exception as e:  # a bug: say what, once
        _fail_or_debug(e, f"{type(e).__name__}: {e} (this is a bug in shoplens; SHOPLENS_DEBUG=1 shows where)", code=1)


def _fail_or_debug(error: Exception, message: str, code: int = USAGE_ERROR) -> NoReturn:
    if os.environ.get("SHOPLENS_DEBUG"):
        raise error
    try:
        fail(message, code)
    except typer.Exit as done:
        sys.exit(done.exit_code)


def _alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
        return True
    except (OSError, TypeError, ValueError):
        return False


def _lock_message(error: Exception) -> str:
    """DuckDB admits one writing process per file: say who holds it and what to do instead."""
    import json

    held = [p for p in (Path(a) for a in sys.argv[1:] if not a.startswith("-")) if (p / SERVER_FILE).is_file()]
    server = json.loads((held[0] / SERVER_FILE).read_text()) if held else {}
    if server and _alive(server.get("pid")):
        return (f"the workspace {held[0]} is held by a running `shoplens serve` (pid {server.get('pid')}, "
                f"{server.get('url')}); stop it, or use its REST API ({server.get('url')}docs), "
                "e.g. POST /events to add events and POST /admin/fit to retrain")
    return ("the workspace is locked by another process (a running `shoplens serve`, or another command); "
            f"wait for it or stop it ({str(error).splitlines()[0]})")


def open_workspace(path: Path) -> Workspace:
    try:
        return Workspace.open(path)
    except WorkspaceError as e:
        fail(str(e))


# Registration by import: each module adds its commands to `app` / `bench_app`.
from shoplens.cli import workspace_commands, recommend_commands, search_commands, review_commands, customer_commands, demand_commands, ads_commands, generate_commands, serve_commands, bench_commands, peer_commands, grammar  # noqa: E402,F401,I001  (order = help order)

if __name__ == "__main__":
    main()
