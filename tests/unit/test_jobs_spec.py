"""The jobs: section: the templates it produces, their defaults, and each mistake with its exact message."""

import textwrap

import pytest

from kob.errors import PatternError
from kob.spec.inventory import load_inventory
from kob.spec.jobs import JobTemplate
from kob.spec.service_model import Constraint
from tests.helpers.inventory_loading import assert_loads, assert_refused

MIB = 1024**2

# Lines 1-3; jobs: is line 4, the job's name line 5, its first key line 6.
HOSTS = """\
hosts:
  vm1: {address: 198.18.0.11, roles: [lb], labels: {zone: a}}
  vm2: {address: 198.18.0.12, roles: [worker], labels: {zone: b}}
"""

FULL = HOSTS + """\
jobs:
  report:
    image: kob-demo/web:1
    command: [sh, -c, "echo hi"]
    cpus: 1
    memory: 256M
    retries: 2
    timeout: 10m
    backoff: 5s
    priority: 10
    constraints: [zone==a]
  backup:
    image: registry.example:5000/team/backup@sha256:0123abcd
    command: pg_dump --file '/backups/db dump.sql'
    cpus: 0.5
    timeout: 1h30m
    backoff: 1500ms
    priority: -5
    constraints: ["zone != a", "role==worker"]
  tidy: {image: busybox}
services:
  report: {image: nginx}
"""

ALLOWED = "(allowed: image, command, cpus, memory, retries, timeout, backoff, priority, constraints, env, env_file)"
NOT_A_NAME = ("is not a valid job name; use lowercase letters, digits and '-', starting with a letter or digit, "
              "at most 40 characters (it is used in container labels and HAProxy names)")
ONE_LINE = ("a job's env value must fit on one line (it reaches docker as a line of an env file); put a multi-line "
            "value in a file the job reads")


def job(body: str) -> str:
    """An inventory whose job 'report' has these settings (the first one on line 6)."""
    return HOSTS + "jobs:\n  report:\n" + textwrap.indent(textwrap.dedent(body), "    ")


# (id, inventory text, what to look at, expected)
VALID = [
    ("no jobs section", HOSTS, lambda inv: inv.jobs, ()),
    ("empty jobs section", HOSTS + "jobs:\n", lambda inv: inv.jobs, ()),
    ("defaults", HOSTS + "jobs:\n  tidy: {image: busybox}\n", lambda inv: inv.jobs,
     (JobTemplate(name="tidy", image="busybox"),)),
    ("default values", HOSTS + "jobs:\n  tidy: {image: busybox}\n",
     lambda inv: (lambda j: (j.command, j.cpus, j.memory, j.retries, j.timeout, j.backoff, j.priority,
                             j.constraints))(inv.job("tidy")),
     ((), None, None, 0, None, 5.0, 0, ())),
    ("every key", FULL, lambda inv: inv.job("report"),
     JobTemplate(name="report", image="kob-demo/web:1", command=("sh", "-c", "echo hi"), cpus=1.0, memory=256 * MIB,
                 retries=2, timeout=600.0, backoff=5.0, priority=10, constraints=(Constraint("zone", True, "a"),))),
    ("templates in file order", FULL, lambda inv: [j.name for j in inv.jobs], ["report", "backup", "tidy"]),
    ("template line", FULL, lambda inv: [j.line for j in inv.jobs], [5, 15, 23]),
    ("command as a string is split like a shell", FULL, lambda inv: inv.job("backup").command,
     ("pg_dump", "--file", "/backups/db dump.sql")),
    ("command as a list keeps its words", job("image: x\ncommand: [echo, 'a b', '']\n"),
     lambda inv: inv.job("report").command, ("echo", "a b", "")),
    ("durations with units", FULL, lambda inv: (inv.job("backup").timeout, inv.job("backup").backoff), (5400.0, 1.5)),
    ("durations as numbers", job("image: x\ntimeout: 90\nbackoff: 0\n"),
     lambda inv: (inv.job("report").timeout, inv.job("report").backoff), (90.0, 0.0)),
    ("fractional cpus", FULL, lambda inv: inv.job("backup").cpus, 0.5),
    ("memory in g", job("image: x\nmemory: 1g\n"), lambda inv: inv.job("report").memory, 1024 * MIB),
    ("retries zero", job("image: x\nretries: 0\n"), lambda inv: inv.job("report").retries, 0),
    ("negative priority", FULL, lambda inv: inv.job("backup").priority, -5),
    ("constraints on labels and roles", FULL, lambda inv: inv.job("backup").constraints,
     (Constraint("zone", False, "a"), Constraint("role", True, "worker"))),
    ("a job may share a service's name", FULL, lambda inv: (inv.job("report").image, inv.service("report").image),
     ("kob-demo/web:1", "nginx")),
    ("env as written", job("image: x\nenv: {DAY: monday, EMPTY: '', SPACED: ' a b '}\n"),
     lambda inv: dict(inv.job("report").env), {"DAY": "monday", "EMPTY": "", "SPACED": " a b "}),
    ("no env", job("image: x\n"), lambda inv: (dict(inv.job("report").env), inv.job("report").env_file), ({}, None)),
    ("merge keys share settings", HOSTS + textwrap.dedent("""\
        jobs:
          base: &base {image: busybox, retries: 3, priority: 1}
          nightly:
            <<: *base
            priority: 7
        """), lambda inv: (inv.job("nightly").image, inv.job("nightly").retries, inv.job("nightly").priority),
     ("busybox", 3, 7)),
]

