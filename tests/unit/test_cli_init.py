"""`kob init [PATH]`: a commented starter inventory that loads as written, never over an existing file
without --force."""

from __future__ import annotations

from click.testing import CliRunner

from kob.cli.main import cli
from kob.spec.inventory import load_inventory


def test_init_writes_a_commented_inventory_that_loads_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(cli, ["init"])
    assert done.exit_code == 0, done.output
    assert done.output.startswith("wrote inventory.yaml: ")
    text = (tmp_path / "inventory.yaml").read_text()
    assert text.startswith("# A kob inventory") and text.count("#") > 20
    inventory = load_inventory(tmp_path / "inventory.yaml")
    assert [(h.name, h.address, h.roles) for h in inventory.hosts] == [
        ("vm1", "192.0.2.11", ("lb",)), ("vm2", "192.0.2.12", ()), ("vm3", "192.0.2.13", ())]
    assert [s.name for s in inventory.services] == ["web"]
    assert [f.default_service for f in inventory.lb.frontends] == ["web"]
    assert inventory.state_url == f"sqlite://{tmp_path}/inventory.kob.db"


def test_init_names_the_file_it_writes_in_its_comments(tmp_path):
    path = tmp_path / "prod.yaml"
    assert CliRunner().invoke(cli, ["init", str(path)]).exit_code == 0
    text = path.read_text()
    assert "kob deploy prod.yaml --check" in text and "prod.kob.db beside this file" in text
    assert load_inventory(path).hosts


def test_init_refuses_to_overwrite_without_force(tmp_path):
    path = tmp_path / "inventory.yaml"
    path.write_text("hosts: {mine: {address: 10.0.0.1}}\n")
    done = CliRunner().invoke(cli, ["init", str(path)])
    assert done.exit_code == 1
    assert done.output == f"kob: error: {path}: already exists; keep it, or write it again with --force\n"
    assert path.read_text() == "hosts: {mine: {address: 10.0.0.1}}\n"
    assert CliRunner().invoke(cli, ["init", str(path), "--force"]).exit_code == 0
    assert "192.0.2.11" in path.read_text()


def test_init_into_a_missing_folder_is_one_line(tmp_path):
    done = CliRunner().invoke(cli, ["init", str(tmp_path / "nope" / "inventory.yaml")])
    assert done.exit_code == 1
    assert done.output == f"kob: error: {tmp_path / 'nope' / 'inventory.yaml'}: no folder {tmp_path / 'nope'}; make it first\n"


def test_init_of_a_folder_asks_for_a_file_name(tmp_path):
    done = CliRunner().invoke(cli, ["init", str(tmp_path), "--force"])
    assert done.exit_code == 1
    assert done.output == f"kob: error: {tmp_path}: is a folder; name the file, e.g. {tmp_path / 'inventory.yaml'}\n"
