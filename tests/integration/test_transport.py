"""The SSH transport against the lab's real OpenSSH servers."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess

import pytest

from kob.errors import (
    AuthFailed,
    CommandFailed,
    CommandTimeout,
    HostKeyRejected,
    HostUnreachable,
)
from kob.transport.ssh import SshPool, SshTarget
from tests.conftest import TEST_LAB_NET as NET


@pytest.fixture
def target(lab) -> SshTarget:
    return vm_target(lab, "vm1")


def vm_target(lab, name: str) -> SshTarget:
    layout = lab.layout
    return SshTarget(name=name, address=lab.state["vms"][name]["address"], port=22, user="root",
                     key=layout.client_key, known_hosts=layout.known_hosts, connect_timeout=3, command_timeout=30)


async def test_runs_argv_and_returns_a_typed_result(target):
    async with SshPool() as pool:
        result = await pool.run(target, ["hostname"])
    assert (result.host, result.argv, result.rc, result.stdout, result.stderr) == ("vm1", ("hostname",), 0, "vm1\n", "")
    assert result.duration > 0


@pytest.mark.parametrize("word", [
    "two words", "it's", '"double"', "$(touch /tmp/kob-injected)", "; touch /tmp/kob-injected", "`id`",
    "back\\slash", "*", "", "new\nline", "$HOME", "ünïcode",
])
async def test_every_word_reaches_the_command_unchanged(target, word):
    async with SshPool() as pool:
        result = await pool.run(target, ["printf", "%s", word])
        probe = await pool.run(target, ["test", "-e", "/tmp/kob-injected"])
    assert result.stdout == word
    assert probe.rc == 1, "a word was interpreted by the remote shell"


async def test_non_zero_exit_is_a_result_and_check_names_the_host(target):
    async with SshPool() as pool:
        result = await pool.run(target, ["sh", "-c", "echo out; echo boom >&2; exit 3"])
    assert (result.rc, result.stdout, result.stderr, result.ok) == (3, "out\n", "boom\n", False)
    with pytest.raises(CommandFailed, match=r"^vm1: sh -c 'echo out; echo boom >&2; exit 3' exited 3: boom$"):
        result.check()


async def test_stdin_reaches_the_command(target):
    async with SshPool() as pool:
        result = await pool.run(target, ["wc", "-c"], input=b"x" * 100_000)
    assert result.stdout.strip() == "100000"


async def test_a_slow_command_times_out_with_the_host_named(target):
    async with SshPool() as pool:
        with pytest.raises(CommandTimeout, match=r"^vm1: sleep 5 did not finish within 0.5 s$"):
            await pool.run(target, ["sleep", "5"], timeout=0.5)
        assert (await pool.run(target, ["true"])).rc == 0, "the connection survives a timeout"


async def test_a_killed_command_reports_128_plus_signal(target):
    async with SshPool() as pool:
        result = await pool.run(target, ["sh", "-c", "kill -9 $$"])
    assert result.rc == 137


async def test_one_connection_per_host_and_at_most_8_channels(lab, target):
    """20 commands at once: one TCP connection, never more than 8 running together.

    Each runs 2 s, so that channels a loaded machine opens a little apart still overlap."""
    script = "date +%s.%N; sleep 2; date +%s.%N; ss -Htn state established '( sport = :22 )' | wc -l"
    async with SshPool() as pool:
        results = await asyncio.gather(*(pool.run(target, ["sh", "-c", script]) for _ in range(20)))
    assert all(result.rc == 0 for result in results)
    spans = [tuple(map(float, result.stdout.split()[:2])) for result in results]
    most = max(sum(1 for s, e in spans if s <= start < e) for start, _ in spans)
    assert 6 <= most <= 8, most
    assert {result.stdout.split()[2] for result in results} == {"1"}
    assert pool.exec_count["vm1"] == 20


async def test_hosts_run_in_parallel_over_one_pool(lab):
    targets = [vm_target(lab, name) for name in ("vm1", "vm2", "vm3")]
    async with SshPool() as pool:
        results = await asyncio.gather(*(pool.run(t, ["hostname"]) for t in targets))
    assert [r.stdout.strip() for r in results] == ["vm1", "vm2", "vm3"]


async def test_refused_port_is_unreachable(target):
    async with SshPool() as pool:
        with pytest.raises(HostUnreachable, match=rf"^vm1: cannot connect to 198.18.{NET}.11:2222: "):
            await pool.run(dataclasses.replace(target, port=2222), ["true"])


async def test_silent_address_is_unreachable_after_the_connect_timeout(target):
    silent = dataclasses.replace(target, name="ghost", address=f"198.18.{NET}.250", connect_timeout=1)
    async with SshPool() as pool:
        with pytest.raises(HostUnreachable, match=r"^ghost: "):
            await pool.run(silent, ["true"])


async def test_a_key_the_host_does_not_know_fails_auth(target, tmp_path):
    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    async with SshPool() as pool:
        with pytest.raises(AuthFailed, match=rf"^vm1: 198.18.{NET}.11:22 refused root@ with key {stranger}$"):
            await pool.run(dataclasses.replace(target, key=stranger), ["true"])


@pytest.mark.parametrize("case", ["unknown", "changed"])
async def test_unknown_or_changed_host_key_is_refused(lab, target, tmp_path, case):
    known = tmp_path / "known_hosts"
    lines = lab.layout.known_hosts.read_text().splitlines()
    if case == "unknown":
        known.write_text(lines[1] + "\n")  # only vm2's entry
    else:
        known.write_text(f"198.18.{NET}.11 " + " ".join(lines[1].split()[1:]) + "\n")  # vm2's key under vm1's address
    async with SshPool() as pool:
        with pytest.raises(HostKeyRejected, match=rf"^vm1: host key of 198.18.{NET}.11:22 is not trusted"):
            await pool.run(dataclasses.replace(target, known_hosts=known), ["true"])


async def test_an_unreachable_host_is_tried_once_per_run(target):
    bad = dataclasses.replace(target, port=2222)
    async with SshPool() as pool:
        errors = await asyncio.gather(*(pool.run(bad, ["true"]) for _ in range(5)), return_exceptions=True)
    assert all(isinstance(e, HostUnreachable) for e in errors)
    assert len({id(e) for e in errors}) == 1


@pytest.mark.parametrize("printed, lines", [
    ("a\n\nb\n", ["a", "", "b"]),  # an empty line is a line
    ("a\nb", ["a", "b"]),  # the last one without its newline
    ("", []),  # nothing: no line, not one empty line
])
async def test_lines_are_the_lines_printed_and_nothing_more(target, printed, lines):
    async with SshPool() as pool:
        assert [line async for line in pool.lines(target, ["printf", "%s", printed])] == lines
