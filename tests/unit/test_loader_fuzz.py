"""Generated inventories and playbooks fed to the loaders: each returns, or raises KobError, in time.

Documents are trees shaped like the real files (the loaders' own key names and section shapes) in
which any value may be replaced by junk: random nested mappings and lists; scalars such as 1e400,
.nan, 99999999999999999999, yes, ~, '', control characters and templates; anchors and aliases
(to values defined before, to the value that holds them, to nothing); merge keys; tags (standard
ones, python/..., !vault). Each tree is written as YAML, block or flow style, and sometimes mangled
(a character dropped, or a tab, quote, colon or bracket inserted).

The property: load_inventory / load_playbook return, or raise kob.errors.KobError, within BOUND
seconds; anything else fails, with the document shown (hypothesis' note).

Trees are built by a small builder from a Random that Hypothesis seeds (st.randoms): hundreds of
choices per document drawn one by one from Hypothesis would make 10,000 documents take minutes;
this way INVENTORY_EXAMPLES + PLAYBOOK_EXAMPLES >= 10,000 take about a minute on a busy two-core
machine. Derandomized: every run tries the same documents; a failure shows its document.
"""

from __future__ import annotations

import json
import os
import re
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from kob.errors import KobError
from kob.playbook.loader import (
    MODULES,
    PLAY_KEYS,
    TASK_KEYS,
    UNSUPPORTED,
    load_playbook,
)
from kob.spec.inventory import HOST_KEYS, SSH_KEYS, TOP_LEVEL_KEYS, load_inventory
from kob.spec.jobs import JOB_KEYS
from kob.spec.lb import FRONTEND_KEYS, LB_KEYS, ROUTE_KEYS
from kob.spec.services import (
    AUTOSCALE_KEYS,
    HEALTHCHECK_KEYS,
    PLACEMENT_KEYS,
    RESOURCES_KEYS,
    SERVICE_KEYS,
    UPDATE_KEYS,
)

INVENTORY_EXAMPLES = 5500
PLAYBOOK_EXAMPLES = 4500
BOUND = 5  # seconds one document may take to load

FUZZ = settings(deadline=None, derandomize=True, database=None, print_blob=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])


# -- a YAML tree and how it is written ----------------------------------------------------------------------

@dataclass
class Scalar:
    text: str  # as written in the file: plain, or already quoted


@dataclass
class Alias:
    name: str


@dataclass
class Seq:
    items: list = field(default_factory=list)
    block: bool = False
    anchor: str = ""
    tag: str = ""


@dataclass
class Map:
    pairs: list = field(default_factory=list)  # [(key node, value node), ...]
    block: bool = False
    anchor: str = ""
    tag: str = ""


def props(node) -> str:
    """' &anchor !tag' of a collection or a tagged scalar ('' when none)."""
    anchor, tag = getattr(node, "anchor", ""), getattr(node, "tag", "")
    return "".join(f" {p}" for p in (f"&{anchor}" if anchor else "", tag) if p)


def flow(node) -> str:
    if isinstance(node, Scalar):
        return node.text
    if isinstance(node, Alias):
        return f"*{node.name} "
    body = ("[" + ", ".join(flow(item) for item in node.items) + "]" if isinstance(node, Seq)
            else "{" + ", ".join(f"{flow(k)}: {flow(v)}" for k, v in node.pairs) + "}")
    return (props(node) + " " + body).lstrip()


def is_block(node) -> bool:
    return isinstance(node, (Seq, Map)) and node.block and bool(node.items if isinstance(node, Seq) else node.pairs)


def block(node, indent: int) -> list[str]:
    """The lines of a block collection at ``indent`` (its own properties are written by the caller)."""
    pad = " " * indent
    if isinstance(node, Seq):
        return [line for item in node.items for line in (
            [f"{pad}-{props(item)}", *block(item, indent + 2)] if is_block(item) else [f"{pad}- {flow(item)}"])]
    return [line for key, value in node.pairs for line in (
        [f"{pad}{flow(key)}:{props(value)}", *block(value, indent + 2)] if is_block(value)
        else [f"{pad}{flow(key)}: {flow(value)}"])]


def document(node) -> str:
    if is_block(node):
        start = [f"---{props(node)}"] if props(node) else []
        return "\n".join(start + block(node, 0)) + "\n"
    return flow(node) + "\n"


