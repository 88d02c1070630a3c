"""Resource samples: what the sample command prints, parsed; rates from two samples (tables)."""

from __future__ import annotations

import pytest

from kob.commands.metrics import sample_argv
from kob.facts.containers import ObservationError
from kob.facts.samples import ContainerCounters, HostCounters, parse_samples
from kob.metrics.rates import host_usage
from kob.metrics.top import render_top, size

BLOCK = """#kob-sample
uptime {uptime}
cpu  {busy} 0 0 {idle} 0 0 0 0 0 0
ncpu 2
load 0.50 0.40 0.30
mem 1000 250
disk 2000 500
{containers}"""
WEB1 = "c aaa web 1 running 2 {cpu} 4096 67108864"
WEB2 = "c bbb web 2 running 0 5000 - 9223372036854771712"
ODD = "c ccc api - created 0 - - -"


def block(uptime=100.0, busy=100, idle=300, containers=()) -> str:
    return BLOCK.format(uptime=uptime, busy=busy, idle=idle, containers="\n".join(containers)) + "\n"


def one(text: str) -> HostCounters:
    (sample,) = parse_samples("vm1", text)
    return sample


@pytest.mark.parametrize("name, text, look, expected", [
    ("host counters in bytes", block(), lambda s: (s.uptime, s.cpu_busy, s.cpu_total, s.mem_total, s.mem_available,
                                                   s.disk_total, s.disk_used, s.load),
     (100.0, 100, 400, 1024000, 256000, 2048000, 512000, (0.5, 0.4, 0.3))),
    ("a container with a limit", block(containers=[WEB1.format(cpu=10**9)]), lambda s: s.containers,
     (ContainerCounters("aaa", "web", 1, "running", 2, 10**9, 4096, 67108864),)),
    ("v1's 'no limit' is no limit", block(containers=[WEB2]), lambda s: s.containers[0].memory_limit, None),
    ("unknown counters and a missing replica label", block(containers=[ODD]), lambda s: s.containers,
     (ContainerCounters("ccc", "api", None, "created", 0, None, None, None),)),
    ("no containers", block(), lambda s: s.containers, ()),
])
def test_parse_sample(name, text, look, expected):
    assert look(one(text)) == expected


def test_two_samples_come_oldest_first():
    first, second = parse_samples("vm1", block(uptime=1.0) + block(uptime=1.5))
    assert (first.uptime, second.uptime) == (1.0, 1.5)


@pytest.mark.parametrize("text, message", [
    ("", "vm1: the sample has no #kob-sample block: ''"),
    ("Error: docker not found\n", "vm1: the sample has no #kob-sample block: 'Error: docker not found\\n'"),
    (block().replace("ncpu 2\n", ""), "vm1: incomplete sample (KeyError('ncpu'))"),
    (block(containers=["c aaa web 1 running"]), "vm1: cannot read sample line 'c aaa web 1 running'"),
])
def test_unreadable_samples_name_the_host(text, message):
    with pytest.raises(ObservationError) as caught:
        parse_samples("vm1", text)
    assert str(caught.value).startswith(message)


def counters(uptime, busy, idle, *containers) -> HostCounters:
    return one(block(uptime=uptime, busy=busy, idle=idle, containers=containers))


@pytest.mark.parametrize("name, previous, current, host_cpu, container_cpu", [
    ("first sample: no rates", None, counters(10, 100, 300, WEB1.format(cpu=0)), None, [None]),
    ("half the host busy, one CPU in the container", counters(10, 100, 300, WEB1.format(cpu=0)),
     counters(12, 200, 400, WEB1.format(cpu=2 * 10**9)), 50.0, [100.0]),
    ("a container restarted: its counter went back", counters(10, 100, 300, WEB1.format(cpu=5 * 10**9)),
     counters(12, 200, 400, WEB1.format(cpu=10**9)), 50.0, [None]),
    ("a container new since the previous sample", counters(10, 100, 300),
     counters(12, 200, 400, WEB1.format(cpu=10**9)), 50.0, [None]),
    ("the host rebooted: uptime went back", counters(100, 100, 300, WEB1.format(cpu=0)),
     counters(5, 200, 400, WEB1.format(cpu=10**9)), None, [None]),
])
def test_rates(name, previous, current, host_cpu, container_cpu):
    usage = host_usage("vm1", 1000.0, previous, current)
    assert usage.cpu == host_cpu
    assert [c.cpu for c in usage.containers] == container_cpu
    assert usage.mem_used == 1024000 - 256000


def test_usage_survives_the_store_round_trip():
    usage = host_usage("vm1", 5.0, counters(10, 100, 300, WEB1.format(cpu=0)), counters(12, 200, 400,
                                                                                        WEB1.format(cpu=10**9)))
    assert type(usage).from_dict(usage.to_dict()) == usage
    assert HostCounters.from_dict(usage_counters := counters(1, 2, 3, WEB2).to_dict()) == counters(1, 2, 3, WEB2)
    assert usage_counters["containers"][0]["id"] == "bbb"


@pytest.mark.parametrize("gap, tail", [(0, ["sample"]), (0.5, ["sample", "sleep 0.5", "sample"]),
                                       (2, ["sample", "sleep 2", "sample"])])
def test_sample_command_samples_twice_only_with_a_gap(gap, tail):
    script = sample_argv("shop-0a1b2c3d", gap)[2]
    assert "--filter label=kob.inventory=shop-0a1b2c3d" in script
    assert script.splitlines()[-len(tail):] == tail
    assert script.splitlines()[-len(tail) - 2:-len(tail)] == ["}", ""], "the calls come after the functions"
    assert "docker stats" not in script and ".Size" not in script


@pytest.mark.parametrize("n, text", [(None, "-"), (512, "512B"), (4096, "4.0K"), (3 << 20, "3.0M"),
                                     (int(1.5 * (1 << 30)), "1.5G")])
def test_sizes(n, text):
    assert size(n) == text


def test_top_lists_hosts_then_containers():
    usage = host_usage("vm1", 5.0, counters(10, 100, 300, WEB1.format(cpu=0)),
                       counters(12, 200, 400, WEB1.format(cpu=10**9)))
    lines = render_top({"vm1": usage}, {"vm2": "vm2: connection refused"}).splitlines()
    assert lines[1].split()[:2] == ["vm1", "50.0"]
    assert lines[2].startswith("vm2") and "unreachable: vm2: connection refused" in lines[2]
    assert lines[5].split() == ["web", "1", "vm1", "50.0", "4.0K", "/", "64.0M", "2", "running"]


async def test_the_newest_kept_sample_is_read_by_its_last_record_and_is_the_last_recorded():
    from kob.metrics.history import MetricsBook
    from kob.store.memory import MemoryStore

    book = MetricsBook(MemoryStore(), "kob/shop", retention=3600)
    assert await book.latest("vm1") is None
    before = counters(10, 100, 300, WEB1.format(cpu=0))
    for when, (busy, idle) in ((1000.25, (200, 400)), (1060.5, (260, 440)), (1001.0, (300, 500))):
        now = counters(when, busy, idle, WEB1.format(cpu=10**9))
        usage = host_usage("vm1", when, before, now)
        await book.record(usage, now, await book.last("vm1"))
    assert await book.latest("vm1") == usage  # the last recorded, even when an earlier one has a later time
    assert await book.latest("vm2") is None
