"""The `kob` command's shape: commands loaded on demand, -v parsed once, one line per error, and
kob/cli laid out as kob.cli.main's docstring says (no command module imports another)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from kob.cli.main import COMMANDS, cli, main
from kob.errors import SpecError

CLI = Path(__file__).resolve().parents[2] / "kob" / "cli"
SHARED = {"kob.cli.options", "kob.cli.runner", "kob.cli.recap", "kob.cli.colour"}
HEAVY = ("asyncssh", "aetcd", "grpc", "flask", "jinja2", "waitress", "kob.deploy", "kob.playbook", "kob.web",
         "kob.transport.ssh", "kob.passes", "kob.jobs", "kob.lab")

INVENTORY = """\
hosts:
  vm1: {address: 10.0.0.1}
services:
  web: {image: nginx:1}
jobs:
  hello: {image: busybox:1, command: [echo, hi], retries: 1}
"""


def imported_after(*args: str) -> set[str]:
    """The modules a fresh interpreter has imported after `kob ARGS` ran."""
    code = ("import sys\nsys.argv = ['kob', *sys.argv[1:]]\nfrom kob.cli.main import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\nprint('\\n'.join(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


def test_kob_version_imports_no_command_module():
    loaded = imported_after("--version")
    assert not {m for m in loaded if m.startswith("kob.cli.")} - {"kob.cli.main"}
    assert not {m for m in loaded if m.startswith(HEAVY) or m == "yaml"}


def test_kob_help_imports_the_command_modules_but_none_of_their_machinery():
    loaded = imported_after("--help")
    assert {f"kob.cli.{where.partition(':')[0]}" for where in COMMANDS.values()} <= loaded
    assert not {m for m in loaded if m.startswith(HEAVY)}


def every_command(group: click.Group = cli, path: tuple[str, ...] = ()):
    for name in group.list_commands(click.Context(group)):
        command = group.get_command(click.Context(group), name)
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from every_command(command, (*path, name))


@pytest.mark.parametrize("path", [path for path, _ in every_command()], ids=" ".join)
def test_every_command_has_help(path):
    done = CliRunner().invoke(cli, [*path, "--help"])
    assert done.exit_code == 0 and done.output.startswith(f"Usage: cli {' '.join(path)} "), done.output


def test_each_table_entry_is_the_command_of_that_name():
    for name in COMMANDS:
        assert cli.get_command(click.Context(cli), name).name == name
    assert cli.get_command(click.Context(cli), "nosuch") is None


def run_kob(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["kob", *args])
    try:
        main()
        code = 0
    except SystemExit as done:
        code = done.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def inventory(tmp_path, monkeypatch) -> str:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "inv.yaml").write_text(INVENTORY)
    return "inv.yaml"


def test_an_error_is_one_line_and_exit_code_1(monkeypatch, capsys, tmp_path):
    assert run_kob(monkeypatch, capsys, "deploy", str(tmp_path / "none.yaml")) == (
        1, "", f"kob: error: {tmp_path / 'none.yaml'}: no such file\n")


@pytest.mark.parametrize("flag", ["-v", "-vv", "--verbose"])
def test_with_v_the_error_is_raised_for_its_traceback(monkeypatch, capsys, tmp_path, flag):
    monkeypatch.setattr(sys, "argv", ["kob", flag, "deploy", str(tmp_path / "none.yaml")])
    with pytest.raises(SpecError, match="no such file"):
        main()


def test_a_v_after_the_subcommand_belongs_to_the_users_command(monkeypatch, capsys, inventory):
    code, out, err = run_kob(monkeypatch, capsys, "exec", inventory, "ls -v", "--hosts", "nope")
    assert (code, out) == (1, "") and err.startswith("kob: error: ") and len(err.splitlines()) == 1


def test_usage_errors_keep_clicks_message_and_exit_code_2(monkeypatch, capsys, inventory):
    code, _, err = run_kob(monkeypatch, capsys, "scale", inventory, "web")
    assert code == 2 and "Error: Invalid value: 'web': write SERVICE=COUNT, e.g. web=5" in err
    code, _, err = run_kob(monkeypatch, capsys, "nosuch")
    assert code == 2 and "No such command 'nosuch'" in err


def test_submit_then_list_jobs_through_the_store(monkeypatch, capsys, inventory):
    code, out, _ = run_kob(monkeypatch, capsys, "job", "submit", inventory, "-t", "hello", "--count", "2")
    assert (code, out) == (0, "jobs 1-2 queued; `kob job dispatch inv.yaml` (or kob serve, or cron) starts them\n")
    code, out, _ = run_kob(monkeypatch, capsys, "job", "submit", inventory, "--image", "img", "--", "ls", "-v")
    assert (code, out) == (0, "job 3 queued; `kob job dispatch inv.yaml` (or kob serve, or cron) starts it\n")
    code, out, _ = run_kob(monkeypatch, capsys, "job", "ls", inventory)
    assert code == 0 and [line.split()[:3] for line in out.splitlines()[1:]] == [
        ["1", "hello", "queued"], ["2", "hello", "queued"], ["3", "job", "queued"]]
    code, out, _ = run_kob(monkeypatch, capsys, "events", inventory, "--kind", "job")
    assert code == 0 and [line.split(None, 2)[2] for line in out.splitlines()] == [
        f"job            job {n} ({name}): submitted" for n, name in ((1, "hello"), (2, "hello"), (3, "job"))]


# -- the layout ------------------------------------------------------------------------------------------

def cli_modules() -> dict[str, ast.Module]:
    return {f"kob.cli.{path.stem}": ast.parse(path.read_text()) for path in sorted(CLI.glob("*.py"))
            if path.stem != "__init__"}


def test_command_modules_are_named_alike_and_the_table_names_only_them():
    assert {name for name in cli_modules() if not name.endswith("_commands")} == {"kob.cli.main", *SHARED}
    assert {f"kob.cli.{where.partition(':')[0]}" for where in COMMANDS.values()} == {
        name for name in cli_modules() if name.endswith("_commands")}


def test_no_cli_module_imports_another_but_the_shared_ones():
    for name, tree in cli_modules().items():
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        others = {m for m in imported if m.startswith("kob.cli")} - SHARED
        assert not others, f"{name} imports {others}"


def test_the_inventory_argument_is_defined_once():
    defined = [name for name, tree in cli_modules().items() for node in ast.walk(tree)
               if isinstance(node, ast.Call) and ast.unparse(node.func) == "click.argument"
               and node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value == "inventory"]
    assert defined == ["kob.cli.options"]


def test_only_the_runner_opens_the_store_or_the_transport_or_an_event_loop():
    for name, tree in cli_modules().items():
        calls = {ast.unparse(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
        if name != "kob.cli.runner":
            assert not calls & {"open_store", "SshPool", "asyncio.run"}, name
