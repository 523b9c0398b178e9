"""Running the installed `shoplens` script as a user does, for the CLI tests: exit codes, one JSON document,
one-line errors."""

import json
import subprocess
import sys
from pathlib import Path

SHOPLENS = str(Path(sys.executable).with_name("shoplens"))


def run(*args, ok=True, env=None):
    done = subprocess.run([SHOPLENS, *map(str, args)], capture_output=True, text=True, timeout=600, env=env)
    if ok:
        assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stderr, done.stderr
    return done


def run_json(*args, out: Path | None = None):
    """--json (and --out FILE: the path is said on stderr, so stdout stays one document)."""
    done = run(*args, "--json", *(("--out", out) if out else ()))
    if out:
        assert str(out) in " ".join(done.stderr.split()), done.stderr
    return json.loads(done.stdout)  # exactly one document: anything else on stdout fails here


def assert_one_line_error(done, *fragments, code=2):
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