MALFORMED = [
    # -- the section and job names ---------------------------------------------
    ("jobs as a list", HOSTS + "jobs: [report]\n",
     "inventory.yaml:4: jobs: should be a mapping of job names to their settings, got a list"),
    ("job as a string", HOSTS + "jobs:\n  report: busybox\n",
     "inventory.yaml:5: jobs/report: should be a mapping, got 'busybox'"),
    ("uppercase job name", HOSTS + "jobs:\n  Report: {image: x}\n",
     f"inventory.yaml:5: jobs/Report: 'Report' {NOT_A_NAME}"),
    ("job name with an underscore", HOSTS + "jobs:\n  my_job: {image: x}\n",
     f"inventory.yaml:5: jobs/my_job: 'my_job' {NOT_A_NAME}"),
    ("job name too long", HOSTS + "jobs:\n  " + "j" * 41 + ": {image: x}\n",
     f"inventory.yaml:5: jobs/{'j' * 41}: {'j' * 41!r} {NOT_A_NAME}"),
    ("job named all", HOSTS + "jobs:\n  all: {image: x}\n",
     "inventory.yaml:5: jobs/all: 'all' is reserved; pick another job name"),
    ("job defined twice", HOSTS + "jobs:\n  report: {image: x}\n  report: {image: y}\n",
     "inventory.yaml:6: jobs/report: defined twice (first at line 5); remove or rename one"),
    # -- keys --------------------------------------------------------------------
    ("missing image", job("command: [true]\n"), "inventory.yaml:5: jobs/report: missing required key 'image'"),
    ("job without settings", HOSTS + "jobs:\n  report:\n",
     "inventory.yaml:5: jobs/report: missing required key 'image'"),
    ("bad image", job("image: 'kob demo'\n"),
     "inventory.yaml:6: jobs/report/image: 'kob demo' is not a valid image reference; use letters, digits and "
     ". _ / : @ -, like nginx:1.27 or registry.example:5000/team/web:2"),
    ("unknown key with suggestion", job("image: x\nretry: 2\n"),
     f"inventory.yaml:7: jobs/report/retry: unknown key; did you mean 'retries'? {ALLOWED}"),
    ("unknown key without suggestion", job("image: x\nreplicas: 2\n"),
     f"inventory.yaml:7: jobs/report/replicas: unknown key {ALLOWED}"),
    # -- env, env_file ---------------------------------------------------------------
    ("env value over two lines", job('image: x\nenv:\n  NOTE: "a\\nb"\n'),
     f"inventory.yaml:8: jobs/report/env/NOTE: {ONE_LINE}"),
    ("env value with a carriage return", job('image: x\nenv: {NOTE: "a\\rb"}\n'),
     f"inventory.yaml:7: jobs/report/env/NOTE: {ONE_LINE}"),
    ("env name starting with a digit", job("image: x\nenv: {1X: y}\n"),
     "inventory.yaml:7: jobs/report/env/1X: '1X' is not a valid environment variable name; use letters, digits "
     "and '_', not starting with a digit"),
    ("env as a list", job("image: x\nenv: [A=1]\n"),
     "inventory.yaml:7: jobs/report/env: should be a mapping of variable names to values, got a list"),
    ("env_file that is absolute and missing", job("image: x\nenv_file: /nonexistent/kob/job.env\n"),
     "inventory.yaml:7: jobs/report/env_file: env file /nonexistent/kob/job.env not found"),
    ("env_file as a list", job("image: x\nenv_file: [a.env]\n"),
     "inventory.yaml:7: jobs/report/env_file: should be a string, got a list"),
    # -- command -------------------------------------------------------------------
    ("empty command list", job("image: x\ncommand: []\n"),
     "inventory.yaml:7: jobs/report/command: should not be empty; leave command: out to run the image's own command"),
    ("command with an open quote", job("image: x\ncommand: echo 'hi\n"),
     "inventory.yaml:7: jobs/report/command: cannot split \"echo 'hi\" into words (no closing quotation); "
     "fix the quoting or write a list"),
    ("command as a mapping", job("image: x\ncommand: {run: x}\n"),
     "inventory.yaml:7: jobs/report/command: should be a list of strings or one command line, got a mapping"),
    # -- numbers -------------------------------------------------------------------
    ("negative retries", job("image: x\nretries: -1\n"),
     "inventory.yaml:7: jobs/report/retries: should be at least 0, got -1"),
    ("retries a word", job("image: x\nretries: twice\n"),
     "inventory.yaml:7: jobs/report/retries: should be an integer, got 'twice'"),
    ("retries a fraction", job("image: x\nretries: 1.5\n"),
     "inventory.yaml:7: jobs/report/retries: should be an integer, got '1.5'"),
    ("negative cpus", job("image: x\ncpus: -1\n"), "inventory.yaml:7: jobs/report/cpus: should be more than 0, got -1"),
    ("zero cpus", job("image: x\ncpus: 0\n"), "inventory.yaml:7: jobs/report/cpus: should be more than 0, got 0"),
    ("cpus a word", job("image: x\ncpus: one\n"),
     "inventory.yaml:7: jobs/report/cpus: should be a positive number, got 'one'"),
    ("memory without a unit", job("image: x\nmemory: lots\n"),
     "inventory.yaml:7: jobs/report/memory: should be a size such as 256m or 1g (suffix b, k, m or g; "
     "no suffix means bytes), got 'lots'"),
    ("memory below docker's floor", job("image: x\nmemory: 4m\n"),
     "inventory.yaml:7: jobs/report/memory: 4m is 4194304 bytes, below docker's minimum of 6m"),
    ("priority a word", job("image: x\npriority: high\n"),
     "inventory.yaml:7: jobs/report/priority: should be an integer, got 'high'"),
    # -- durations -------------------------------------------------------------------
    ("timeout not a duration", job("image: x\ntimeout: forever\n"),
     "inventory.yaml:7: jobs/report/timeout: should be a duration such as 30, 30s, 5m or 1h, got 'forever'"),
    ("zero timeout", job("image: x\ntimeout: 0s\n"),
     "inventory.yaml:7: jobs/report/timeout: should be more than 0, got 0s"),
    ("backoff in days", job("image: x\nbackoff: 1d\n"),
     "inventory.yaml:7: jobs/report/backoff: should be a duration such as 30, 30s, 5m or 1h, got '1d'"),
    ("negative backoff", job("image: x\nbackoff: -5\n"),
     "inventory.yaml:7: jobs/report/backoff: should be at least 0, got -5"),
    # -- constraints -------------------------------------------------------------------
    ("constraint with a single =", job("image: x\nconstraints: [zone=a]\n"),
     "inventory.yaml:7: jobs/report/constraints[0]: 'zone=a' is not a constraint; write label==value or "
     "label!=value, like zone==a"),
    ("constraint on a label no host has", job("image: x\nconstraints: [zome==a]\n"),
     "inventory.yaml:7: jobs/report/constraints[0]: no host has a label 'zome' (labels: role, zone); "
     "did you mean 'zone'?"),
    ("constraint on a value no host has", job("image: x\nconstraints: [zone==c]\n"),
     "inventory.yaml:7: jobs/report/constraints[0]: no host has zone=c (zone values: a, b)"),
    ("constraints as a string", job("image: x\nconstraints: zone==a\n"),
     "inventory.yaml:7: jobs/report/constraints: should be a list of constraints such as zone==a, got 'zone==a'; "
     "write [zone==a] for a single item"),
]


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("text, look, expected", [case[1:] for case in VALID], ids=[case[0] for case in VALID])
def test_valid_jobs(folder, text, look, expected):
    assert_loads(folder, text, look, expected)


