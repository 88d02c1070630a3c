"""Each command imports only what it uses: observing commands load no page, no Jinja, no etcd client, no playbook
engine (checked in sys.modules of a fresh interpreter, not by time)."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("flask", "waitress", "jinja2", "aetcd", "grpc", "kob.web", "kob.playbook.run", "kob.jinja_sandbox",
         "cryptography.x509")  # asyncssh's X.509 support: OpenSSH has no use for it (kob.transport.asyncssh_lib)

PROBE = """
import sys
sys.argv = ["kob", *sys.argv[1:]]
from kob.cli.main import main
try:
    main()
except SystemExit:
    pass
print("HEAVY", ",".join(n for n in {heavy!r} if n in sys.modules))
"""


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["status", "{inv}"], ["exec", "{inv}", "true"],
                                  ["history", "{inv}", "web"]])
def test_an_observing_command_imports_nothing_heavy(tmp_path, args):
    (tmp_path / "kh").write_text("")
    inventory = tmp_path / "inv.yaml"
    inventory.write_text("ssh: {known_hosts: kh}\nhosts:\n  vm1: {address: 127.0.0.1, port: 9}\n"
                         "services:\n  web: {image: img}\n")
    done = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), *[a.format(inv=inventory) for a in args]],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    heavy = next(line for line in done.stdout.splitlines() if line.startswith("HEAVY"))
    assert heavy == "HEAVY ", f"{' '.join(args)} imported {heavy[6:]}; stderr: {done.stderr[-300:]}"


@pytest.mark.parametrize("args, unused", [
    (["exec", "{inv}", "true"], ("kob.store", "kob.deploy", "kob.metrics")),  # no store: it keeps no state
    (["--version"], ("kob.store", "kob.transport.ssh", "asyncssh", "kob.spec.inventory")),
])
def test_a_command_imports_no_part_it_does_not_use(tmp_path, args, unused):
    (tmp_path / "kh").write_text("")
    inventory = tmp_path / "inv.yaml"
    inventory.write_text("ssh: {known_hosts: kh}\nhosts:\n  vm1: {address: 127.0.0.1, port: 9}\n")
    done = subprocess.run([sys.executable, "-c", PROBE.format(heavy=unused), *[a.format(inv=inventory) for a in args]],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False)
    loaded = next(line for line in done.stdout.splitlines() if line.startswith("HEAVY"))
    assert loaded == "HEAVY ", f"{' '.join(args)} imported {loaded[6:]}; stderr: {done.stderr[-300:]}"
