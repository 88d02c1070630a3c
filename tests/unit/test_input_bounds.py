"""Counts from the command line are checked before anything is stored: kob scale, kob job submit --count."""

from __future__ import annotations

import pytest

from kob.deploy.scaling import checked_count
from kob.errors import KobError, SpecError
from kob.jobs.book import JobBook
from kob.jobs.submit import MAX_SUBMITTED, job_spec, submit_jobs
from kob.spec.inventory import load_inventory
from kob.store.memory import MemoryStore

INVENTORY = """\
hosts:
  vm1: {address: 198.18.0.11}
heal: {down_after: 30s}
services:
  web: {image: img, replicas: 2}
  api: {image: img, autoscale: {min: 1, max: 4, cpu: 50}, resources: {cpus: 1}}
"""


@pytest.fixture
def inventory(tmp_path):
    (tmp_path / "shop.yaml").write_text(INVENTORY)
    return load_inventory(tmp_path / "shop.yaml")


@pytest.mark.parametrize("name, count, refusal", [
    ("web", 1000000000, "web=1000000000: at most 1000 replicas of one service"),
    ("web", 1001, "at most 1000 replicas"),
    ("api", 9, "api autoscales between 1 and 4"),
    ("nope", 1, "no service named 'nope'"),
])
def test_scale_counts_are_checked(inventory, name, count, refusal):
    with pytest.raises(KobError, match=refusal):
        checked_count(inventory, name, count)


@pytest.mark.parametrize("name, count", [("web", 0), ("web", 1000), ("api", 4)])
def test_scale_counts_within_bounds_pass(inventory, name, count):
    assert checked_count(inventory, name, count) == count


@pytest.mark.parametrize("count", [0, MAX_SUBMITTED + 1, 100000])
async def test_submit_count_is_checked_before_anything_is_queued(inventory, count):
    store = MemoryStore()
    spec = job_spec(inventory, None, None, ("true",), {"image": "img", "constraints": ()})
    with pytest.raises(KobError, match=f"--count {count}: queue between 1 and {MAX_SUBMITTED}"):
        await submit_jobs(store, inventory, spec, count)
    assert await JobBook(store, "kob/shop").all() == []


@pytest.mark.parametrize("heal, message", [
    ("{down_after: 1e400}", "heal/down_after: should be a finite number, got 1e400"),
    ("{down_after: 9999h}", "heal/down_after: should be at most 30 days, got 9999h"),
])
def test_unbounded_durations_are_refused(tmp_path, heal, message):
    (tmp_path / "shop.yaml").write_text(INVENTORY.replace("{down_after: 30s}", heal))
    with pytest.raises(SpecError, match=f"shop.yaml:3: {message}$"):
        load_inventory(tmp_path / "shop.yaml")


# (id, env file bytes, the bad line's number or None)
ENV_FILES = [
    ("names and values", b"A=1\nB_2=two words\n\n# a comment\n  # indented comment\nexport_X=3\n", None),
    ("a name alone takes the manager's value", b"A=1\nPATH\n", None),
    ("a shadow file", b"root:$6$salt$hash:19000:0:99999:7:::\n", 1),
    ("second line", b"A=1\nnot an assignment\n", 2),
    ("space in the name", b"MY VAR=1\n", 1),
    ("digit first", b"1A=1\n", 1),
    ("export prefix is not docker's", b"export A=1\n", 1),
    ("binary", b"\xff\xfe\x00\x01", 1),
]


@pytest.mark.parametrize("data, line", [c[1:] for c in ENV_FILES], ids=[c[0] for c in ENV_FILES])
def test_env_file_shape(data, line):
    from kob.spec.env_file import bad_env_line

    assert bad_env_line(data) == line


def test_a_bad_env_file_is_named_by_line_without_its_content(tmp_path):
    from kob.deploy.desired import read_secrets
    from kob.spec.service_model import Service

    (tmp_path / "web.env").write_text("TOKEN=ok\nhunter2-secret-value\n")
    with pytest.raises(KobError) as refused:
        read_secrets(Service("web", "img", env_file=tmp_path / "web.env"))
    assert str(refused.value) == (f"web: env_file {tmp_path / 'web.env'} line 2 is not NAME=value (the line is not "
                                  "shown: it may hold a secret)")


@pytest.mark.parametrize("hosts, section, message", [
    ("{address: 198.18.0.11, cpus: 4}", "services:\n  web: {image: img, resources: {cpus: 500}}\n",
     "shop.yaml:4: services/web/resources/cpus: 500 CPUs is more than any host declares (most: 4)"),
    ("{address: 198.18.0.11, memory: 2g}", "services:\n  web: {image: img, resources: {memory: 8g}}\n",
     "shop.yaml:4: services/web/resources/memory: 8g is more memory than any host declares (most: 2048 MiB)"),
    ("{address: 198.18.0.11, cpus: 2}", "jobs:\n  report: {image: img, cpus: 3}\n",
     "shop.yaml:4: jobs/report/cpus: 3 CPUs is more than any host declares (most: 2)"),
])
def test_resources_beyond_every_declared_host_are_refused(tmp_path, hosts, section, message):
    (tmp_path / "shop.yaml").write_text(f"hosts:\n  vm1: {hosts}\n{section}")
    with pytest.raises(SpecError) as refused:
        load_inventory(tmp_path / "shop.yaml")
    assert str(refused.value) == f"{tmp_path}/{message}"


def test_undeclared_hosts_leave_the_check_to_placement(tmp_path):
    (tmp_path / "shop.yaml").write_text("hosts:\n  vm1: {address: 198.18.0.11, cpus: 2}\n"
                                        "  vm2: {address: 198.18.0.12}\n"
                                        "services:\n  web: {image: img, resources: {cpus: 16}}\n")
    assert load_inventory(tmp_path / "shop.yaml").service("web").resources.cpus == 16
