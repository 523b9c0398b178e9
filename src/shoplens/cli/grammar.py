"""One grammar for the command line, in the style of `gh`: `shoplens NOUN VERB WORKSPACE [ARGS] [--flags]`.

The domain modules register their commands on `app` under the old flat names (`recommend`, `churn`, ...). This
module registers the same functions again under a group per domain (`rec user`, `customers churn`, ...), then
hides the old names and makes each print one `note: ...` line on stderr; otherwise an old spelling behaves as
before, --json included. The aliases stay for one release (docs/cli.md has the table).

`search` and `reviews` were commands and are now groups: `search WS QUERY` and `reviews WS analyze` are told
from `search query ...` by their first word, a workspace folder instead of a verb (see `LegacyFormGroup`)."""

from __future__ import annotations

import functools
import inspect
from pathlib import Path

import typer
from typer.core import TyperGroup
from typer.main import get_command_from_info, get_command_name
from typer.models import CommandInfo

from shoplens.cli import app
from shoplens.cli.output import note
from shoplens.cli.recommend_commands import fit_ctr, fit_recommender

# The order of `shoplens --help`; groups added elsewhere (e.g. generate, models) go where None is.
GROUP_ORDER = ("rec", "search", "reviews", "catalog", "customers", "demand", "ads", None, "keys", "datasets", "bench")


class LegacyFormGroup(TyperGroup):
    """A group that was a command: when its first argument is no sub-command but an existing folder (the old
    form's workspace) or an option, the old command runs instead, under the new verb's name (so its usage errors
    point at `shoplens GROUP VERB --help`). Subclassed per group by `legacy_form_group`."""

    legacy: CommandInfo
    verb: str

    def parse_args(self, ctx, args):
        first = args[0] if args else None
        if first is not None and first not in self.commands and first not in self.get_help_option_names(ctx) \
                and (first.startswith("-") or Path(first).is_dir()):
            args = [_LEGACY_FORM, *args]
        return super().parse_args(ctx, args)

    def resolve_command(self, ctx, args):
        if args and args[0] == _LEGACY_FORM:
            return self.verb, get_command_from_info(self.legacy, pretty_exceptions_short=True,
                                                    rich_markup_mode=None), args[1:]
        return super().resolve_command(ctx, args)


_LEGACY_FORM = "\0legacy-form"  # a word no user can type: marks the arguments of an old form


def legacy_form_group(legacy: CommandInfo, verb: str) -> type[LegacyFormGroup]:
    return type(f"Legacy{verb.title()}Group", (LegacyFormGroup,), {"legacy": legacy, "verb": verb})


def fixed(function, **values):
    """`function` with some parameters given: the positional words that had one legal value (`index WS search`,
    `reviews WS analyze`) leave the new command line; the body is the same."""
    signature = inspect.signature(function, eval_str=True)

    @functools.wraps(function)
    def command(**kwargs):
        return function(**kwargs, **values)

    command.__signature__ = signature.replace(parameters=[p for n, p in signature.parameters.items() if n not in values])
    return command


def noted(function, renamed):
    """`function` that first says on stderr what its spelling is now; `renamed(kwargs)` -> (old, new)."""

    @functools.wraps(function)
    def command(**kwargs):
        old, new = renamed(kwargs)
        note(f"`shoplens {old}` is now `shoplens {new}`")
        return function(**kwargs)

    return command


def sub_app(help: str, cls: type[TyperGroup] | None = None) -> typer.Typer:
    return typer.Typer(help=help, cls=cls, no_args_is_help=True, rich_markup_mode=None)


old = {(info.name or get_command_name(info.callback.__name__)): info for info in app.registered_commands}

rec_app = sub_app("Recommendations: fit, evaluate, top items for a user, similar.")
rec_app.command("fit")(fit_recommender)
rec_app.command("evaluate")(fixed(old["evaluate"].callback, target="recommend"))
rec_app.command("user")(old["recommend"].callback)
rec_app.command("similar")(old["similar"].callback)

search_app = sub_app("Search: index, query, suggest, tune the encoder, re-rank.",
                     cls=legacy_form_group(old["search"], "query"))
search_app.command("index")(fixed(old["index"].callback, target="search"))
search_app.command("query")(old["search"].callback)
search_app.command("suggest")(old["suggest"].callback)
search_app.command("tune")(old["tune-search"].callback)
search_app.command("train-reranker")(old["train-reranker"].callback)

reviews_app = sub_app("Reviews: pros and cons, aspects, keywords and ratings.",
                      cls=legacy_form_group(old["reviews"], "analyze"))
reviews_app.command("analyze", help="Pros and cons (aspects with polarity, counts, examples), keywords, ratings.")(
    fixed(old["reviews"].callback, action="analyze"))

catalog_app = sub_app("Catalogue: predict item categories from titles.")
catalog_app.command("categorize")(old["categorize"].callback)

customers_app = sub_app("Customers: one user's profile, churn early warning, segments.")
for verb in ("profile", "churn", "segments"):
    customers_app.command(verb)(old[verb].callback)

demand_app = sub_app("Demand: forecasts, prices and discounts, reorder points.")
for verb in ("forecast", "price", "inventory"):
    demand_app.command(verb)(old[verb].callback)

ads_app = sub_app("Ads: train CTR models, score user-item pairs, target campaigns.")
ads_app.command("fit")(fit_ctr)
ads_app.command("ctr")(old["ctr"].callback)
ads_app.command("target")(old["target"].callback)

# old name -> what the old spelling is now, said in the note
RENAMED = {
    "fit": lambda kw: ("fit WS ctr", "ads fit WS") if kw["target"] == "ctr" else ("fit WS recommend", "rec fit WS"),
    "evaluate": lambda kw: ("evaluate WS recommend", "rec evaluate WS"),
    "recommend": lambda kw: ("recommend WS", "rec user WS"),
    "similar": lambda kw: ("similar WS", "rec similar WS"),
    "index": lambda kw: ("index WS search", "search index WS"),
    "search": lambda kw: ("search WS QUERY", "search query WS QUERY"),
    "suggest": lambda kw: ("suggest WS PREFIX", "search suggest WS PREFIX"),
    "tune-search": lambda kw: ("tune-search", "search tune"),
    "train-reranker": lambda kw: ("train-reranker", "search train-reranker"),
    "reviews": lambda kw: ("reviews WS analyze", "reviews analyze WS"),
    "categorize": lambda kw: ("categorize WS", "catalog categorize WS"),
    **{verb: (lambda kw, verb=verb: (f"{verb} WS", f"customers {verb} WS")) for verb in ("profile", "churn", "segments")},
    **{verb: (lambda kw, verb=verb: (f"{verb} WS", f"demand {verb} WS")) for verb in ("forecast", "price", "inventory")},
    **{verb: (lambda kw, verb=verb: (f"{verb} WS", f"ads {verb} WS")) for verb in ("ctr", "target")},
}
for name, renamed in RENAMED.items():
    old[name].hidden = True
    old[name].callback = noted(old[name].callback, renamed)

# `search` and `reviews` are groups now: their old commands run from the group (LegacyFormGroup)
app.registered_commands.remove(old["search"])
app.registered_commands.remove(old["reviews"])

for name, group in (("rec", rec_app), ("search", search_app), ("reviews", reviews_app), ("catalog", catalog_app),
                    ("customers", customers_app), ("demand", demand_app), ("ads", ads_app)):
    app.add_typer(group, name=name)
app.registered_groups.sort(key=lambda g: GROUP_ORDER.index(g.name if g.name in GROUP_ORDER else None))
