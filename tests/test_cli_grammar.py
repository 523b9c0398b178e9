"""The command line's one grammar (`shoplens NOUN VERB WORKSPACE`, docs/cli.md) and its hidden aliases, in a
subprocess through the installed `shoplens` script, on tests/user_shop.py's shop.

Every new command has a help page; every old spelling still works, says once on stderr what it is now, and
prints exactly what the new spelling prints; aliases are not listed; an unknown verb is one `error:` line."""

import json
import re

import pytest

from shoplens_cli import assert_one_line_error, run
from user_shop import EVENT_NAMES, MAPPINGS, write_user_shop

NEW_COMMANDS = {
    "": ["init", "ingest", "info", "demo", "serve"],
    "rec": ["fit", "evaluate", "user", "similar"],
    "search": ["index", "query", "suggest", "tune", "train-reranker"],
    "reviews": ["analyze"],
    "catalog": ["categorize"],
    "customers": ["profile", "churn", "segments"],
    "demand": ["forecast", "price", "inventory"],
    "ads": ["fit", "ctr", "target"],
    "keys": ["create", "list", "revoke"],
    "datasets": ["list", "show"],
}
OLD_NAMES = ["fit", "evaluate", "recommend", "similar", "index", "suggest", "tune-search", "train-reranker",
             "categorize", "profile", "churn", "segments", "forecast", "price", "inventory", "ctr", "target"]


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    root = tmp_path_factory.mktemp("grammar_shop")
    files = write_user_shop(root / "files")
    ws = root / "myshop"
    run("init", ws)
    for table, path in files.items():
        extra = ["--map-values", EVENT_NAMES] if table == "events" else []
        run("ingest", ws, path, "--kind", table, "--map", MAPPINGS[table], *extra)
    run("rec", "fit", ws, "--model", "popularity")
    run("ads", "fit", ws, "--model", "lr")
    run("search", "index", ws, "--encoder", "static")
    return {"ws": ws, "root": root}


def listed_commands(help_text: str) -> list[str]:
    """The names under `Commands:` of a help page, in order."""
    block = help_text.split("Commands:", 1)[1]
    return [line.split()[0] for line in block.splitlines() if line.startswith("  ") and line.split()]


@pytest.mark.parametrize("group, verb", [(g, v) for g, verbs in NEW_COMMANDS.items() for v in verbs])
def test_every_new_command_has_help(group, verb):
    done = run(*filter(None, (group, verb)), "--help")
    assert f"Usage: shoplens {f'{group} ' if group else ''}{verb} " in done.stdout, done.stdout
    assert "note:" not in done.stderr


def test_top_level_help_lists_the_domains_in_order_and_no_alias():
    names = listed_commands(run("--help").stdout)
    expected = ["init", "ingest", "info", "demo", "serve", "rec", "search", "reviews", "catalog", "customers",
                "demand", "ads", "keys", "datasets", "bench"]
    assert [n for n in names if n in expected] == expected, names
    assert not set(names) & set(OLD_NAMES), names


def test_group_help_lists_its_verbs_and_hides_old_flags():
    for group, verbs in NEW_COMMANDS.items():
        if group:
            assert listed_commands(run(group, "--help").stdout) == verbs, group
    churn = run("customers", "churn", "--help").stdout
    assert "--horizon " in churn and "--horizon-days" not in churn and "-k, --top" in churn


def comparable(value, approx=True):
    """A result without what differs between any two runs of one spelling: search and evaluation timings, and
    (approx) the last digits of floats: two `categorize` runs differ by ~1e-6, threads summing in another order."""
    if isinstance(value, dict):
        return {k: comparable(v, approx) for k, v in value.items() if k != "timings_ms" and not k.endswith("seconds")}
    if isinstance(value, list):
        return [comparable(v, approx) for v in value]
    if isinstance(value, float) and approx:
        return pytest.approx(value, rel=1e-4, abs=1e-6)
    return value


# (old spelling, new spelling, the note's old and new words); {ws} is the shop's workspace
ALIASES = [
    (["recommend", "{ws}", "--user", "U0001", "-k", "5"], ["rec", "user", "{ws}", "--user", "U0001", "--top", "5"],
     "recommend WS", "rec user WS"),
    (["similar", "{ws}", "--item", "SKU0001", "-k", "3"], ["rec", "similar", "{ws}", "--item", "SKU0001", "-k", "3"],
     "similar WS", "rec similar WS"),
    (["evaluate", "{ws}", "recommend", "--models", "popularity,itemknn"],
     ["rec", "evaluate", "{ws}", "--models", "popularity,itemknn"], "evaluate WS recommend", "rec evaluate WS"),
    (["search", "{ws}", "lipstick", "-k", "3"], ["search", "query", "{ws}", "lipstick", "--top", "3"],
     "search WS QUERY", "search query WS QUERY"),
    (["search", "-k", "3", "{ws}", "口红"], ["search", "query", "{ws}", "口红", "-k", "3"],
     "search WS QUERY", "search query WS QUERY"),
    (["suggest", "{ws}", "口"], ["search", "suggest", "{ws}", "口"], "suggest WS PREFIX", "search suggest WS PREFIX"),
    (["index", "{ws}", "search", "--update"], ["search", "index", "{ws}", "--update"], "index WS search", "search index WS"),
    (["reviews", "{ws}", "analyze", "--top", "3"], ["reviews", "analyze", "{ws}", "--top", "3"],
     "reviews WS analyze", "reviews analyze WS"),
    (["reviews", "{ws}"], ["reviews", "analyze", "{ws}"], "reviews WS analyze", "reviews analyze WS"),
    (["profile", "{ws}", "--user", "U0001"], ["customers", "profile", "{ws}", "--user", "U0001"],
     "profile WS", "customers profile WS"),
    (["churn", "{ws}", "--budget", "5"], ["customers", "churn", "{ws}", "--budget", "5"], "churn WS", "customers churn WS"),
    (["segments", "{ws}", "--clusters", "2"], ["customers", "segments", "{ws}", "--clusters", "2"],
     "segments WS", "customers segments WS"),
    (["price", "{ws}", "--item", "SKU0001"], ["demand", "price", "{ws}", "--item", "SKU0001"], "price WS", "demand price WS"),
    (["ctr", "{ws}", "--user", "U0001", "--item", "SKU0002", "--model", "lr"],
     ["ads", "ctr", "{ws}", "--user", "U0001", "--item", "SKU0002", "--model", "lr"], "ctr WS", "ads ctr WS"),
    (["target", "{ws}", "--items", "SKU0001,SKU0002", "--budget", "5", "--model", "lr"],
     ["ads", "target", "{ws}", "--items", "SKU0001,SKU0002", "--impressions", "5", "--model", "lr"], "target WS", "ads target WS"),
    (["forecast", "{ws}", "--horizon", "7", "--model", "ets"], ["demand", "forecast", "{ws}", "--horizon", "7", "--model", "ets"],
     "forecast WS", "demand forecast WS"),
    (["categorize", "{ws}", "--all", "-k", "3"], ["catalog", "categorize", "{ws}", "--all", "--top", "3"],
     "categorize WS", "catalog categorize WS"),
]