# -- what the trees are made of ------------------------------------------------------------------------------

PLAIN = (
    "0", "1", "-1", "2", "22", "80", "65535", "65536", "1000", "1001", "1e3", "1e400", "-1e400", "0x1f", "0o17",
    "1_000", ".inf", "-.inf", ".nan", "99999999999999999999999", "2.5", "0.0000001", "1:30", "007", "+5", "-0",
    "true", "false", "yes", "no", "on", "off", "~", "null", "30s", "5m", "1h", "1m30s", "250ms", "soon", "10d",
    "256m", "1g", "6m", "1t", "lots", "vm1", "vm2", "web", "api", "lb", "all", "workers", "hello", "nosuch",
    "127.0.0.1", "198.18.0.11", "localhost", "999.1.1.1", "nginx:1", "busybox:1", "kh", "sub", "fifo", "vars.yaml",
    "list.yaml", "nosuch.yaml", "/dev/null", "/", ".", "vm*", "spread", "least-loaded", "start-first",
    "rollback", "roundrobin", "/healthz", "zone==a", "on-failure:3", "unless-stopped", "present", "started",
    "echo hi", "a=1 b=2", "2001-12-14", "web:!vm2", "/srv:/data", "shell", "debug",
)
SPECIAL = (
    "", " ", "\t", "\n", "\r\n", "\x00", "\x1b[31m", "\u2028", "\ufeff", "\u202e", "é", "日本", "a" * 300,
    "{{ x }}", "{{ lipsum.__globals__ }}", "{% for x in y %}", "etcd://127.0.0.1:2379", "https://a:1",
    "etcd://u:p@a", "sqlite://rel.db", "sqlite:///tmp/x.db", "memory://", "::1", "[::1]", "a:b:c", "/a:/b:ro",
    "sh -c 'unclosed", "key=value", "kob\x00.db", "~nosuchuser/x", "$(touch MARKER)", "'", '"', "\\", "- x",
    "a: b", "[", "{", "}", "&a", "*a", "!vault", "-", "?", "*", "|", ">", "%", "@", "`", "#", "<<",
)
TAGS = ("!!str", "!!int", "!!float", "!!bool", "!!null", "!!map", "!!seq", "!!binary", "!!set", "!!timestamp",
        "!!python/object/apply:os.system", "!!python/name:os.system", "!vault", "!include")
NAMES = ("vm1", "vm2", "web", "api", "lb", "hello", "workers", "g1", "all", "Web", "a b", "", "-x", "x" * 50)
NAMED_AS = {  # good names for the entries of a mapping under this key
    "hosts": ("vm1", "vm2", "vm3"), "groups": ("workers", "edge"), "services": ("web", "api"), "jobs": ("hello", "report"),
    "frontends": ("http", "admin"), "labels": ("zone", "disk"), "env": ("GREETING", "MODE"), "vars": ("port", "items"),
    "set_fact": ("answer", "ready"),
}
DURATIONS = ("10", "30s", "5m", "1m30s", "250ms")
PATHS = ("~nosuchuser/x", "~", "k" * 300, "a\x00b", "sub", "sub/", "fifo", "/dev/null", "/dev/zero", "/proc/self/mem",
         "..", "/", "", " ")
