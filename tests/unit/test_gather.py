"""gather(): one fact from many hosts through a transport; each host's value or why it has none."""

from __future__ import annotations

import pytest

from kob.errors import CommandTimeout, HostUnreachable, ObservationError
from kob.facts.base import Fact
from kob.spec.inventory import load_inventory
from kob.transport.gather import gather
from tests.helpers.fake_transport import Reply, ScriptedTransport

INVENTORY = "hosts:\n  vm1: {address: 198.18.0.11}\n  vm2: {address: 198.18.0.12}\n  vm3: {address: 198.18.0.13}\n"


def count_words(host: str, stdout: str) -> int:
    if stdout.startswith("?"):
        raise ObservationError(f"{host}: cannot read {stdout!r}")
    return len(stdout.split())


WORDS = Fact("counting", ("echo", "a b"), count_words)


@pytest.fixture
def inventory(tmp_path):
    (tmp_path / "inventory.yaml").write_text(INVENTORY)
    return load_inventory(str(tmp_path / "inventory.yaml"))


# (id, how vm2 answers, vm2's value or None, vm2's reason or None)
VM2_ANSWERS = [
    ("value", Reply(stdout="a b c"), 3, None),
    ("exit code", Reply(rc=2, stderr="  sh: docker: not found\n"), None, "vm2: counting failed (exit 2): sh: docker: not found"),
    ("unreadable", Reply(stdout="?!"), None, "vm2: cannot read '?!'"),
    ("unreachable", HostUnreachable("vm2", "no answer from 198.18.0.12:22 within 5 s"), None,
     "vm2: no answer from 198.18.0.12:22 within 5 s"),
    ("timeout", CommandTimeout("vm2", "echo 'a b' did not finish within 1 s"), None,
     "vm2: echo 'a b' did not finish within 1 s"),
    ("long stderr is cut", Reply(rc=1, stderr="x" * 500), None, "vm2: counting failed (exit 1): " + "x" * 200),
]


@pytest.mark.parametrize("vm2, value, why", [row[1:] for row in VM2_ANSWERS], ids=[row[0] for row in VM2_ANSWERS])
async def test_each_host_has_a_value_or_a_reason(inventory, vm2, value, why):
    fake = ScriptedTransport([("vm2", "echo", vm2), ("*", "echo", Reply(stdout="a"))])
    found = await gather(fake, inventory, WORDS)
    assert found.hosts.get("vm2") == value and found.unreachable.get("vm2") == why
    assert {h: found.hosts[h] for h in ("vm1", "vm3")} == {"vm1": 1, "vm3": 1}
    assert fake.exec_count == {"vm1": 1, "vm2": 1, "vm3": 1}
    assert set(found.hosts) | set(found.unreachable) == {"vm1", "vm2", "vm3"}


async def test_a_fact_per_host_and_a_subset_of_hosts(inventory):
    fake = ScriptedTransport()
    chosen = [h for h in inventory.hosts if h.name != "vm2"]
    await gather(fake, inventory, lambda host: Fact("x", ("probe", host.name), count_words), chosen)
    assert sorted(fake.commands()) == ["probe vm1", "probe vm3"]


def test_two_facts_in_one_command_each_parsed_by_its_own_parser():
    from kob.facts.base import BOUNDARY, both

    first = Fact("counting", ("sh", "-c", "echo 3"), lambda host, out: int(out))
    second = Fact("naming", ("uname",), lambda host, out: f"{host}:{out.strip()}")
    pair = both(first, second)
    assert pair.argv == ("sh", "-c", f"sh -c 'echo 3' && echo '{BOUNDARY}' && uname")
    assert pair.parse("vm1", f"3\n{BOUNDARY}\nLinux\n") == (3, "vm1:Linux")
    with pytest.raises(ObservationError, match="^vm1: counting printed no end"):
        pair.parse("vm1", "3\n")
