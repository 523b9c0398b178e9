"""The faithfulness checks of shoplens.generate on hand-written cases: pure functions, no model."""

import pytest

from shoplens.generate.checks import (Checks, FactChecker, check_attributes, check_brands, check_categories,
                                      check_latin, check_length, check_numbers, check_support, latin_tokens,
                                      quantities)


@pytest.mark.parametrize("output, source", [
    ("256GB", "存储容量: 256 GB"), ("256 gb", "256GB"), ("256 GB", "256gb"), ("1.5L 装", "容量 1.5 l"),
    ("500ml", "净含量: 500毫升"), ("55英寸", "屏幕 55寸"), ("55 inch", "尺寸: 55英寸"), ("1kg", "重量 1公斤"),
    ("１２８ＧＢ", "128gb"),  # full-width digits and letters
    ("1,000mAh", "电池 1000 mAh"), ("81%", "成分含量 81%(含)"), ("2021年秋季", "上市年份季节: 2021年秋季"),
    ("65W", "power 65 W"), ("容量 256", "256GB"),  # a bare number may come from a number with a unit
])
def test_numbers_with_units_match_in_any_spelling(output, source):
    assert check_numbers(output, source).passed


@pytest.mark.parametrize("output, source, unsupported", [
    ("256GB 16GB 内存", "存储: 256GB", ["16gb"]),
    ("Mate 10 Pro", "型号: Mate 9", ["10"]),
    ("2L", "容量 1.5L", ["2l"]),
    ("500克", "净含量 500ml", ["500克"]),  # same number, another unit
    ("33朵红玫瑰", "鲜花朵数: 99朵", ["33"]),
    ("1.5kg", "重量 15kg", ["1.5kg"]),
])
def test_invented_numbers_are_named(output, source, unsupported):
    check = check_numbers(output, source)
    assert not check.passed and check.problems == unsupported


def test_numbers_inside_model_codes_are_left_to_the_token_check():
    assert quantities("Mate10 X200s 5G") == [("5", "g", "5g")]
    assert [v for v, _, _ in quantities("18-24周岁 1.5L")] == ["18", "24", "1.5"]


@pytest.mark.parametrize("output, source", [
    ("Huawei Mate 9 黑色", "品牌: HUAWEI; 型号: Mate 9"),
    ("USB-C 充电器", "接口: usb c"), ("Mate10", "型号: Mate 10"), ("iPhone 15 Pro", "iPhone15Pro"),
    ("JP21D318 套装", "货号#:#JP21D318"), ("L'Oreal 面霜", "品牌: L'Oreal"),
])
def test_latin_tokens_in_the_source_pass(output, source):
    assert check_latin(output, source).passed, check_latin(output, source)


@pytest.mark.parametrize("output, source, unsupported", [
    ("华为 Mate 10 Pro", "品牌: 华为; 型号: Mate 10", ["Pro"]),
    ("Sony 耳机", "品牌: Sonya", ["Sony"]),  # not glued inside another word
    ("Anker charger", "brand: Anker", ["charger"]),  # mode "all": every Latin word counts
    ("X200 手机", "型号: X20", ["X200"]),
])
def test_invented_latin_tokens_are_named(output, source, unsupported):
    check = check_latin(output, source)
    assert not check.passed and check.problems == unsupported


def test_names_mode_checks_only_name_like_tokens_in_english_prose():
    reply = "Thank you for the review. We hope the Galaxy S21 and your USB cable work well, says Sony."
    assert latin_tokens(reply, "names") == ["Galaxy", "S21", "USB", "Sony"]
    assert check_latin(reply, "my Galaxy S21 and the USB cable", "names").problems == ["Sony"]
    with pytest.raises(ValueError, match="mode"):
        latin_tokens("x", "some")


def test_brands_own_present_and_no_other_catalogue_brand():
    catalogue = ["小米", "Anker", "Sony", "Sony Music"]
    assert check_brands("小米 65W 充电器", "品牌: 小米", "小米", catalogue).passed
    assert check_brands("65W 充电器", "品牌: 小米", "小米", catalogue).problems == ["missing brand 小米"]
    assert check_brands("65W 充电器", "品牌: 小米", "小米", catalogue, require_brand=False).passed
    assert check_brands("小米 Anker 充电器", "品牌: 小米", "小米", catalogue).problems == ["other brand Anker"]
    assert check_brands("小米 Anker 充电器", "小米, 兼容 Anker", "小米", catalogue).passed  # the source names it
    assert check_brands("Sony Music CD", "Sony Music", "Sony Music", catalogue).passed  # part of its own brand
    assert check_brands("SONY 耳机", "品牌: sony", "Sony", catalogue).passed  # case and width do not matter
    assert check_brands("兰芝隔离霜", "品牌: Laneige/兰芝", "Laneige/兰芝", catalogue).passed  # either spelling


