"""Each command imports only what it uses: observing commands load no page, no Jinja, no etcd client, no playbook
engine (checked in sys.modules of a fresh interpreter, not by time)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

HEAVY = ("flask", "waitress", "prometheus_client", "jinja2", "aetcd", "grpc", "kob.web", "kob.playbook.run",
         "kob.jinja_sandbox", "cryptography.x509")  # asyncssh's X.509 support: OpenSSH has no use for it

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


async def through_holder(inventory: Path, pool, desk, heavy: tuple[str, ...], *args: str) -> tuple[str, str]:
    """(stdout, stderr) of `kob ARGS` in a fresh interpreter while a holder of ``pool`` (and ``desk``) serves the
    inventory; stdout ends with the HEAVY line of the ``heavy`` modules it imported."""
    from kob.spec.inventory import load_inventory
    from kob.transport.holder import ConnectionHolder
    from kob.transport.holder_socket import holder_socket_path

    folder = Path(tempfile.mkdtemp(prefix="kob-i-", dir="/tmp"))
    env = {**os.environ, "KOB_HOLDER_DIR": str(folder)}
    inv = load_inventory(inventory)
    holder = ConnectionHolder(pool, holder_socket_path(inv.path, inv.state_url, env), "inv", lambda line: None, desk)
    await holder.start()
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", PROBE.format(heavy=heavy), *args, cwd=inventory.parent, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = await asyncio.wait_for(process.communicate(), 120)
    finally:
        await holder.stop()
        shutil.rmtree(folder)
    return out.decode(), err.decode()


async def test_exec_through_a_connection_holder_imports_no_ssh_library(tmp_path):
    """The point of the holder is start-up time: its client must not load asyncssh (nor the rest of HEAVY)."""
    from tests.helpers.fake_transport import Reply, ScriptedTransport

    class Pool(ScriptedTransport):
        def drop_broken(self, target) -> None:
            pass

    (tmp_path / "kh").write_text("")
    inventory = tmp_path / "inv.yaml"
    inventory.write_text("ssh: {known_hosts: kh}\nhosts:\n  vm1: {address: 127.0.0.1, port: 9}\n")
    pool = Pool([("vm1", "true", Reply(stdout="answered by the holder\n"))], default=None)
    out, err = await through_holder(inventory, pool, None, (*HEAVY, "asyncssh"), "exec", str(inventory), "true")
    lines = out.splitlines()
    assert "vm1 | answered by the holder" in lines, err[-300:]
    assert pool.commands("vm1") == ["sh -c true"]
    heavy = next(line for line in lines if line.startswith("HEAVY"))
    assert heavy == "HEAVY ", f"kob exec through a holder imported {heavy[6:]}"


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


async def test_a_store_command_through_a_lending_holder_imports_no_etcd_client(tmp_path):
    """`kob connect` lends the inventory's store: a command through it opens none of its own. The inventory names
    an etcd nobody listens on, so the command answers only if the holder's store (here in memory) served it."""
    from kob.deploy.revisions import RevisionBook
    from kob.identity import namespace
    from kob.lend.desk import StoreDesk
    from kob.spec.inventory import load_inventory
    from kob.store.memory import MemoryStore

    (tmp_path / "kh").write_text("")
    inventory = tmp_path / "inv.yaml"
    inventory.write_text("ssh: {known_hosts: kh}\nstate: etcd://127.0.0.1:9\nhosts:\n  vm1: {address: 127.0.0.1, port: 9}\n"
                         "services:\n  web: {image: img}\n")
    inv = load_inventory(inventory)
    lent = MemoryStore()
    await RevisionBook(lent, namespace(inv)).record(inv.service("web"), "feed", "lent-store-probe")
    out, err = await through_holder(inventory, None, StoreDesk(lambda: lent), (*HEAVY, "kob.store.etcd"),
                                    "history", str(inventory), "web")
    heavy = next(line for line in out.splitlines() if line.startswith("HEAVY"))
    assert heavy == "HEAVY ", f"kob history through a lending holder imported {heavy[6:]}"
    assert "lent-store-probe" in out and not err, err[-300:]
