"""File parsers for three public benchmark sets: product matching pairs, e-commerce instruction tasks, and the
BigBasket catalogue with descriptions. `shoplens.datasets.public` registers them under their folder names.

Each parser takes paths and returns DataFrames, raising ValueError naming the file and line of anything it
cannot read. Conventions are those of `shoplens.datasets.formats`: ids are strings, no row is dropped, a
missing value is NA.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pandas as pd

from shoplens.datasets.formats import open_text, read_lines

# ------------------------------------------------------------------ Ditto / DeepMatcher matching pairs

_DITTO_FIELD = re.compile(r"COL (\S+) VAL ")


def _ditto_record(path: Path, line: int, text: str) -> dict[str, str | None]:
    """`COL title VAL a b COL price VAL 9.5` -> {"title": "a b", "price": "9.5"}; an empty value is None."""
    parts = _DITTO_FIELD.split(text)
    if len(parts) < 3 or parts[0].strip():
        raise ValueError(f"{path}: line {line}: expected a record 'COL <name> VAL <value> ...', got {text[:80]!r}")
    return {name: value.strip() or None for name, value in zip(parts[1::2], parts[2::2])}


def read_ditto_pairs(path: str | Path, split: str) -> pd.DataFrame:
    """One Ditto `record_a <TAB> record_b <TAB> label` file -> pairs(pair_id "<split>-<line - 1>", split,
    label (1 = the same product), left_<field> ..., right_<field> ...). Fields keep the file's order and
    names (title, manufacturer, price; Walmart-Amazon also category, brand, modelno); `price` is float64,
    the others strings. Every line must hold the same field names as the first."""
    path = Path(path)
    rows, names = [], None
    for number, line in enumerate(read_lines(path), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 3 or fields[2].strip() not in ("0", "1"):
            raise ValueError(f"{path}: line {number}: expected 'record_a<TAB>record_b<TAB>0|1', "
                             f"got {len(fields)} tab-separated field(s) ending {fields[-1][-20:]!r}")
        left, right = (_ditto_record(path, number, text) for text in fields[:2])
        names = names or list(left)
        if list(left) != names or list(right) != names:
            raise ValueError(f"{path}: line {number}: fields {list(left)} / {list(right)} differ from line 1's {names}")
        rows.append({"pair_id": f"{split}-{number - 1}", "split": split, "label": int(fields[2]),
                     **{f"left_{k}": v for k, v in left.items()}, **{f"right_{k}": v for k, v in right.items()}})
    pairs = pd.DataFrame(rows)
    for side in ("left", "right"):
        if f"{side}_price" in pairs:
            pairs[f"{side}_price"] = pd.to_numeric(pairs[f"{side}_price"]).astype("float64")
    return pairs


# ----------------------------------------------------------------------- EcomGPT held-out instruction tasks


def read_ecomgpt_task(test: str | Path, meta_info: str | Path) -> dict[str, pd.DataFrame]:
    """One EcomInstruct task folder's `test.json` (JSON lines) and `meta-info.json` ->

    examples(example_id = 0-based row, input = the row's `sentences` as held, labels (list of str), output
    (str), options (list of str, or None), prompt = the task's `test_prompt` filled in, plus labels_<key>
    for each further label language/level the row holds: labels_zh, labels_fine, labels_mix, ...).

    - classification rows (`labels`): labels = labels[meta label_key] (one or more), output = them joined
      by the meta label_sep (", "), options = meta label_set[label_key];
    - generation rows (`spans` without offsets, title_generate): labels = [spans[0].term], output = it,
      options None;
    - extraction rows (`spans` with types, MEPAVE): labels = the extracted terms, output NA, options = the
      row's label_set (attribute types); the answer is the table spans(example_id, start, end, type, term),
      character offsets into `input`.
    """
    test, meta_info = Path(test), Path(meta_info)
    try:
        meta = json.loads(open_text(meta_info).read())
    except json.JSONDecodeError as e:
        raise ValueError(f"{meta_info}: not valid JSON ({e})") from None
    label_key, sep = meta.get("label_key"), meta.get("label_sep", ", ")
    template = meta["test_prompt"]["instruction"]
    examples, spans = [], []
    for number, line in enumerate(read_lines(test), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{test}: line {number}: not valid JSON ({e})") from None
        example_id = str(len(examples))
        example = {"example_id": example_id, "input": row["sentences"]}
        if "labels" in row:
            if label_key not in row["labels"]:
                raise ValueError(f"{test}: line {number}: no {label_key!r} labels (meta-info label_key); "
                                 f"has {', '.join(row['labels'])}")
            options = meta["label_set"][label_key]
            labels = row["labels"][label_key]
            example |= {"labels": labels, "output": sep.join(labels), "options": options}
            example |= {f"labels_{k}": v for k, v in row["labels"].items() if k != label_key}
        elif all("type" in s for s in row["spans"]):
            options = row["label_set"]
            example |= {"labels": [s["term"] for s in row["spans"]], "output": None, "options": options}
            spans += [{"example_id": example_id, **{k: s[k] for k in ("start", "end", "type", "term")}}
                      for s in row["spans"]]
        else:
            options = None
            example |= {"labels": [row["spans"][0]["term"]], "output": row["spans"][0]["term"], "options": None}
        example["prompt"] = template.format(sentences=row["sentences"], label_set=sep.join(options or []))
        examples.append(example)
    tables = {"examples": pd.DataFrame(examples)}
    if spans:
        tables["spans"] = pd.DataFrame(spans).astype({"start": "int64", "end": "int64"})
    return tables


# ------------------------------------------------------------------ BigBasket catalogue with descriptions

BIGBASKET_COLUMNS = ["index", "product", "category", "sub_category", "brand", "sale_price", "market_price", "type",
                     "rating", "description", "image"]


def read_bigbasket_descriptions(path: str | Path) -> pd.DataFrame:
    """The BigBasket CSV with `description` and `image` -> the file's columns, numbers as float64, "" as NA.

    A record with extra fields is repaired when every extra field is empty and sits between description
    and image (the file has one: index 6, a stray `,,` after its quoted description); any other field-count
    mismatch is an error naming the line.
    """
    path = Path(path)
    with open_text(path) as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header != BIGBASKET_COLUMNS:
            raise ValueError(f"{path}: line 1: expected header {','.join(BIGBASKET_COLUMNS)}, got {header}")
        rows = []
        for row in reader:
            extra = len(row) - len(header)
            if extra > 0 and not any(row[len(header) - 1:-1]):
                row = row[: len(header) - 1] + row[-1:]
            elif extra:
                raise ValueError(f"{path}: the record ending on line {reader.line_num} has {len(row)} fields, "
                                 f"expected {len(header)}")
            rows.append(row)
    df = pd.DataFrame(rows, columns=header)
    df = df.where(df != "")
    for column in ("sale_price", "market_price", "rating"):
        values = pd.to_numeric(df[column], errors="coerce")
        bad = values.isna() & df[column].notna()
        if bad.any():
            first = bad.to_numpy().nonzero()[0][0]
            raise ValueError(f"{path}: {column} must be a number; record {first + 1} (index "
                             f"{df.loc[first, 'index']}) has {df.loc[first, column]!r}")
        df[column] = values.astype("float64")
    return df