def test_attribute_values_that_contradict_the_item_are_named():
    vocabulary = {"颜色": {"黑色", "白色", "红色"}, "材质": {"棉", "涤纶"}}
    own = {"颜色": "黑色", "材质": "棉"}
    assert check_attributes("黑色纯棉T恤", own, vocabulary).passed
    check = check_attributes("白色纯棉T恤 涤纶", own, vocabulary)
    assert check.problems == ["颜色: 白色 (the item's is 黑色)", "材质: 涤纶 (the item's is 棉)"]
    assert check_attributes("白色条纹", own, vocabulary, source="黑色 白色条纹").passed  # the source has it
    origin = check_attributes("韩国黑色T恤", own, {**vocabulary, "产地": {"韩国", "中国", "其他"}}, source="黑色 棉")
    assert origin.problems == ["产地: 韩国 (not the item's)"]  # a key the item lacks: unsupported
    assert check_attributes("其他款式", {}, {"产地": {"其他"}}).passed  # generic values are not facts


def test_a_placeholder_brand_is_no_brand():
    from shoplens.generate.tasks import attribute_pairs, record_brand

    assert record_brand({}, attribute_pairs({"attributes": "品牌#:#其他品牌#;#颜色#:#黑色"})) is None
    assert record_brand({}, attribute_pairs({"attributes": "品牌#:#other/其他"})) is None
    assert record_brand({}, attribute_pairs({"attributes": "品牌#:#Laneige/兰芝"})) == "Laneige/兰芝"


def test_categories_only_from_the_profile():
    assert check_categories("喜欢耳机和咖啡", "数码 > 耳机 60%", ["耳机", "咖啡", "口红"]).problems == ["category 咖啡"]


def test_support_scores_each_sentence():
    source = "This fast charger delivers 65W over USB-C. The plug folds away for travel."
    good = check_support("A fast USB-C charger. The plug folds away.", source)
    assert good.passed and good.score == 1.0
    bad = check_support("A fast charger. Waterproof and made in Germany with a lifetime warranty.", source)
    assert not bad.passed and len(bad.problems) == 1 and "Germany" in bad.problems[0]
    zh = check_support("保湿面霜。适合敏感肌，无香精添加剂。", "保湿面霜，质地清爽")
    assert zh.problems and zh.score < 0.6


def test_a_draft_parroting_a_few_shot_example_is_caught():
    from shoplens.generate.checks import check_not_copied

    example = "韩国东大门2021秋季新款净版修身气质高腰显瘦毛边小脚牛仔裤"
    source = "品牌: 简琳娜; 上市年份季节: 2021年冬季; 材质: 棉"
    assert not check_not_copied("韩国西大门2021秋季新款净版修身气质高腰牛仔裤", source, [example]).passed
    assert check_not_copied("简琳娜2021年冬季棉质套装", source, [example]).passed


def test_length_and_the_combined_checker():
    assert not check_length("一" * 31, 30).passed
    results = FactChecker(max_chars=30, require_brand=True)("小米 Redmi K50 256GB", "品牌: 小米; 型号: Redmi K40; 256GB",
                                                            brand="小米", catalogue_brands=["小米", "Anker"])
    checks = Checks(results)
    assert not checks.passed and checks.failed == ["latin"] and checks.problems() == ["latin: K50"]
    assert checks.status == "failed" and checks.to_dict()["passed"] is False  # never "ok" by default
    empty = Checks(FactChecker()("  ", "x"))
    assert empty.failed == ["not_empty"]


class Scripted:
    """A stand-in for a model in the policy tests only (the backends are tested on a real model and a real
    server in test_generate_llm.py): returns the given outputs in turn and records the requests."""
    name = "scripted"

    def __init__(self, *outputs):
        self.outputs, self.requests, self.usage = list(outputs), [], {}

    def generate(self, messages, **kw):
        self.requests.append(kw)
        return self.outputs.pop(0)


RECORD = {"attributes": "品牌#:#小米#;#型号#:#Redmi K40#;#存储容量#:#256GB#;#颜色#:#黑色"}


def test_a_faithful_first_draft_is_ok():
    from shoplens.generate.tasks import Drafter, TitleTask

    model = Scripted('{"title": "小米 Redmi K40 256GB 黑色"}')
    [(text, checks)] = TitleTask(Drafter(model))([RECORD])
    assert text == "小米 Redmi K40 256GB 黑色" and checks.status == "ok" and checks.passed and checks.attempts == 1
    assert "schema" in model.requests[0] and model.requests[0]["temperature"] == 0.0


