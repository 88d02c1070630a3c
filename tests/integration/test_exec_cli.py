"""`kob exec` against the lab, as a user runs it."""

from __future__ import annotations

import json

import pytest

from tests.conftest import TEST_LAB_NET as NET
from tests.helpers.lab_services import kob


@pytest.fixture(scope="module")
def inventory_with_a_dead_host(lab, tmp_path_factory):
    path = tmp_path_factory.mktemp("inv") / "inventory.yaml"
    text = lab.layout.inventory.read_text().replace("hosts:\n", f"hosts:\n  ghost: {{address: 198.18.{NET}.240}}\n")
    path.write_text(text.replace("ssh:\n", "ssh:\n  connect_timeout: 1\n"))
    return path


def test_prints_each_hosts_output_in_inventory_order_then_a_recap(lab_inventory):
    done = kob("exec", str(lab_inventory), "hostname; echo second line")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "vm1 | vm1", "vm1 | second line", "vm2 | vm2", "vm2 | second line", "vm3 | vm3", "vm3 | second line",
        "vm1 : ok", "vm2 : ok", "vm3 : ok"]


def test_a_failing_host_makes_the_exit_code_non_zero(lab_inventory):
    done = kob("exec", str(lab_inventory), 'echo oops >&2; [ "$(hostname)" != vm2 ]')
    assert done.returncode == 2
    assert done.stdout.splitlines()[-3:] == ["vm1 : ok", "vm2 : failed rc=1", "vm3 : ok"]
    assert done.stderr.splitlines() == ["vm1 ! oops", "vm2 ! oops", "vm3 ! oops"]


@pytest.mark.parametrize("pattern, hosts", [
    ("vm2", ["vm2"]), ("vm[13]", ["vm1", "vm3"]), ("all,!vm1", ["vm2", "vm3"]), ("lb", ["vm1"]),
])
def test_host_patterns_choose_the_hosts(lab_inventory, pattern, hosts):
    done = kob("exec", str(lab_inventory), "hostname", "--hosts", pattern, "--json")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(row["host"], row["status"], row["stdout"]) for row in rows] == [(h, "ok", f"{h}\n") for h in hosts]


def test_an_unreachable_host_is_reported_and_the_others_still_run(inventory_with_a_dead_host):
    done = kob("exec", str(inventory_with_a_dead_host), "hostname")
    assert done.returncode == 2
    recap = done.stdout.splitlines()[-4:]
    assert recap[0].startswith("ghost : unreachable: ghost: ")
    assert recap[1:] == ["vm1   : ok", "vm2   : ok", "vm3   : ok"]


@pytest.mark.parametrize("args, message", [
    (["nowhere.yaml", "true"], "kob: error: nowhere.yaml: "),
    (["{inv}", "true", "--hosts", "vm9"], "kob: error: --hosts 'vm9': no host or group named 'vm9'"),
])
def test_user_mistakes_are_one_line_without_traceback(lab_inventory, args, message):
    done = kob("exec", *[arg.format(inv=lab_inventory) for arg in args])
    assert done.returncode == 1
    assert done.stderr.startswith(message.format(inv=lab_inventory))
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr
