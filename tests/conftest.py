import os
from pathlib import Path

import pytest

from shoplens.config import data_root
from shoplens.workspace import Workspace


@pytest.fixture
def ws(tmp_path):
    workspace = Workspace.init(tmp_path / "ws")
    yield workspace
    workspace.close()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return data_root()


def dataset_dir(name: str) -> Path:
    """A public dataset folder, or a skip that says which folder is absent."""
    path = data_root() / name
    if not path.is_dir():
        pytest.skip(f"dataset folder {path} not present")
    return path


os.environ.setdefault("HF_HUB_OFFLINE", "1")
