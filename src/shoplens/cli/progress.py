"""What a long command says while it works and what it warns of, always on stderr (stdout carries --json).

    with StepProgress("forecast") as progress:
        result = forecast_workspace(ws, progress=progress)   # the library calls progress(step, fraction)
    print_warnings(result.warnings)

On a terminal a tqdm bar redraws in place; on a file or a pipe (a CI log, `2> log`) each new step is one plain
line, `forecast:  40% fitting gbm: model 2 of 6`, so the log reads top to bottom without carriage returns.
"""

from __future__ import annotations

import sys

from rich.text import Text

from shoplens.cli import errors


class StepProgress:
    """A `progress(step, fraction)` callback for the library's long jobs (fraction 0..1 of the whole job)."""

    def __init__(self, name: str):
        self.name = name
        self.terminal = sys.stderr.isatty()
        self.bar = None
        self.last_step: str | None = None

    def __enter__(self) -> "StepProgress":
        if self.terminal:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=100, desc=self.name, file=sys.stderr, leave=False,
                            bar_format="{desc}: {percentage:3.0f}%|{bar:20}| {elapsed} {postfix}")
        return self

    def __call__(self, step: str, fraction: float) -> None:
        percent = round(100 * min(max(fraction, 0.0), 1.0))
        if self.bar is not None:
            self.bar.set_postfix_str(step, refresh=False)
            self.bar.update(percent - self.bar.n)
        elif step != self.last_step:
            print(f"{self.name}: {percent:3d}% {step}", file=sys.stderr, flush=True)
        self.last_step = step

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()


def print_warnings(warnings) -> None:
    """One stderr line per warning, `warning: ...` (text, not markup: a warning may quote a user's [brackets])."""
    for warning in warnings or ():
        errors.print(Text.assemble(("warning:", "bold yellow"), " ", " ".join(str(warning).split())), soft_wrap=True)
