"""The README's quickstart is this test's script: each `shoplens ...` line of its code block runs verbatim (the
workspace and file names pointed at a temporary folder holding tests/user_shop.py's files), in a subprocess,
and must exit 0. If the README changes, this test runs the new lines; if a line stops working, it fails."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from user_shop import write_user_shop

README = Path(__file__).parents[1] / "README.md"
SHOPLENS = str(Path(sys.executable).with_name("shoplens"))
# Run elsewhere, each for a reason a reader can check:
NOT_RUN_HERE = {"serve": "blocks until stopped; tests/test_serve_process.py runs it as a real process",
                "train-reranker": "fine-tunes a MiniLM cross-encoder for minutes; tests/test_search_rerank.py covers it",
                "--reranker": "needs the re-ranker trained by the line above"}


def quickstart_commands() -> list[str]:
    text = README.read_text(encoding="utf-8")
    block = text[text.index("## Quickstart"):text.index("The same from Python:")]
    lines = [line.strip() for line in block.splitlines() if line.startswith("    shoplens ")]
    commands = []
    for line in lines:
        line = re.sub(r"\s+#.*$", "", line)  # a trailing comment
        commands += [part.strip() for part in line.split("&&")]
    return commands


def test_the_quickstart_block_is_found():
    commands = quickstart_commands()
    assert commands[0] == "shoplens init myshop" and len(commands) >= 10


def test_every_quickstart_line_runs(tmp_path):
    files = write_user_shop(tmp_path)
    names = {"myshop": str(tmp_path / "myshop"), **{p.name: str(p) for p in files.values()}}
    ran, skipped = [], []
    for command in quickstart_commands():
        argv = [names.get(word, word) for word in shlex.split(command)]
        reason = next((why for word, why in NOT_RUN_HERE.items() if word in argv), None)
        if reason:
            skipped.append((command, reason))
            continue
        done = subprocess.run([SHOPLENS, *argv[1:]], capture_output=True, text=True, timeout=900, cwd=tmp_path)
        assert done.returncode == 0, f"{command}: exit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        ran.append(command)
    assert len(ran) >= 10, ran
    assert all(c.startswith(("shoplens serve ", "shoplens search train-reranker ", "shoplens search index "))
               for c, _ in skipped), skipped
