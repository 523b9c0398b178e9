"""Schemathesis fuzzes every operation of the OpenAPI schema (valid and invalid inputs): never a 5xx."""

import shutil
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from servers import build_shop
from shoplens.serve import create_app
from shoplens.workspace import Workspace

# The schema is read at import (parametrisation needs it); the workspace is filled by the fixture below.
WORKSPACE = Path(tempfile.mkdtemp(prefix="shoplens-fuzz-")) / "ws"
Workspace.init(WORKSPACE).close()
# Each fit started through /admin/fit trains a model in the background: fuzzing it would only load the machine.
# Each valid /inventory trains three forecasts (30-90 s here); test_serve_parity.py tries its invalid inputs.
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(WORKSPACE, max_body_bytes=100_000)).exclude(
    path=["/admin/fit", "/inventory"])
HEAVY = ["/forecast", "/churn"]  # each new parameter combination trains models: fewer examples, more time
KEY = {}


@pytest.fixture(scope="module", autouse=True)
def shop():
    KEY["X-API-Key"] = build_shop(WORKSPACE, n_users=120, n_items=40)
    yield
    shutil.rmtree(WORKSPACE.parent, ignore_errors=True)


@schema.exclude(path=HEAVY).parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_input_makes_a_server_error(case):
    case.call_and_validate(headers=KEY, checks=[not_a_server_error])


@schema.include(path=HEAVY).parametrize()
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_input_to_the_model_fitting_reads_makes_a_server_error(case):
    case.call_and_validate(headers=KEY, checks=[not_a_server_error], timeout=300)