@pytest.mark.parametrize("old, new, said_old, said_new", ALIASES, ids=[" ".join(a[0][:1] + a[0][2:3]) for a in ALIASES])
def test_an_old_spelling_notes_once_and_prints_the_same_json(shop, old, new, said_old, said_new):
    fill = lambda args: [str(shop["ws"]) if a == "{ws}" else a for a in args]  # noqa: E731
    was, now = run(*fill(old), "--json"), run(*fill(new), "--json")
    assert comparable(json.loads(was.stdout)) == comparable(json.loads(now.stdout), approx=False)
    spellings = [line for line in was.stderr.splitlines() if line.startswith("note: `shoplens ")]
    assert spellings == [f"note: `shoplens {said_old}` is now `shoplens {said_new}`"], was.stderr  # (an old flag has its own)
    assert "note: " not in now.stderr and "note: " not in was.stdout


def test_an_old_spelling_prints_the_same_table(shop):
    was = run("recommend", shop["ws"], "--user", "U0002", "-k", "4")
    assert was.stdout == run("rec", "user", shop["ws"], "--user", "U0002", "-k", "4").stdout and "U0002" in was.stdout


def test_old_fit_spellings_train_the_same_models(shop):
    for old, new, said in ((["fit", shop["ws"], "recommend", "--model", "itemknn"], ["rec", "fit", shop["ws"], "--model", "itemknn"], "`shoplens fit WS recommend` is now `shoplens rec fit WS`"),
                           (["fit", shop["ws"], "ctr", "--model", "lr"], ["ads", "fit", shop["ws"], "--model", "lr"], "`shoplens fit WS ctr` is now `shoplens ads fit WS`")):
        was, now = run(*old, "--json"), run(*new, "--json")
        different_runs = ("version", "folder")  # every fit saves a new version
        assert {k: v for k, v in json.loads(was.stdout.splitlines()[-1]).items() if k not in different_runs} == \
               {k: v for k, v in json.loads(now.stdout.splitlines()[-1]).items() if k not in different_runs}
        assert f"note: {said}" in was.stderr.splitlines()


def test_the_old_churn_horizon_flag(shop):
    was = run("customers", "churn", shop["ws"], "--horizon-days", "30", "--budget", "3", "--json")
    now = run("customers", "churn", shop["ws"], "--horizon", "30", "--budget", "3", "--json")
    assert json.loads(was.stdout) == json.loads(now.stdout)
    assert was.stderr.splitlines().count("note: `--horizon-days` is now `--horizon`") == 1


def test_an_old_spelling_with_bad_input_is_the_note_and_one_error(shop):
    done = run("fit", shop["ws"], "nothing", ok=False)
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert lines[0] == "note: `shoplens fit WS recommend` is now `shoplens rec fit WS`" and len(lines) == 2
    assert lines[1].startswith("error: unknown target 'nothing'")


@pytest.mark.parametrize("args, fragments", [
    (["rec", "nope", "{ws}"], ["No such command 'nope'", "shoplens rec --help"]),
    (["customers", "forecast", "{ws}"], ["No such command 'forecast'"]),
    (["search", "nope", "lipstick"], ["No such command 'nope'", "shoplens search --help"]),  # not a folder
    (["reviews", "summarise", "{ws}"], ["No such command 'summarise'"]),
    (["nope"], ["No such command 'nope'"]),
    (["rec", "user", "{ws}", "--user", "U0001", "--top", "many"], ["Invalid value for '--top'"]),
    (["search", "query", "{ws}", "x", "--top", "0"], ["--top must be at least 1"]),
    (["customers", "churn", "{ws}", "--horizon", "0"], ["--horizon must be positive"]),
])
def test_an_unknown_verb_or_bad_flag_is_one_error_line(shop, args, fragments):
    done = run(*[str(shop["ws"]) if a == "{ws}" else a for a in args], ok=False)
    assert_one_line_error(done, *fragments)
    assert "note:" not in done.stderr


def test_a_group_alone_shows_its_help():
    for group in ("rec", "search", "reviews"):
        done = run(group)
        assert f"Usage: shoplens {group} " in done.stdout and re.search(r"^Commands:", done.stdout, re.M)