ODD = {  # odd scalars for a key, written quoted
    **{key: PATHS for key in ("key", "known_hosts", "env_file", "vars_files", "src")},
    "state": (*PATHS, "sqlite://" + "/a" * 200, "etcd://127.0.0.1:2379/" + "n" * 300, "etcd://[::1]:2379",
              "etcd://a:1,a:1", "http://127.0.0.1:99999", "memory://", "etcd://u:p@h"),
    "address": ("::ffff:127.0.0.1", "fe80::1%eth0", "1.2.3.4.5", "a" * 254, "-x", "127.1", "0", "::"),
    "hosts": ("", ",", "!", "&", "vm[", "[", "*" * 100, "all:!all", "\x00"),
    "image": ("a" * 5000, "nginx@sha256:" + "0" * 64, "x/" * 300),
}
GOOD = {  # good scalars for a key (or for the items of a list under it)
    "address": ("127.0.0.1", "198.18.0.12", "localhost", "::1", "web.example"), "port": ("22", "9", "80", "8080"),
    "user": ("root", "deploy"), "key": ("kh",), "known_hosts": ("kh",), "state": ("kob.db", "etcd://127.0.0.1:2379"),
    **{key: DURATIONS for key in ("connect_timeout", "command_timeout", "retention", "down_after", "interval",
                                  "timeout", "start_period", "monitor", "scale_up_window", "scale_down_window", "backoff")},
    "cpus": ("1", "0.5"), "memory": ("256m", "1g"), "replicas": ("0", "1", "3"), "image": ("nginx:1", "busybox:1"),
    "hosts": ("all", "vm1", "lb", "vm1,vm2", "vm*", "workers:!vm2"), "roles": ("lb", "edge"), "labels": ("a", "b"),
    "groups": ("vm1", "vm2", "edge"), "strategy": ("spread", "least-loaded"), "order": ("start-first", "stop-first"),
    "failure_action": ("rollback", "pause"), "restart": ("always", "on-failure:3"), "http": ("/healthz",),
    "path": ("/api", "/tmp/x"), "host": ("api.example.com",), "service": ("web",), "default": ("web",),
    "bind": ("80", "8080"), "balance": ("roundrobin", "leastconn"), "min": ("1",), "max": ("3",), "cpu": ("50",),
    "tolerance": ("0.1",), "max_step": ("1",), "parallelism": ("1",), "max_per_host": ("2",), "retries": ("0", "2"),
    "priority": ("0", "10"), "constraints": ("zone==a", "role!=lb"), "volumes": ("/srv:/data", "cache:/cache:ro"),
    "command": ("echo", "hi"), "env": ("value",), "gather_facts": ("true", "false"), "become": ("true", "false"),
    "ignore_errors": ("true", "false"), "serial": ("1", "2"), "name": ("install nginx", "web"), "register": ("result",),
    "when": ("x == 1", "result.rc == 0"), "tags": ("web",), "notify": ("restart",), "vars_files": ("vars.yaml",),
    "msg": ("hello",), "cmd": ("echo hi",), "shell": ("echo hi",), "dest": ("/tmp/x",), "src": ("a.conf",),
    "mode": ("0644",), "loop": ("a", "b"), "with_items": ("1", "2"),
}


def quoted(text: str) -> str:
    return json.dumps(text) if text.isascii() or "\x00" in text else "'" + text.replace("'", "''") + "'"


def safe(text: str) -> str:
    """``text`` plain, or quoted where a flow collection would read it otherwise."""
    return quoted(text) if re.search(r"[:,\[\]{}#&*!|>'\"%@`]", text) else text


# A schema: a dict is a record of those keys, Named(s) a mapping of names to s, ListOf(s) a list of s,
# Task(keys, modules) a task (its keys, and one module of those), SCALAR a scalar, ANY anything.

SCALAR, ANY = "scalar", "any"
REQUIRED = {"hosts", "address", "image", "tasks", "frontends", "bind", "service"}  # kept nearly always


@dataclass(frozen=True)
class Named:
    of: Any
    least: int = 0


@dataclass(frozen=True)
class ListOf:
    of: Any
    least: int = 0


@dataclass(frozen=True)
class Task:
    keys: dict
    modules: dict


def record(keys: tuple[str, ...], **special) -> dict:
    return {key: special.get(key, SCALAR) for key in keys}


WORDS = ListOf(SCALAR)
HOST = record(HOST_KEYS, roles=WORDS, labels=Named(SCALAR))
SERVICE = record(SERVICE_KEYS, command=WORDS, env=Named(SCALAR), volumes=WORDS,
                 healthcheck=record(HEALTHCHECK_KEYS, command=WORDS), resources=record(RESOURCES_KEYS),
                 placement=record(PLACEMENT_KEYS, constraints=WORDS), update=record(UPDATE_KEYS),
                 autoscale=record(AUTOSCALE_KEYS))
INVENTORY = record(
    TOP_LEVEL_KEYS, ssh=record(SSH_KEYS), hosts=Named(HOST, least=1), groups=Named(WORDS), services=Named(SERVICE),
    lb=record(LB_KEYS, frontends=Named(record(FRONTEND_KEYS, routes=ListOf(record(ROUTE_KEYS))))),
    jobs=Named(record(JOB_KEYS, command=WORDS, constraints=WORDS)),
    metrics=record(("retention",)), heal=record(("down_after",)))
