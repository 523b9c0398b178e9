import json

import pytest
from typer.testing import CliRunner

from shoplens.cli import app
from shoplens.workspace import Workspace, WorkspaceError

runner = CliRunner()


def test_init_open_and_artifacts(tmp_path):
    ws = Workspace.init(tmp_path / "shop")
    assert ws.db_path.exists() and ws.artifacts.is_dir()
    assert ws.counts() == {t: 0 for t in ["items", "users", "events", "reviews", "sales", "ad_impressions"]}
    ws.close()
    with pytest.raises(WorkspaceError, match="already a ShopLens workspace"):
        Workspace.init(tmp_path / "shop")
    with Workspace.open(tmp_path / "shop") as again:
        assert again.artifact_dir("models", "rec").is_dir()
        with pytest.raises(WorkspaceError, match="leaves the workspace"):
            again.artifact_dir("..", "..", "etc")
    with pytest.raises(WorkspaceError, match="not a ShopLens workspace"):
        Workspace.open(tmp_path / "nothing")
    with pytest.raises(ValueError, match="unknown table kind"):
        Workspace.open(tmp_path / "shop").table("_ingest_log")


def test_cli_init_ingest_info(tmp_path):
    shop = tmp_path / "shop"
    assert runner.invoke(app, ["init", str(shop)]).exit_code == 0
    good = tmp_path / "events.csv"
    good.write_text("uid,sku,action,time\n42,a,view,2025-01-01\n42,b,cart,2025-01-02\n")
    result = runner.invoke(app, ["ingest", str(shop), str(good), "--kind", "events",
                                 "--map", "user=uid,item=sku,event=action,ts=time", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["inserted"] == 2
    info = runner.invoke(app, ["info", str(shop), "--json"])
    assert json.loads(info.output)["events"] == 2


def test_cli_bad_input_exits_non_zero_with_one_message(tmp_path):
    shop = tmp_path / "shop"
    runner.invoke(app, ["init", str(shop)])
    bad = tmp_path / "bad.csv"
    bad.write_text("user_id,item_id,event,ts\nu,i,view,someday\n")
    result = runner.invoke(app, ["ingest", str(shop), str(bad), "--kind", "events"])
    assert result.exit_code == 2
    flat = " ".join(result.output.split())
    assert "bad.csv: row 1 column 'ts': not a parseable timestamp" in flat
    assert runner.invoke(app, ["ingest", str(shop), str(bad), "--kind", "nope"]).exit_code == 2
    assert "not a ShopLens workspace" in " ".join(runner.invoke(app, ["info", str(tmp_path / "x")]).output.split())


def test_cli_datasets_show_own_file_and_list(tmp_path):
    path = tmp_path / "mine.txt"
    path.write_text("1 5 6 7\n2 5 9\n")
    result = runner.invoke(app, ["datasets", "show", str(path), "--format", "s3rec"])
    assert result.exit_code == 0, result.output
    assert "events │ 5 " in result.output  # user 1: items 5 6 7, user 2: items 5 9
    listed = runner.invoke(app, ["datasets", "list", "--data", str(tmp_path), "--json"])
    assert listed.exit_code == 0 and not any(row["present"] for row in json.loads(listed.output))
    assert runner.invoke(app, ["datasets", "show", "no-such-set"]).exit_code == 2