@pytest.mark.parametrize("text, message", [case[1:] for case in MALFORMED], ids=[case[0] for case in MALFORMED])
def test_malformed_jobs_are_refused_with_location(folder, text, message):
    assert_refused(folder, text, message)


def test_case_ids_are_unique():
    ids = [case[0] for case in VALID + MALFORMED]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("name, message", [
    ("reprot", r"^no job named 'reprot' in inventory\.yaml \(jobs: report, backup, tidy\); did you mean 'report'\?$"),
    ("nope", r"^no job named 'nope' in inventory\.yaml \(jobs: report, backup, tidy\)$"),
])
def test_unknown_job_lookup_names_the_templates(folder, name, message):
    (folder / "inventory.yaml").write_text(FULL)
    with pytest.raises(PatternError, match=message):
        load_inventory("inventory.yaml").job(name)


def test_job_lookup_without_a_jobs_section(folder):
    (folder / "inventory.yaml").write_text(HOSTS)
    message = r"^no job named 'nope' in inventory\.yaml: it has no jobs: section; add one$"
    with pytest.raises(PatternError, match=message):
        load_inventory("inventory.yaml").job("nope")


def test_model_is_frozen_and_hashable(folder):
    (folder / "inventory.yaml").write_text(FULL)
    inventory = load_inventory("inventory.yaml")
    with pytest.raises(AttributeError):
        inventory.job("report").retries = 5  # type: ignore[misc]
    assert hash(inventory) == hash(load_inventory("inventory.yaml"))
    assert inventory == load_inventory("inventory.yaml")


def test_equal_templates_ignore_the_line():
    assert JobTemplate("report", "busybox", line=5) == JobTemplate("report", "busybox", line=9)


def test_env_file_is_a_path_relative_to_the_inventory_and_never_read_while_loading(folder):
    (folder / "secrets").mkdir()
    (folder / "secrets" / "job.env").write_bytes(b"TOKEN=s3cret\n\xff not even utf-8\n")
    assert_loads(folder, job("image: x\nenv_file: secrets/job.env\n"), lambda inv: inv.job("report").env_file,
                 folder / "secrets" / "job.env")


def test_missing_relative_env_file_names_where_it_was_looked_for(folder):
    assert_refused(folder, job("image: x\nenv_file: secrets/job.env\n"),
                   "inventory.yaml:7: jobs/report/env_file: env file secrets/job.env not found "
                   "(relative paths start at the folder of this file)")