TASK = Task(record(TASK_KEYS, when=WORDS, loop=ListOf(ANY), notify=WORDS, vars=Named(ANY), args=Named(SCALAR),
                   tags=WORDS),
            {**{module: record(arguments) if arguments else Named(ANY) for module, arguments in MODULES.items()},
             "ansible.builtin.shell": SCALAR, "community.general.ufw": Named(SCALAR), UNSUPPORTED[0]: SCALAR})
PLAYBOOK = ListOf(record(PLAY_KEYS, vars=Named(ANY), vars_files=WORDS, tasks=ListOf(TASK, least=1),
                         handlers=ListOf(TASK), tags=WORDS), least=1)


class Builder:
    """Builds one tree from ``random``, in the order it is written, so that an alias names an anchor
    written before it (or, now and then, its own value or nothing). Low rolls choose the ordinary thing."""

    def __init__(self, random):
        self.random, self.anchors, self.made = random, [], 0

    def chance(self, p: float) -> bool:
        return self.random.random() > 1 - p

    def pick(self, options):
        return options[self.random.randrange(len(options))]

    def scalar(self) -> Scalar:
        roll = self.random.random()
        if roll < 0.5:
            return Scalar(self.pick(PLAIN))
        if roll < 0.75:
            return Scalar(quoted(self.pick(PLAIN + SPECIAL)))
        if roll < 0.85:
            return Scalar(str(self.random.randint(-10**30, 10**30) if self.chance(0.2) else self.random.randint(-5, 70000)))
        if roll < 0.98:
            return Scalar(repr(self.random.uniform(-1e300, 1e300)))
        return Scalar(quoted("".join(chr(self.random.randint(0, 0x2FFF)) for _ in range(self.random.randint(0, 8)))))

    def key(self):
        roll = self.random.random()
        if roll > 0.95:
            return Scalar("<<")
        if roll > 0.92 and self.anchors:
            return Alias(self.pick(self.anchors))
        return self.scalar()

    def decorated(self, make):
        """``make()``, sometimes an alias instead, sometimes with an anchor or a tag."""
        roll = self.random.random()
        if roll > 0.95 and self.anchors:
            return Alias(self.pick(self.anchors))
        if roll > 0.995:
            return Alias("undefined")
        self.made += 1
        anchor = f"a{self.made}" if roll > 0.88 else ""
        if anchor and self.chance(0.1):
            self.anchors.append(anchor)  # defined before its value: an alias inside refers to the value itself
        node = make()
        if anchor and anchor not in self.anchors:
            self.anchors.append(anchor)
        if isinstance(node, Scalar) and (anchor or self.chance(0.01)):
            return Scalar(f"&{anchor} {node.text}" if anchor else f"{self.pick(TAGS)} {node.text}")
        if isinstance(node, (Seq, Map)):
            node.anchor, node.tag = anchor, self.pick(TAGS) if self.chance(0.02) else ""
        return node

    def junk(self, depth: int = 0):
        roll = self.random.random()
        if depth >= 3 or roll < 0.55:
            return self.decorated(self.scalar)
        if roll < 0.75:
            return self.decorated(lambda: Seq([self.junk(depth + 1) for _ in range(self.random.randint(0, 3))],
                                              self.chance(0.5)))
        return self.decorated(lambda: Map([(self.key(), self.junk(depth + 1)) for _ in range(self.random.randint(0, 3))],
                                          self.chance(0.5)))

    def shaped(self, schema, depth: int = 0, key: str = ""):
        """A value for ``schema`` under ``key``: mostly one that reads well there, so that later checks are reached."""
        if schema == ANY or self.chance(0.03):
            return self.junk(depth)
        if schema == SCALAR:
            return self.decorated(lambda: self.scalar_for(key))
        if isinstance(schema, ListOf):
            return self.decorated(lambda: Seq([self.shaped(schema.of, depth + 1, key)
                                               for _ in range(self.count(schema.least))], not self.chance(0.4)))
        if isinstance(schema, Named):
            return self.decorated(lambda: Map([(name, self.shaped(schema.of, depth + 1, key))
                                               for name in self.names(key, self.count(schema.least))],
                                              not self.chance(0.4)))
        if isinstance(schema, Task):
            module = self.pick(sorted(schema.modules))
            return self.decorated(lambda: Map(self.fields(schema.keys, depth, 2) +
                                              [(Scalar(module), self.shaped(schema.modules[module], depth + 1, module))],
                                              not self.chance(0.4)))
        return self.decorated(lambda: Map(self.fields(schema, depth), not self.chance(0.4)))

    def scalar_for(self, key: str) -> Scalar:
        """Mostly a good value for ``key``, now and then an odd one for it, or any scalar."""
        good, odd, roll = GOOD.get(key), ODD.get(key), self.random.random()
        if good and roll < 0.88:
            return Scalar(safe(self.pick(good)))
        if odd and roll < 0.95:
            return Scalar(quoted(self.pick(odd)))
        return self.scalar()

    def count(self, least: int) -> int:
        return least + self.random.randint(0, 2 - least) if not self.chance(0.05) else 0

    def names(self, key: str, count: int) -> list[Scalar]:
        """``count`` names for the entries of ``key``: mostly distinct good ones, now and then any of NAMES."""
        good = NAMED_AS.get(key, ())
        if good and not self.chance(0.2):
            return [Scalar(name) for name in self.random.sample(good, min(count, len(good)))]
        return [Scalar(quoted(self.pick(NAMES))) for _ in range(count)]

    def fields(self, schema: dict, depth: int, usual: float = 2.5) -> list:
        """Some of the record's keys (the required ones nearly always), now and then one twice, or junk."""
        pairs = []
        for key in sorted(schema):
            if (not self.chance(0.05)) if key in REQUIRED else self.chance(usual / len(schema)):
                pairs.append((Scalar(key), self.shaped(schema[key], depth + 1, key)))
            if self.chance(0.01):
                pairs.append((Scalar(key), self.shaped(schema[key], depth + 1, key)))
        if self.chance(0.07):
            pairs.insert(self.random.randint(0, len(pairs)), (self.key(), self.junk(depth + 1)))
        return pairs


