"""`kob completion bash|zsh|fish` prints click's script; the protocol it speaks (_KOB_COMPLETE in the
environment) completes command names, subcommands and options through the lazy group, without the
machinery of any command (checked in sys.modules of a fresh interpreter)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from kob.cli.main import cli

HEAVY = ("asyncssh", "aetcd", "grpc", "flask", "jinja2", "waitress", "yaml", "kob.deploy", "kob.playbook", "kob.web",
         "kob.transport", "kob.store", "kob.passes", "kob.jobs", "kob.lab", "kob.spec")

# the completion protocol as the scripts drive it: sys.exit after printing; then what was imported
PROBE = """
import sys
sys.argv = ["kob"]
from kob.cli.main import main
try:
    main()
except SystemExit:
    pass
print("MODULES", ",".join(sorted(sys.modules)))
"""


def complete(shell: str, words: str) -> tuple[list[str], set[str]]:
    """What `kob` answers to the completion request for the command line ``words``; the modules it loaded."""
    cword = str(len(words.split()) - (0 if words.endswith(" ") else 1))
    env = {**os.environ, "_KOB_COMPLETE": f"{shell}_complete", "COMP_WORDS": words, "COMP_CWORD": cword}
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    return lines[:-1], set(lines[-1].removeprefix("MODULES ").split(","))


def test_command_names_complete_from_the_table_without_any_machinery():
    answer, loaded = complete("bash", "kob st")
    assert answer == ["plain,state", "plain,status"]
    assert not {m for m in loaded if m.startswith(HEAVY)}


def test_every_command_name_completes_after_kob():
    answer, loaded = complete("bash", "kob ")
    assert {line.split(",")[1] for line in answer} >= {"completion", "deploy", "init", "job", "lab", "status", "top"}
    assert not {m for m in loaded if m.startswith(HEAVY)}


def test_options_of_a_command_complete_loading_only_that_command_module():
    answer, loaded = complete("zsh", "kob status inv.yaml --")
    options = answer[1::3]  # zsh: type, value, help
    assert {"--json", "--watch", "--interval", "--rounds", "--help"} <= set(options)
    assert {m for m in loaded if m.startswith("kob.cli.") and m.endswith("_commands")} == {"kob.cli.deploy_commands"}
    assert not {m for m in loaded if m.startswith(HEAVY)}


def test_subcommands_of_a_group_complete():
    answer, _ = complete("bash", "kob job s")
    assert answer == ["plain,show", "plain,submit"]
    answer, _ = complete("bash", "kob lab st")
    assert answer == ["plain,start", "plain,status", "plain,stop"]


def test_the_inventory_argument_completes_as_a_file():
    answer, _ = complete("bash", "kob deploy ")
    assert answer == ["file,"]


@pytest.mark.parametrize("shell, marker", [("bash", "complete -o nosort -F _kob_completion kob"),
                                           ("zsh", "#compdef kob"), ("fish", "complete --no-files --command kob")])
def test_kob_completion_prints_the_script_for_the_shell(shell, marker):
    done = CliRunner().invoke(cli, ["completion", shell])
    assert done.exit_code == 0 and marker in done.output and "_KOB_COMPLETE" in done.output


def test_an_unknown_shell_is_a_usage_error():
    done = CliRunner().invoke(cli, ["completion", "tcsh"])
    assert done.exit_code == 2 and "'tcsh' is not one of 'bash', 'zsh', 'fish'" in done.output


@pytest.mark.skipif(not shutil.which("bash"), reason="no bash")
def test_bash_sourcing_the_script_completes_through_kob(tmp_path):
    kob = tmp_path / "kob"  # `kob` on PATH, as an installed one: this interpreter running this tree
    kob.write_text(f"#!/bin/sh\nPYTHONPATH={os.pathsep.join(sys.path)} exec {sys.executable} -m kob \"$@\"\n")
    kob.chmod(0o755)
    script = CliRunner().invoke(cli, ["completion", "bash"]).output
    (tmp_path / "kob.bash").write_text(script)
    done = subprocess.run(["bash", "--norc", "-c", f"source {tmp_path / 'kob.bash'}; COMP_WORDS=(kob job l); "
                           "COMP_CWORD=2; _kob_completion kob; printf '%s\\n' \"${COMPREPLY[@]}\""],
                          capture_output=True, text=True, timeout=60, env={**os.environ, "PATH": f"{tmp_path}:"
                                                                                        f"{os.environ['PATH']}"})
    assert (done.returncode, done.stdout.split()) == (0, ["logs", "ls"]), done.stderr