def test_an_invented_model_number_is_regenerated_then_falls_back_to_the_template():
    from shoplens.generate.tasks import Drafter, TitleTask

    invented = '{"title": "小米 Redmi K50 Pro 512GB"}'
    [(text, checks)] = TitleTask(Drafter(Scripted(invented, '{"title": "小米 Redmi K40 256GB"}')))([RECORD])
    assert checks.status == "regenerated" and checks.attempts == 2 and text == "小米 Redmi K40 256GB"
    model = Scripted(invented, invented)
    [(text, checks)] = TitleTask(Drafter(model, retries=1))([RECORD])
    assert checks.status == "fallback" and checks.passed and text == "小米Redmi K40 256GB黑色"
    assert "latin: K50" in checks.rejected and checks.to_dict()["rejected_draft_problems"] == checks.rejected
    assert model.requests[1]["temperature"] > 0 and model.requests[1]["seed"] != model.requests[0]["seed"]


def test_a_title_without_the_brand_gets_it_in_front():
    from shoplens.generate.tasks import Drafter, TitleTask

    [(text, checks)] = TitleTask(Drafter(Scripted('{"title": "Redmi K40 256GB 黑色"}')))([RECORD])
    assert text == "小米Redmi K40 256GB 黑色" and checks.status == "ok"


def test_mark_keeps_the_failed_draft_and_reject_drops_it():
    from shoplens.generate.tasks import Drafter, TitleTask

    invented = '{"title": "小米 Redmi K50 Pro 512GB"}'
    [(text, checks)] = TitleTask(Drafter(Scripted(invented), on_fail="mark"))([RECORD])
    assert text == "小米 Redmi K50 Pro 512GB" and checks.status == "failed" and not checks.passed
    assert set(checks.problems()) == {"numbers: 512gb", "latin: K50", "latin: Pro"}
    [(text, checks)] = TitleTask(Drafter(Scripted(invented), on_fail="reject"))([RECORD])
    assert text == "" and checks.status == "rejected" and not checks.passed
    with pytest.raises(ValueError, match="on_fail"):
        Drafter(Scripted(), on_fail="ignore")


def test_output_that_is_not_the_schema_is_a_failed_format_check():
    from shoplens.generate.tasks import Drafter, TitleTask

    [(text, checks)] = TitleTask(Drafter(Scripted('{"title": "小米 Red'), on_fail="mark"))([RECORD])
    assert checks.failed == ["format"] and checks.status == "failed"


def test_other_catalogue_brands_and_contradicting_attributes_fail_a_title():
    from shoplens.generate.tasks import Drafter, TitleTask

    task = TitleTask(Drafter(Scripted('{"title": "小米 Anker 白色 Redmi K40"}'), on_fail="mark"),
                     catalogue_brands=("小米", "Anker"), vocabulary={"颜色": {"黑色", "白色"}})
    [(_, checks)] = task([RECORD])
    assert set(checks.failed) == {"brands", "attributes", "latin"}


def test_review_drafts_are_marked_and_replies_fall_back_to_a_template():
    from shoplens.generate.tasks import GENERATED_MARK, Drafter, ReplyTask, ReviewDraftTask

    [(text, checks)] = ReviewDraftTask(Drafter(Scripted('{"review": "音质清晰，续航两天。"}')))(
        [{"title": "Sony 耳机", "brand": "Sony", "rating": 4, "notes": "音质清晰，续航两天"}])
    assert text.endswith(GENERATED_MARK["zh"]) and checks.status == "ok"
    made_up = '{"reply": "Sorry! We will refund 50 dollars by Friday, says Anker."}'
    [(text, checks)] = ReplyTask(Drafter(Scripted(made_up, made_up)), catalogue_brands=("Sony", "Anker"))(
        [{"text": "Broke after a week", "rating": 1, "title": "Sony earbuds", "brand": "Sony"}])
    assert checks.status == "fallback" and text.startswith("We are sorry")


def test_a_narrative_names_only_the_profile():
    from shoplens.generate.tasks import Drafter, NarrativeTask

    profile = {"categories": [{"name": "数码 > 耳机", "share": 0.6}], "brands": [{"name": "Sony", "share": 0.5}],
               "price": {"band": "mid"}}
    task = NarrativeTask(Drafter(Scripted('{"narrative": "喜欢耳机和口红，常买 Sony 和兰蔻。"}'), on_fail="mark"),
                         catalogue_brands=("Sony", "兰蔻"), catalogue_categories=("耳机", "口红"))
    [(_, checks)] = task([profile])
    assert set(checks.problems()) == {"brands: other brand 兰蔻", "categories: category 口红"}


def test_a_time_limit_skips_the_records_left_and_never_passes_them():
    from shoplens.generate.jobs import run_batches
    from shoplens.generate.tasks import Drafter, TitleTask

    model = Scripted(*['{"title": "小米 Redmi K40"}'] * 8)
    results = run_batches(TitleTask(Drafter(model)), [RECORD] * 8, batch_size=2, max_seconds=0)
    assert [c.status for _, c in results] == ["ok", "ok"] + ["skipped"] * 6  # the first batch always runs
    assert all(text == "" and not c.passed and c.failed == ["time"] for text, c in results[2:])