def mangle(random, text: str) -> str:
    """``text``, or (one time in seven) with a character dropped or one of tab, quote, colon, bracket inserted."""
    if not text or random.random() < 6 / 7:
        return text
    at = random.randrange(len(text) + 1)
    return text[:at] + text[at + 1:] if random.random() > 0.7 else text[:at] + random.choice("\t'\":[{&*!") + text[at:]


def documents(schema):
    def build(random) -> str:
        return mangle(random, document(Builder(random).shaped(schema)))
    return st.randoms(use_true_random=True).map(build)


inventories = documents(INVENTORY)
playbooks = documents(PLAYBOOK)


# -- the property ----------------------------------------------------------------------------------------

class Hang(BaseException):
    pass


def _alarm(signum, frame):
    raise Hang(f"loading took more than {BOUND} s")


def loads_or_refuses(load, path: Path, text: str) -> None:
    note(f"document:\n{text}")
    path.write_text(text)
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(BOUND)
    try:
        load(path)
    except KobError as error:
        assert str(error).strip(), "a KobError without a message"
    except Hang:
        pytest.fail(f"loading did not finish within {BOUND} s")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """The folder of the generated files, with the files their values may name."""
    base = tmp_path_factory.mktemp("fuzz")
    (base / "kh").write_text("")
    (base / "vars.yaml").write_text("port: 8080\nitems: [1, 2]\n")
    (base / "list.yaml").write_text("- a\n- b\n")
    (base / "sub").mkdir()
    os.mkfifo(base / "fifo")
    return base


@settings(FUZZ, max_examples=INVENTORY_EXAMPLES)
@given(text=inventories)
def test_an_inventory_loads_or_is_refused_with_a_kob_error(folder, text):
    loads_or_refuses(load_inventory, folder / "inv.yaml", text)


@settings(FUZZ, max_examples=PLAYBOOK_EXAMPLES)
@given(text=playbooks)
def test_a_playbook_loads_or_is_refused_with_a_kob_error(folder, text):
    loads_or_refuses(load_playbook, folder / "pb.yaml", text)


def test_the_two_together_try_ten_thousand_documents():
    assert INVENTORY_EXAMPLES + PLAYBOOK_EXAMPLES >= 10_000
