"""Hostile and broken input, as tables: inventories, playbooks, env files and command lines.

Every case runs in this process through the real entry point (kob.cli.main.main) and must end the
way a user's mistake should end:

- the exit code: 1 for a kob error, 2 for a usage error (click's), or 2 for a playbook task that failed;
- a kob error is one line on stderr naming the file:line (or the option, or the host), with no
  control characters in it; a usage error ends with click's "Error:" line naming the option;
- no traceback (an exception escaping main() counts as one), no secret of the file echoed;
- no marker file: many cases try to create tmp_path/MARKER (a Jinja escape, a YAML python tag,
  a shell word in an address); it must not exist afterwards;
- within BOUND seconds: a case still running after HANG_AFTER seconds is stopped by an alarm, and
  address space is capped while it runs, so that a bomb ends as a MemoryError instead of a dead machine.

Every inventory points its hosts at 127.0.0.1 port 9 (nothing listens there) with an empty known_hosts
file, so an inventory that loads ends quickly and harmlessly at the first connection. Text "MARKER" in a
case is replaced by the absolute path of the marker file. A case's ``line`` is the line the error must name:
an int, a tuple of acceptable lines, or None for "the file, with any line or none".
"""

from __future__ import annotations

import os
import re
import resource
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

from kob.cli.main import main

BOUND = 10.0  # seconds of CPU a case may take (the 25 s alarm catches a hang in wall time)
HANG_AFTER = 25  # seconds after which a case is stopped (and fails)
SPARE_MEMORY = 4 << 30  # address space a case may add to what the test process already has
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x85\u2028\u2029]")


# -- running a case ---------------------------------------------------------------------------------------

class Hang(BaseException):
    """Raised by the alarm inside a case that runs too long (a BaseException: no `except Exception` eats it)."""


@dataclass
class Ran:
    code: object
    out: str
    err: str
    seconds: float
    escaped: BaseException | None


def _alarm(signum, frame):
    raise Hang(f"still running after {HANG_AFTER} s")


def _address_space() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


def run_kob(monkeypatch, capsys, *args: str) -> Ran:
    """`kob ARGS` in this process: exit code, stdout, stderr, seconds, and the exception that escaped, if any."""
    monkeypatch.setattr(sys, "argv", ["kob", *args])
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = _address_space() + SPARE_MEMORY
    previous = signal.signal(signal.SIGALRM, _alarm)
    code, escaped, started = 0, None, time.process_time()
    try:
        resource.setrlimit(resource.RLIMIT_AS, (min(cap, hard) if hard != resource.RLIM_INFINITY else cap, hard))
        signal.alarm(HANG_AFTER)
        main()
    except SystemExit as done:
        code = done.code
    except BaseException as error:  # noqa: BLE001 - what escapes main() is what the test reports
        escaped = error
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    seconds = time.process_time() - started  # CPU time: what other work on the machine cannot inflate
    out, err = capsys.readouterr()
    return Ran(code, out, err, seconds, escaped)


def escaped_text(error: BaseException) -> str:
    """The exception's type and message, its last frame and its last frame inside kob."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if "/kob/" in f.filename and "/tests/" not in f.filename]
    def where(frame) -> str:
        return f"{frame.filename.split('/main/')[-1]}:{frame.lineno} in {frame.name}"

    text = f"{type(error).__name__}: {str(error)[:200]}"
    if frames:
        text += f"; last frame {where(frames[-1])}"
    if ours and ours[-1] is not frames[-1]:
        text += f"; last kob frame {where(ours[-1])}"
    return text


def check_sane(ran: Ran, marker: Path, hidden: str = "") -> None:
    """What every case must do: no traceback, no marker, no secret shown, in time."""
    assert ran.escaped is None, f"traceback: {escaped_text(ran.escaped)}"
    assert "Traceback" not in ran.out + ran.err, ran.err[-2000:]
    assert not marker.exists(), "the marker file was created"
    assert not hidden or hidden not in ran.out + ran.err, f"{hidden!r} was shown: {ran.err.strip()[:300]}"
    assert ran.seconds <= BOUND, f"took {ran.seconds:.1f} s"


def one_error_line(ran: Ran, code: int = 1) -> str:
    """The single line a kob error prints (checked: exit code, one line, no control characters, short)."""
    assert ran.code == code, f"exit {ran.code!r}, stderr {ran.err.strip()[:300]!r}, stdout {ran.out[-300:]!r}"
    lines = ran.err.splitlines()
    assert len(lines) == 1 and ran.err.endswith("\n"), f"stderr is not one line: {ran.err[:500]!r}"
    line = lines[0]
    assert line.startswith("kob: error: "), line
    assert not CONTROL.search(line), f"control character in {line!r}"
    assert len(line) <= 2000, f"a line of {len(line)} characters"
    return line


def check_names_place(line: str, file: str, where, names: str = "") -> None:
    """``line`` names ``file`` with the line ``where`` (int, tuple of ints, or None for any), and ``names``."""
    found = re.search(rf"(?:^kob: error: |[ /(]){re.escape(file)}(?::(\d+))?(?=[:; )]|$)", line)
    assert found, f"does not name {file}: {line}"
    if where is not None:
        allowed = where if isinstance(where, tuple) else (where,)
        assert found[1] is not None and int(found[1]) in allowed, f"names line {found[1]}, expected {where}: {line}"
    assert not names or names in line, f"does not name {names!r}: {line}"


def check_usage(ran: Ran, names: tuple[str, ...]) -> None:
    assert ran.code == 2, f"exit {ran.code!r}, stderr {ran.err.strip()[:300]!r}"
    last = ran.err.rstrip("\n").splitlines()[-1] if ran.err.strip() else ""
    assert last.startswith("Error:"), f"last line {last!r}"
    assert any(n in last for n in names), f"does not name any of {names}: {last}"


# -- the files a case may point at ---------------------------------------------------------------------------

HEAD = "ssh: {known_hosts: kh}\nhosts:\n  vm1: {address: 127.0.0.1, port: 9}\n"
PLAYBOOK_INVENTORY = HEAD
CLI_INVENTORY = HEAD + """\
services:
  web: {image: nginx:1, port: 80}
  api: {image: nginx:1, port: 81, autoscale: {min: 1, max: 3, cpu: 50}}
jobs:
  hello: {image: busybox:1, command: [echo, hi]}
"""
HARMLESS_PLAYBOOK = "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: {msg: hi}\n"
POPEN = "os.popen('touch MARKER').read()"
LAUGHS = "".join(f"{c}: &{c} [{', '.join([f'*{p}'] * 10) if p else ', '.join('x' * 10)}]\n"
                 for p, c in zip(["", *"abcdefgh"], "abcdefghi"))
MERGES = "m0: &m0 {k: 0, j: 1}\n" + "".join(f"m{n}: &m{n} {{<<: [*m{n - 1}, *m{n - 1}], k{n}: {n}}}\n"
                                            for n in range(1, 31))

FILES: dict[str, str | bytes] = {
    "kh": "",
    "list.yaml": "- a\n- b\n",
    "secret.txt": "s3cr3t-t0ken-value\n",
    "broken.yaml": "a: 1\nb: [1,\n",
    "evilvars.yaml": "x: !!python/object/apply:os.system ['touch MARKER']\n",
    "badname.yaml": "SECRET-NAME-x: 1\n",
    "bomb.yaml": LAUGHS,
    "jinja_vars.yaml": f"x: \"{{{{ lipsum.__globals__.{POPEN} }}}}\"\n",
    "evil.j2": f"{{{{ cycler.__init__.__globals__.{POPEN} }}}}\n",
    "binary.j2": b"\xff\xfe\x00\x01",
    "pb.yaml": HARMLESS_PLAYBOOK,
}


@pytest.fixture
def place(tmp_path, monkeypatch) -> Path:
    """tmp_path as the working folder, with the files cases point at; the marker is tmp_path/MARKER."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KOB_WEB_TOKEN", raising=False)
    for name, content in FILES.items():
        write(tmp_path / name, content)
    (tmp_path / "sub").mkdir()
    os.mkfifo(tmp_path / "fifo")
    return tmp_path


def write(path: Path, content: str | bytes) -> None:
    marker = str(path.parent / "MARKER")
    if isinstance(content, str):
        path.write_text(content.replace("MARKER", marker))
    else:
        path.write_bytes(content.replace(b"MARKER", marker.encode()))


# -- the tables --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    id: str
    text: str | bytes
    line: int | tuple[int, ...] | None  # the line the error names (None: the file, any line or none)
    names: str = ""  # a key path or word the error line must contain
    hidden: str = ""  # a secret the output must not show
    file: str = ""  # the file the error names, when it is not the one under test


def R(id: str, text: str | bytes, line, names: str = "", hidden: str = "", file: str = "") -> Case:
    return Case(id, text, line, names, hidden, file)


def doc(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def head(*lines: str) -> str:
    """HEAD's three lines (ssh, hosts, vm1 at 127.0.0.1:9), then ``lines`` from line 4."""
    return HEAD + doc(*lines)


def vm1(*fields: str) -> str:
    """An inventory whose host vm1 has ``fields`` (block style), the first on line 4."""
    return doc("ssh: {known_hosts: kh}", "hosts:", "  vm1:", *(f"    {f}" for f in fields))


def vm1_at(*fields: str) -> str:
    """vm1 at 127.0.0.1:9 (lines 4 and 5) with ``fields`` from line 6."""
    return vm1("address: 127.0.0.1", "port: 9", *fields)


def ssh(*fields: str) -> str:
    """ssh: with known_hosts: kh (line 2) and ``fields`` from line 3, then one host."""
    return doc("ssh:", "  known_hosts: kh", *(f"  {f}" for f in fields), "hosts:",
               "  vm1: {address: 127.0.0.1, port: 9}")


def web(*fields: str) -> str:
    """services: web: with ``fields`` from line 6."""
    return head("services:", "  web:", *(f"    {f}" for f in fields))


def job(*fields: str) -> str:
    """jobs: hello: with ``fields`` from line 6."""
    return head("jobs:", "  hello:", *(f"    {f}" for f in fields))


LB_HEAD = ("ssh: {known_hosts: kh}", "hosts:", "  vm1: {address: 127.0.0.1, port: 9, roles: [lb]}", "services:",
           "  web: {image: nginx:1, port: 80}", "  noport: {image: nginx:1}")


def lb(*lines: str) -> str:
    """vm1 with role lb, services web (port 80) and noport, then ``lines`` from line 7."""
    return doc(*LB_HEAD, *lines)


def frontend(text: str) -> str:
    """lb: frontends: with one frontend (line 9)."""
    return lb("lb:", "  frontends:", f"    {text}")


NEST = 70
YAML_SYNTAX = [
    R("tab-indent", "hosts:\n\tvm1: {address: 127.0.0.1, port: 9}\n", 2, "tab"),
    R("tab-in-block", doc("ssh: {known_hosts: kh}", "hosts:", "  vm1:", "\t  address: 127.0.0.1"), 4),
    R("unclosed-double-quote", doc("hosts:", '  vm1: {address: "127.0.0.1, port: 9}', "services: {}"), 2),
    R("unclosed-single-quote", doc("ssh: {known_hosts: kh}", "hosts:", "  vm1: {address: '127.0.0.1}"), 3),
    R("unclosed-flow-mapping", doc("ssh: {known_hosts: kh}", "hosts:", "  vm1: {address: 127.0.0.1, port: 9",
                                   "state: x.db"), (3, 4)),
    R("unclosed-flow-list", vm1_at("roles: [lb, web"), (6, 7)),
    R("flow-list-closed-by-brace", doc("hosts:", "  vm1: {address: 127.0.0.1, roles: [lb}"), 2),
    R("stray-bracket", "hosts: ]\n", 1),
    R("colon-in-plain-value", doc("ssh: {known_hosts: kh}", "hosts:", "  vm1: address: 127.0.0.1"), 3),
    R("over-indented-sibling", head("   vm2: {address: 127.0.0.2}"), (3, 4)),
    R("under-indented-sibling", doc("hosts:", "    vm1:", "      address: 127.0.0.1", "  vm2: {}"), 4),
    R("missing-colon", doc("hosts:", "  vm1", "    address: 127.0.0.1"), (2, 3)),
    R("duplicate-top-key", head("hosts:", "  vm2: {address: 127.0.0.2}"), 4, "hosts"),
    R("duplicate-host", head("  vm1: {address: 127.0.0.2, port: 9}"), 4, "vm1"),
    R("duplicate-key-in-flow", doc("hosts:", "  vm1: {address: 127.0.0.1, port: 9, port: 22}"), 2, "port"),
    R("duplicate-quoted-and-plain", head('"hosts": {vm2: {address: 127.0.0.2}}'), 4, "hosts"),
    R("empty-file", "", None, "empty"),
    R("only-comments", "# nothing\n# at all\n", None, "empty"),
    R("only-document-start", "---\n", None, "empty"),
    R("null-document", "~\n", None, "empty"),
    R("whitespace-only", "   \n\n \n", None, "empty"),
    R("invalid-utf8", b"hosts:\n  vm1: {address: \xff\xfe}\n", 2, "UTF-8"),
    R("latin1-label", b"ssh: {known_hosts: kh}\nhosts:\n  vm1: {address: 127.0.0.1, labels: {city: M\xfcnchen}}\n",
      3, "UTF-8"),
    R("nul-byte", doc("ssh: {known_hosts: kh}", "hosts:", "  vm1: {address: 127.0.0.1\0}"), 3),
    R("bell-character", doc("ssh: {known_hosts: kh}", "hosts:", "  vm1: {address: 127.0.0.1\a}"), 3),
    R("raw-terminal-escape", doc("ssh: {known_hosts: kh}", "hosts:", "  vm1: {address: \x1b[2J127.0.0.1}"), 3),
    R("utf16-with-bom", "hosts: {vm1: {address: 127.0.0.1}}\n".encode("utf-16"), None, "UTF-8"),
    R("utf32", "hosts: {}\n".encode("utf-32"), None, "UTF-8"),
    R("elf-binary", b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)), None),
    R("png-binary", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64), None),
    R("gzip-binary", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + bytes(range(200, 256)), None),
    R("second-document", head("---", "hosts: {vm2: {address: 127.0.0.2}}"), 4, "document"),
    R("document-end-then-junk", head("...", "garbage"), (4, 5)),
    R("top-level-list", "- hosts: {}\n", 1, "list"),
    R("top-level-scalar", "hello world\n", 1),
    R("top-level-number", "12345\n", 1),
    R("top-level-megabyte-scalar", "a" * 1_000_000 + "\n", 1),
    R("over-two-mebibytes", "# " + "x" * (2 << 20) + "\n", None, "MiB"),
    R("deep-flow-nesting", "hosts: " + "[" * 100 + "]" * 100 + "\n", 1, "deep"),
    R("deep-block-nesting", "".join(f"{'  ' * n}k{n}:\n" for n in range(NEST)), 65, "deep"),
    R("deep-flow-mappings", "hosts: " + "{a: " * 80 + "1" + "}" * 80 + "\n", 1, "deep"),
    R("billion-laughs", LAUGHS + HEAD, None, "200000"),
    R("merge-bomb", MERGES + HEAD, None, "200000"),
    R("alias-loop", doc("ssh: {known_hosts: kh}", "hosts: &h", "  vm1: {address: 127.0.0.1, labels: *h}"), (2, 3),
      "loop"),
    R("merge-itself", doc("ssh: {known_hosts: kh}", "hosts: &h {<<: *h}"), 2),
    R("undefined-alias", head("services: *nope"), 4, "nope"),
    R("anchor-defined-twice", head("services: &a {}", "jobs: &a {}", "lb: *a"), (5, 6)),
    R("vault-tag", web("image: nginx:1", "env:", "  PASSWORD: !vault |", "    $ANSIBLE_VAULT;1.1;AES256",
                       "    6134383539"), 8, "!vault"),
    R("python-object-apply", "hosts: !!python/object/apply:os.system ['touch MARKER']\n", 1, "python"),
    R("python-object-new", head("services: !!python/object/new:subprocess.Popen [[touch, MARKER]]"), 4, "python"),
    R("python-name", "ssh: !!python/name:os.system\nhosts: {}\n", 1, "python"),
    R("python-module", head("jobs: !!python/module:os"), 4, "python"),
    R("binary-tag", doc("ssh: {known_hosts: !!binary aGVsbG8=}", "hosts: {vm1: {address: 127.0.0.1}}"), 1, "binary"),
    R("set-tag", head("groups: !!set {vm1, vm2}"), 4, "set"),
    R("omap-tag", head("groups: !!omap [{web: [vm1]}]"), 4, "omap"),
    R("include-tag", "hosts: !include other.yaml\n", 1, "include"),
    R("tag-directive", doc("%TAG !e! tag:evil.example,2024:", "---", "hosts: !e!thing {}"), 3),
    R("yaml-2-directive", doc("%YAML 2.0", "---", "hosts: {}"), (1, 2, 3)),
    R("str-tag-on-port", vm1("address: 127.0.0.1", "port: !!str 9"), 5, "port"),
    R("float-tag-on-port", vm1("address: 127.0.0.1", "port: !!float 9"), 5, "port"),
    R("complex-key", head("? [a, b]", ": c"), 4),
    R("null-key", head("~: x"), 4),
    R("empty-host-name", doc("ssh: {known_hosts: kh}", "hosts:", '  "": {address: 127.0.0.1}'), 3),
    R("merge-of-scalar", web("<<: 5", "image: nginx:1"), 6, "<<"),
    R("merge-of-scalar-list", web("<<: [a, b]", "image: nginx:1"), 6, "<<"),
]

HOSTS = [
    R("hosts-list", doc("ssh: {known_hosts: kh}", "hosts: [vm1, vm2]"), 2, "hosts"),
    R("hosts-scalar", "hosts: vm1\n", 1, "hosts"),
    R("hosts-empty-mapping", "hosts: {}\n", 1, "hosts"),
    R("hosts-null", "hosts:\n", 1, "hosts"),
    R("hosts-missing", "ssh: {known_hosts: kh}\n", 1, "hosts"),
    R("host-is-an-address", doc("hosts:", "  vm1: 127.0.0.1"), 2, "vm1"),
    R("host-is-a-list", doc("hosts:", "  vm1: [127.0.0.1]"), 2, "vm1"),
    R("host-is-null", doc("hosts:", "  vm1:"), 2, "address"),
    R("address-list", vm1("address: [127.0.0.1]"), 4, "address"),
    R("address-empty", vm1('address: ""'), 4, "address"),
    R("address-999", vm1("address: 999.1.1.1"), 4, "address"),
    R("address-leading-zeros", vm1("address: 127.000.000.001"), 4, "address"),
    R("address-shell", vm1('address: "127.0.0.1; touch MARKER"'), 4, "address"),
    R("address-option", vm1('address: "-oProxyCommand=touch MARKER"'), 4, "address"),
    R("address-space", vm1('address: "my host"'), 4, "address"),
    R("address-brackets", vm1('address: "[::1]"'), 4, "address"),
    R("address-with-port", vm1('address: "127.0.0.1:22"'), 4, "address"),
    R("address-with-user", vm1("address: root@127.0.0.1"), 4, "address"),
    R("address-newline", vm1('address: "127.0.0.1\\n"'), 4, "address"),
    R("address-escape", vm1('address: "\\e[31mvm"'), 4, "address"),
    R("address-300-characters", vm1("address: " + "a" * 300), 4, "address"),
    R("address-64-character-label", vm1("address: " + "a" * 64 + ".example"), 4, "address"),
    R("address-unicode", vm1("address: bücher.example"), 4, "address"),
    R("address-number", vm1("address: 12345"), 4, "address"),
    R("address-mapping", vm1("address: {ip: 127.0.0.1}"), 4, "address"),
    R("address-missing", vm1("port: 9"), 3, "address"),
    R("same-endpoint-twice", head("  vm2: {address: 127.0.0.1, port: 9}"), 4, "vm1"),
    R("same-ipv6-endpoint-twice", doc("ssh: {known_hosts: kh}", "hosts:", '  vm1: {address: "::1"}',
                                       '  vm2: {address: "0:0::1"}'), 4, "vm1"),
    *(R(f"port-{name}", vm1("address: 127.0.0.1", f"port: {value}"), 5, "hosts/vm1/port") for name, value in [
        ("zero", "0"), ("negative", "-1"), ("65536", "65536"), ("quoted", '"22"'), ("float", "22.0"),
        ("exponent", "1e3"), ("hex", "0x16"), ("underscore", "2_2"), ("inf", ".inf"), ("nan", ".nan"),
        ("1e400", "1e400"), ("bigint", "9" * 30), ("word", "abc"), ("list", "[22]"), ("mapping", "{a: 1}"),
        ("null", "~"), ("bool", "true"), ("sexagesimal", "1:30"), ("empty", '""')]),
    R("user-with-at", vm1_at("user: root@host"), 6, "user"),
    R("user-with-space", vm1_at('user: "ro ot"'), 6, "user"),
    R("user-with-tab", vm1_at('user: "ro\\tot"'), 6, "user"),
    R("user-empty", vm1_at('user: ""'), 6, "user"),
    R("user-list", vm1_at("user: [root]"), 6, "user"),
    R("user-with-colon", vm1_at("user: a:b"), 6, "user"),
    R("user-like-an-option", vm1_at('user: "-oProxyCommand=touch MARKER"'), 6, "user"),
    R("key-missing-file", vm1_at("key: nosuch_key"), 6, "key"),
    R("key-directory", vm1_at("key: sub"), 6, "key"),
    R("key-empty", vm1_at('key: ""'), 6, "key"),
    R("key-dev-null", vm1_at("key: /dev/null"), 6, "key"),
    R("key-fifo", vm1_at("key: fifo"), 6, "key"),
    R("key-unknown-user-home", vm1_at("key: ~nosuchuser/id_rsa"), 6, "key"),
    R("key-nul", vm1_at('key: "id\\0rsa"'), 6, "key"),
    R("key-name-too-long", vm1_at("key: " + "k" * 300), 6, "key"),
    R("roles-scalar", vm1_at("roles: lb"), 6, "roles"),
    R("roles-twice", vm1_at("roles: [lb, lb]"), 6, "lb"),
    R("roles-all", vm1_at("roles: [all]"), 6, "all"),
    R("role-named-like-host", vm1_at("roles: [vm1]"), 6, "vm1"),
    R("roles-nested-list", vm1_at("roles: [[x]]"), 6, "roles"),
    R("role-with-space", vm1_at('roles: ["bad role"]'), 6, "bad role"),
    R("role-empty", vm1_at('roles: [""]'), 6, "roles"),
    R("roles-mapping", vm1_at("roles: {a: b}"), 6, "roles"),
    R("labels-list", vm1_at("labels: [zone]"), 6, "labels"),
    R("label-value-list", vm1_at("labels: {zone: [a]}"), 6, "zone"),
    R("label-value-null", vm1_at("labels: {zone: ~}"), 6, "zone"),
    R("label-empty-key", vm1_at('labels: {"": a}'), 6, "labels"),
    R("labels-scalar", vm1_at("labels: zone=a"), 6, "labels"),
    *(R(f"cpus-{name}", vm1_at(f"cpus: {value}"), 6, "cpus") for name, value in [
        ("zero", "0"), ("negative", "-1"), ("1e400", "1e400"), ("nan", ".nan"), ("quoted", '"2"'),
        ("2000", "2000"), ("word", "lots")]),
    *(R(f"memory-{name}", vm1_at(f"memory: {value}"), 6, "memory") for name, value in [
        ("word", "lots"), ("terabyte-suffix", "1t"), ("negative", "-1g"), ("zero", "0"), ("5m", "5m"),
        ("fraction", "1.5g"), ("huge", "9" * 25 + "g"), ("list", "[1g]")]),
    R("host-name-space", doc("ssh: {known_hosts: kh}", "hosts:", '  "vm 1": {address: 127.0.0.1}'), 3, "vm 1"),
    R("host-name-newline", doc("ssh: {known_hosts: kh}", "hosts:", '  "vm\\n1": {address: 127.0.0.1}'), 3),
    R("host-name-escape", doc("ssh: {known_hosts: kh}", "hosts:", '  "\\e[31mvm": {address: 127.0.0.1}'), 3),
    R("host-name-cyrillic", doc("ssh: {known_hosts: kh}", "hosts:", "  всё: {address: 127.0.0.1}"), 3),
    R("host-name-dash", doc("ssh: {known_hosts: kh}", "hosts:", "  -vm: {address: 127.0.0.1}"), 3),
    R("host-name-all", doc("ssh: {known_hosts: kh}", "hosts:", "  all: {address: 127.0.0.1}"), 3, "all"),
    R("host-name-path", doc("ssh: {known_hosts: kh}", "hosts:", "  vm1/../x: {address: 127.0.0.1}"), 3),
    R("host-name-glob", doc("ssh: {known_hosts: kh}", "hosts:", '  "vm*": {address: 127.0.0.1}'), 3),
]

SSH = [
    R("ssh-list", doc("ssh: [root]", "hosts: {vm1: {address: 127.0.0.1}}"), 1, "ssh"),
    R("ssh-scalar", doc("ssh: root", "hosts: {vm1: {address: 127.0.0.1}}"), 1, "ssh"),
    R("ssh-password", ssh("password: hunter2secret"), 3, "password", hidden="hunter2secret"),
    R("ssh-user-twice", ssh("user: root", "user: admin"), 4, "user"),
    R("known-hosts-missing", doc("ssh: {known_hosts: nosuch_kh}", "hosts: {vm1: {address: 127.0.0.1}}"), 1,
      "known_hosts"),
    R("known-hosts-directory", doc("ssh: {known_hosts: sub}", "hosts: {vm1: {address: 127.0.0.1}}"), 1,
      "known_hosts"),
    R("known-hosts-fifo", doc("ssh: {known_hosts: fifo}", "hosts: {vm1: {address: 127.0.0.1}}"), 1, "known_hosts"),
    *(R(f"connect-timeout-{name}", ssh(f"connect_timeout: {value}"), 3, "ssh/connect_timeout") for name, value in [
        ("zero", "0"), ("negative", "-1"), ("soon", "soon"), ("1e400", "1e400"), ("inf", ".inf"), ("nan", ".nan"),
        ("days", "10d"), ("over-30-days", "9999h"), ("spaced", "1m 30s"), ("list", "[]"), ("empty", '""'),
        ("null", "~"), ("minus-zero", "-0")]),
    R("command-timeout-exponent-unit", ssh("command_timeout: 1e400s"), 3, "command_timeout"),
    R("command-timeout-mapping", ssh("command_timeout: {s: 1}"), 3, "command_timeout"),
]

GROUPS = [
    R("groups-list", head("groups: [vm1]"), 4, "groups"),
    R("group-scalar", head("groups:", "  web: vm1"), 5, "web"),
    R("group-member-unknown", head("groups:", "  web: [nosuch]"), 5, "nosuch"),
    R("group-includes-itself", head("groups:", "  web: [web]"), 5, "cycle"),
    R("groups-two-cycle", head("groups:", "  a: [b]", "  b: [a]"), (5, 6), "cycle"),
    R("groups-three-cycle", head("groups:", "  a: [b]", "  b: [c]", "  c: [a]"), (5, 6, 7), "cycle"),
    R("group-all", head("groups:", "  all: [vm1]"), 5, "all"),
    R("group-named-like-host", head("groups:", "  vm1: [vm1]"), 5, "vm1"),
    R("group-named-like-role", doc("ssh: {known_hosts: kh}", "hosts:", "  vm1: {address: 127.0.0.1, roles: [lb]}",
                                   "groups:", "  lb: [vm1]"), 5, "lb"),
    R("group-member-list", head("groups:", "  web: [[vm1]]"), 5, "web"),
    R("group-member-null", head("groups:", "  web: [~]"), 5, "web"),
    R("group-name-space", head("groups:", '  "my group": [vm1]'), 5, "my group"),
    R("group-member-glob", head("groups:", '  web: ["vm*"]'), 5, "vm*"),
    R("groups-scalar", head("groups: web"), 4, "groups"),
]

SERVICE = "services: {web: {image: nginx:1}}"  # so that a state: that loads is opened by deploy --check
STATE = [
    *(R(f"state-{name}", head(f"state: {value}", SERVICE), 4, "state", hidden=secret) for name, value, secret in [
        ("https", "https://127.0.0.1:2379", ""), ("etcd-password", "etcd://kob:s3cretpw@127.0.0.1:9", "s3cretpw"),
        ("sqlite-relative", "sqlite://kob.db", ""), ("bare-endpoint", "127.0.0.1:2379", ""),
        ("ftp", "ftp://127.0.0.1/kob.db", ""), ("etcd-empty", "etcd://", ""), ("etcd-port-99999", "etcd://a:99999", ""),
        ("etcd-port-zero", "etcd://a:0", ""), ("etcd-port-negative", "etcd://a:-1", ""),
        ("etcd-same-endpoint", "etcd://a:2379,a:2379", ""), ("etcd-unclosed-bracket", "etcd://[::1", ""),
        ("etcd-bracketed-ipv4", "etcd://[127.0.0.1]:2379", ""), ("etcd-bare-ipv6", "etcd://fe80::1:2379", ""),
        ("etcd-space", '"etcd://a b:2379"', ""), ("etcd-query", "etcd://a:2379?x=1", ""),
        ("etcd-scheme-twice", "etcd://etcd://a:2379", ""), ("etcd-namespace-space", '"etcd://a:2379/my ns"', ""),
        ("etcd-huge-port", "etcd://a:" + "9" * 30, ""), ("memory", "memory://", ""), ("memory-path", "memory://x", ""),
        ("http-empty", "http://", ""), ("file-url", "file:///tmp/kob.db", ""), ("empty", '""', ""),
        ("list", "[a.db]", ""), ("mapping", "{a: 1}", ""), ("missing-folder", "nosuchdir/kob.db", ""),
        ("dot", ".", ""), ("trailing-slash", "sub/", ""), ("root", "/", ""), ("tilde", "~", ""),
        ("existing-folder", "sub", ""), ("nul", '"kob\\0.db"', ""), ("dev-null", "/dev/null", ""),
        ("fifo", "fifo", ""), ("sqlite-nul", '"sqlite:///tmp/kob\\0.db"', ""), ("name-too-long", "/" + "a" * 5000, ""),
        ("unknown-user-home", "~nosuchuser/kob.db", "")]),
]

CONTROL_SECTIONS = [
    R("retention-zero", head("metrics: {retention: 0}"), 4, "retention"),
    R("retention-forever", head("metrics: {retention: forever}"), 4, "retention"),
    R("retention-1e400", head("metrics: {retention: 1e400}"), 4, "retention"),
    R("retention-null", head("metrics: {retention: ~}"), 4, "retention"),
    R("metrics-list", head("metrics: [1h]"), 4, "metrics"),
    R("metrics-scalar", head("metrics: 1h"), 4, "metrics"),
    R("down-after-negative", head("heal: {down_after: -1}"), 4, "down_after"),
    R("down-after-1000h", head("heal: {down_after: 1000h}"), 4, "down_after"),
    R("heal-unknown-key", head("heal: {down_after: 60s, retries: 3}"), 4, "retries"),
    R("typo-servics", head("servics: {}"), 4, "services"),
    R("capital-hosts", doc("ssh: {known_hosts: kh}", "Hosts: {vm1: {address: 127.0.0.1}}"), 2, "Hosts"),
    R("compose-version", head("version: '3'"), 4, "version"),
    R("ansible-vars", head("vars: {a: 1}"), 4, "vars"),
]

SERVICES = [
    R("services-list", head("services: [web]"), 4, "services"),
    R("services-scalar", head("services: web"), 4, "services"),
    R("service-scalar", head("services:", "  web: nginx:1"), 5, "web"),
    *(R(f"service-name-{name}", head("services:", f"  {key}: {{image: nginx:1}}"), 5) for name, key in [
        ("uppercase", "Web"), ("underscore", "web_1"), ("41-characters", "w" * 41), ("all", "all"),
        ("dash-first", "-web"), ("newline", '"we\\nb"'), ("accent", "wéb"), ("escape", '"\\e[1mweb"')]),
    R("image-missing", web("replicas: 1"), 5, "image"),
    *(R(f"image-{name}", web(f"image: {value}"), 6, "image") for name, value in [
        ("empty", '""'), ("space", '"nginx latest"'), ("trailing-colon", "'nginx:'"), ("option", "--privileged"),
        ("shell", '"nginx;touch MARKER"'), ("substitution", '"$(touch MARKER)"'), ("list", "[nginx]"),
        ("newline", '"nginx\\n"'), ("null", "~")]),
    *(R(f"replicas-{name}", web("image: nginx:1", f"replicas: {value}"), 7, "replicas") for name, value in [
        ("negative", "-1"), ("1001", "1001"), ("word", "abc"), ("fraction", "1.5"), ("quoted", '"3"'),
        ("1e400", "1e400"), ("bigint", "9" * 30), ("null", "~")]),
    *(R(f"service-port-{name}", web("image: nginx:1", f"port: {value}"), 7, "port") for name, value in [
        ("zero", "0"), ("70000", "70000"), ("quoted", '"80"'), ("list", "[80]")]),
    *(R(f"command-{name}", web("image: nginx:1", f"command: {value}"), 7, "command") for name, value in [
        ("empty", '""'), ("empty-list", "[]"), ("unclosed-quote", "\"sh -c 'unclosed\""), ("mapping", "{a: 1}"),
        ("nested-list", "[[x]]"), ("empty-first-word", '["", x]')]),
    *(R(f"env-{name}", web("image: nginx:1", f"env: {value}"), 7, "env") for name, value in [
        ("list", "[A=1]"), ("digit-name", '{"1BAD": x}'), ("space-name", '{"A B": x}'), ("list-value", "{A: [1]}"),
        ("mapping-value", "{A: {b: c}}"), ("null-value", "{A: ~}"), ("scalar", "A=1")]),
    *(R(f"env-file-{name}", web("image: nginx:1", f"env_file: {value}"), 7, "env_file") for name, value in [
        ("missing", "nosuch.env"), ("directory", "sub"), ("dev-zero", "/dev/zero"), ("fifo", "fifo"),
        ("empty", '""'), ("nul", '"web\\0.env"')]),
    *(R(f"volumes-{name}", web("image: nginx:1", f"volumes: {value}"), 7, "volumes") for name, value in [
        ("scalar", "/a:/b"), ("no-target", '["/a"]'), ("target-root", '["/a:/"]'), ("one-letter-name", '["a:/b"]'),
        ("relative-target", '["/a:b"]'), ("bad-mode", '["/a:/b:rx"]'), ("same-target", '["/a:/b", "/c:/b"]'),
        ("four-parts", '["/a:/b:ro:x"]'), ("dotdot-source", '["../../etc:/etc"]'), ("mapping", "{a: b}")]),
    *(R(f"healthcheck-{name}", web("image: nginx:1", "port: 80", f"healthcheck: {value}"), 8, "healthcheck")
      for name, value in [
        ("empty", "{}"), ("both", "{http: /h, command: [true]}"), ("path-without-slash", "{http: healthz}"),
        ("path-with-space", '{http: "/a b"}'), ("interval-zero", "{http: /h, interval: 0}"),
        ("retries-zero", "{http: /h, retries: 0}"), ("command-empty", '{command: ""}'), ("list", "[/h]"),
        ("timeout-soon", "{http: /h, timeout: soon}"), ("newline-path", '{http: "/h\\nX-Evil: 1"}')]),
    R("healthcheck-http-without-port", web("image: nginx:1", "healthcheck: {http: /h}"), 7, "port"),
    *(R(f"resources-{name}", web("image: nginx:1", f"resources: {value}"), 7, "resources") for name, value in [
        ("cpus-zero", "{cpus: 0}"), ("cpus-2000", "{cpus: 2000}"), ("cpus-nan", "{cpus: .nan}"),
        ("memory-1m", "{memory: 1m}"), ("memory-lots", "{memory: lots}"), ("memory-2tb", "{memory: 2tb}"),
        ("scalar", "big")]),
    *(R(f"restart-{name}", web("image: nginx:1", f"restart: {value}"), 7, "restart") for name, value in [
        ("sometimes", "sometimes"), ("on-failure-zero", "on-failure:0"), ("on-failure-word", "on-failure:x"),
        ("bool", "false"), ("list", "[always]")]),
    *(R(f"placement-{name}", web("image: nginx:1", f"placement: {value}"), 7, "placement") for name, value in [
        ("hosts-unknown", "{hosts: nosuch}"), ("strategy-random", "{strategy: random}"),
        ("constraint-single-equals", '{constraints: ["zone=a"]}'), ("constraint-unknown-label", '{constraints: ["x==y"]}'),
        ("max-per-host-zero", "{max_per_host: 0}"), ("hosts-empty", '{hosts: ""}'), ("hosts-excludes-all", '{hosts: "!vm1"}'),
        ("constraints-scalar", "{constraints: zone==a}")]),
    *(R(f"update-{name}", web("image: nginx:1", f"update: {value}"), 7, "update") for name, value in [
        ("parallelism-zero", "{parallelism: 0}"), ("order-random", "{order: random}"),
        ("failure-action-explode", "{failure_action: explode}"), ("monitor-negative", "{monitor: -1}")]),
    *(R(f"autoscale-{name}", web("image: nginx:1", f"autoscale: {value}"), 7, "autoscale") for name, value in [
        ("min-zero", "{min: 0, max: 2, cpu: 50}"), ("max-below-min", "{min: 5, max: 2, cpu: 50}"),
        ("no-target", "{min: 1, max: 2}"), ("memory-without-limit", "{min: 1, max: 2, memory: 50}"),
        ("cpu-zero", "{min: 1, max: 2, cpu: 0}"), ("cpu-101", "{min: 1, max: 2, cpu: 101}"),
        ("tolerance-2", "{min: 1, max: 2, cpu: 50, tolerance: 2}"), ("max-step-zero", "{min: 1, max: 2, cpu: 50, max_step: 0}"),
        ("max-1001", "{min: 1, max: 1001, cpu: 50}"), ("window-soon", "{min: 1, max: 2, cpu: 50, scale_down_window: soon}")]),
    R("replicas-outside-autoscale", web("image: nginx:1", "replicas: 9", "autoscale: {min: 1, max: 2, cpu: 50}"), 7,
      "replicas"),
    R("service-compose-ports", web("image: nginx:1", "ports: [80]"), 7, "ports"),
    R("service-image-twice", web("image: nginx:1", "image: nginx:2"), 7, "image"),
]

LB = [
    R("lb-list", lb("lb: [web]"), 7, "lb"),
    R("lb-without-frontends", lb("lb: {}"), 7, "frontends"),
    R("lb-no-frontends", lb("lb: {frontends: {}}"), 7, "frontends"),
    R("lb-hosts-unknown", lb("lb:", "  hosts: nosuch", "  frontends: {http: {bind: 80, default: web}}"), 8, "hosts"),
    R("lb-hosts-without-role", lb("lb:", "  hosts: lb:!vm1", "  frontends: {http: {bind: 80, default: web}}"), 8),
    R("lb-balance-random", lb("lb:", "  balance: random", "  frontends: {http: {bind: 80, default: web}}"), 8, "balance"),
    R("lb-unknown-key", lb("lb:", "  backends: {}", "  frontends: {http: {bind: 80, default: web}}"), 8, "backends"),
    R("lb-default-role-missing", head("services: {web: {image: nginx:1, port: 80}}",
                                      "lb: {frontends: {http: {bind: 80, default: web}}}"), 5, "lb"),
    *(R(f"frontend-{name}", frontend(text), 9, what) for name, text, what in [
        ("bind-zero", "http: {bind: 0, default: web}", "bind"),
        ("bind-in-replica-ports", "http: {bind: 20000, default: web}", "bind"),
        ("bind-quoted", 'http: {bind: "80", default: web}', "bind"),
        ("bind-1e400", "http: {bind: 1e400, default: web}", "bind"),
        ("bind-missing", "http: {default: web}", "bind"),
        ("default-unknown", "http: {bind: 80, default: nosuch}", "nosuch"),
        ("default-without-port", "http: {bind: 80, default: noport}", "noport"),
        ("sends-nowhere", "http: {bind: 80}", "http"),
        ("name-uppercase", "HTTP: {bind: 80, default: web}", "HTTP"),
        ("scalar", "http: 80", "http"),
        ("route-empty", "http: {bind: 80, routes: [{}]}", "routes"),
        ("route-without-service", "http: {bind: 80, routes: [{path: /a}]}", "service"),
        ("route-host-with-port", "http: {bind: 80, routes: [{host: 'a.example:80', service: web}]}", "port"),
        ("route-host-space", "http: {bind: 80, routes: [{host: 'a b', service: web}]}", "host"),
        ("route-path-without-slash", "http: {bind: 80, routes: [{path: api, service: web}]}", "path"),
        ("route-path-query", "http: {bind: 80, routes: [{path: '/a?b', service: web}]}", "path"),
        ("route-path-newline", 'http: {bind: 80, routes: [{path: "/a\\nb", service: web}]}', "path"),
        ("routes-scalar", "http: {bind: 80, routes: /a}", "routes"),
        ("route-twice", "http: {bind: 80, routes: [{path: /a, service: web}, {path: /a, service: web}]}", "routes"),
        ("route-unknown-key", "http: {bind: 80, routes: [{prefix: /a, service: web}]}", "prefix")]),
    R("frontend-bind-twice", lb("lb:", "  frontends:", "    a: {bind: 80, default: web}", "    b: {bind: 80, default: web}"),
      10, "bind"),
]

JOBS = [
    R("jobs-list", head("jobs: [hello]"), 4, "jobs"),
    R("job-name-uppercase", head("jobs:", "  Hello: {image: busybox:1}"), 5, "Hello"),
    R("job-image-missing", job("retries: 1"), 5, "image"),
    R("job-scalar", head("jobs:", "  hello: busybox:1"), 5, "hello"),
    *(R(f"job-{name}", job("image: busybox:1", text), 7, text.partition(":")[0]) for name, text in [
        ("env-two-lines", 'env: {A: "x\\ny"}'), ("env-name", "env: {1A: b}"), ("env-file", "env_file: web.env"),
        ("cpus-zero", "cpus: 0"),
        ("memory-lots", "memory: lots"), ("retries-negative", "retries: -1"), ("timeout-zero", "timeout: 0"),
        ("timeout-soon", "timeout: soon"), ("backoff-negative", "backoff: -1"), ("priority-1e400", "priority: 1e400"),
        ("priority-word", "priority: high"), ("constraint-bad", 'constraints: ["x"]'),
        ("retries-1e400", "retries: 1e400"), ("priority-bigint", "priority: 99999999999"),
        ("command-unclosed-quote", "command: \"sh -c 'x\""), ("unknown-key", "replicas: 2")]),
]

INVENTORY_GROUPS = {"yaml-syntax": YAML_SYNTAX, "hosts": HOSTS, "ssh": SSH, "groups": GROUPS, "state": STATE,
                    "control": CONTROL_SECTIONS, "services": SERVICES, "lb": LB, "jobs": JOBS}
INVENTORY_CASES = [pytest.param(case, id=f"{group}:{case.id}") for group, cases in INVENTORY_GROUPS.items()
                   for case in cases]


def group_chain(length: int) -> str:
    return head("groups:", *(f"  g{n}: [g{n + 1}]" for n in range(length)), f"  g{length}: [vm1]")


def group_diamond(levels: int) -> str:
    lines = [f"  g{n}: [a{n}, b{n}]\n  a{n}: [g{n + 1}]\n  b{n}: [g{n + 1}]" for n in range(levels)]
    return head("groups:", *lines, f"  g{levels}: [vm1]")


INVENTORY_LOADS = [  # odd but valid: the inventory loads, and the run ends at the unreachable host
    ("utf8-bom", "\ufeff" + HEAD),
    ("crlf-line-ends", HEAD.replace("\n", "\r\n")),
    ("cr-line-ends", HEAD.replace("\n", "\r")),
    ("unicode-label-value", vm1_at("labels: {city: München, note: 日本}")),
    ("label-value-shell", vm1_at("labels: {x: '$(touch MARKER)'}")),
    ("group-chain-2000", group_chain(2000)),
    ("group-diamond-40", group_diamond(40)),
    ("state-etcd-refused", head("state: etcd://127.0.0.1:9", "services: {web: {image: nginx:1}}")),
    ("state-not-a-database", head("state: inv.yaml", "services: {web: {image: nginx:1}}")),
    ("many-hosts", doc("ssh: {known_hosts: kh}", "hosts:",
                       *(f"  vm{n}: {{address: 127.0.0.1, port: {n + 10}}}" for n in range(300)))),
    ("empty-optional-sections", head("groups:", "services:", "jobs:", "metrics:", "heal:")),
    ("merge-keys", head("services:", "  base: &base {image: nginx:1, port: 80}", "  web: {<<: *base, replicas: 2}")),
]

ENV_FILES = [  # (id, content, the line the error names, or None when the file is fine)
    ("export-prefix", b"export A=1\n", 1),
    ("spaces-around-equals", b"A = 1\n", 1),
    ("no-name", b"=value\n", 1),
    ("digit-first", b"1A=x\n", 1),
    ("second-line-bad", b"A=1\nB C\n", 2),
    ("not-utf8", b"A=\xff\xfe\n", 1),
    ("nul-in-value", b"A=x\x00y\n", 1),
    ("escape-line", b"A=1\n\x1b[2J\n", 2),
    ("secret-in-bad-line", b"PASSWORD hunter2secret\n", 1),
    ("over-256-kib", b"A=1\n" * 70_000, None),
    ("utf8-bom", b"\xef\xbb\xbfA=1\n", None),
    ("crlf", b"A=1\r\nB=2\r\n", None),
    ("form-feed-in-value", b"A=1\x0cnot valid\n", None),
    ("line-separator-in-value", "A=1\u2028B C\n".encode(), None),
    ("carriage-return-in-value", b"A=1\rB C\n", None),
    ("empty", b"", None),
    ("only-comments", b"# c\n\n  # d\n", None),
    ("name-alone", b"A\n", None),
    ("leading-spaces", b"  A=1\n", None),
    ("no-final-newline", b"A=1\nB", None),
]
ENV_SECRET = "hunter2secret"
ENV_INVENTORY = head("services:", "  web: {image: nginx:1, env_file: web.env}")

PLAY = "- hosts: all\n  gather_facts: false\n  tasks:\n"  # tasks from line 4


def play(*lines: str) -> str:
    """A play on all hosts without facts; ``lines`` (tasks) from line 4."""
    return PLAY + doc(*lines)


def play_with(*keys: str) -> str:
    """A play whose keys after hosts: (line 1) and gather_facts: (line 2) are ``keys`` from line 3."""
    return doc("- hosts: all", "  gather_facts: false", *(f"  {k}" for k in keys))


DEEP_VARS = doc("- hosts: all", "  gather_facts: false", "  vars:",
                *(f"    a{n}: &a{n} " + "[" * 58 + (f"*a{n - 1}" if n else "1") + "]" * 58 for n in range(75)),
                "  tasks:", "    - debug: {msg: ok}")

PLAYBOOKS = [
    R("empty-playbook", "", None, "empty"),
    R("no-plays", "[]\n", 1, "play"),
    R("mapping-not-list", "hosts: all\ntasks: []\n", 1),
    R("scalar-playbook", "run everything\n", 1),
    R("play-without-hosts", "- tasks: []\n", 1, "hosts"),
    R("hosts-empty-list", "- hosts: []\n  tasks: []\n", 1, "hosts"),
    R("hosts-unknown", "- hosts: nosuch\n  tasks: []\n", 1, "nosuch"),
    R("hosts-number", "- hosts: 123\n  tasks: []\n", 1, "123"),
    R("hosts-jinja", f"- hosts: \"{{{{ lipsum.__globals__.{POPEN} }}}}\"\n  tasks: []\n", 1),
    R("hosts-mapping", "- hosts: {a: 1}\n  tasks: []\n", 1, "hosts"),
    R("play-unknown-key", "- hostz: all\n  tasks: []\n", 1, "hostz"),
    R("play-roles", play_with("roles: [common]"), 3, "roles"),
    R("play-vars-prompt", play_with("vars_prompt: []"), 3, "vars_prompt"),
    R("tasks-scalar", play_with("tasks: echo hi"), 3, "tasks"),
    R("tasks-mapping", play_with("tasks: {shell: echo}"), 3, "tasks"),
    R("task-scalar", play("    - shell echo hi"), 4),
    R("task-empty", play("    - {}"), 4, "module"),
    R("task-name-only", play("    - name: nothing"), 4, "module"),
    R("task-two-modules", play("    - shell: echo a", "      command: echo b"), (4, 5), "shell"),
    R("module-typo", play("    - shel: echo hi"), 4, "shell"),
    R("module-raw", play("    - raw: echo hi"), 4, "raw"),
    R("module-collection", play("    - community.general.ufw: {rule: allow}"), 4, "community.general.ufw"),
    R("module-include", play("    - include: other.yaml"), 4, "include"),
    R("include-tasks", play("    - include_tasks: other.yaml"), 4, "include_tasks"),
    R("import-playbook", "- import_playbook: other.yaml\n", 1, "import_playbook"),
    R("copy-not-key-value", play("    - copy: src"), 4, "src"),
    R("copy-key-twice", play("    - copy: dest=/a dest=/b"), 4, "dest"),
    R("copy-unknown-arg", play("    - copy: {nosuch: 1, dest: /a}"), 4, "nosuch"),
    R("file-bad-state", play("    - file: {path: /x, state: exploded}"), 4, "exploded"),
    R("shell-list", play("    - shell: [echo, hi]"), 4, "shell"),
    R("shell-unclosed-key-value", play("    - copy: \"dest='/a\""), 4, "copy"),
    R("args-scalar", play("    - shell: echo", "      args: chdir=/"), 5, "args"),
    R("args-unknown", play("    - shell: echo", "      args: {bad: 1}"), 5, "bad"),
    R("loop-mapping", play("    - debug: {msg: hi}", "      loop: {a: 1}"), 5, "loop"),
    R("loop-unquoted-jinja", play("    - debug: {msg: hi}", "      loop: {{ items }}"), 5, "loop"),
    R("loop-and-with-items", play("    - debug: {msg: hi}", "      loop: [1]", "      with_items: [2]"), 6,
      "with_items"),
    R("when-mapping", play("    - debug: {msg: hi}", "      when: {a: 1}"), 5, "when"),
    R("when-unquoted-jinja", play("    - debug: {msg: hi}", "      when: {{ x }}"), 5, "when"),
    R("when-nested-list", play("    - debug: {msg: hi}", "      when: [[1]]"), 5, "when"),
    R("when-empty", play("    - debug: {msg: hi}", '      when: ""'), 5, "when"),
    R("register-digit-first", play("    - debug: {msg: hi}", "      register: 1bad"), 5, "register"),
    R("register-list", play("    - debug: {msg: hi}", "      register: [x]"), 5, "register"),
    R("register-dash", play("    - debug: {msg: hi}", "      register: a-b"), 5, "register"),
    R("notify-unknown", play("    - debug: {msg: hi}", "      notify: restart nginx"), 5, "restart nginx"),
    R("notify-mapping", play("    - debug: {msg: hi}", "      notify: {a: 1}"), 5, "notify"),
    R("handler-without-name", play_with("tasks: []", "handlers:", "  - debug: {msg: hi}"), 5, "name"),
    R("handler-twice", play_with("tasks: []", "handlers:", "  - {name: h, debug: {msg: a}}",
                                 "  - {name: h, debug: {msg: b}}"), 6, "h"),
    R("ignore-errors-maybe", play("    - debug: {msg: hi}", "      ignore_errors: maybe"), 5, "ignore_errors"),
    R("become-template", play("    - debug: {msg: hi}", "      become: '{{ b }}'"), 5, "become"),
    R("task-name-list", play("    - debug: {msg: hi}", "      name: [a]"), 5, "name"),
    R("tags-mapping", play("    - debug: {msg: hi}", "      tags: {a: 1}"), 5, "tags"),
    R("serial-zero", play_with("serial: 0", "tasks: []"), 3, "serial"),
    R("serial-percent", play_with("serial: 150%", "tasks: []"), 3, "serial"),
    R("serial-1e400", play_with("serial: 1e400", "tasks: []"), 3, "serial"),
    R("gather-facts-list", "- hosts: all\n  gather_facts: [no]\n  tasks: []\n", 2, "gather_facts"),
    R("vars-list", play_with("vars: [a, b]", "tasks: []"), 3, "vars"),
    R("vars-bad-name", play_with('vars: {"SECRET-name-x": 1}', "tasks: []"), 3, "vars", hidden="SECRET-name-x"),
    R("vars-keyword-name", play_with("vars: {class: 1}", "tasks: []"), 3, "vars"),
    R("set-fact-bad-name", play("    - set_fact: {1a: x}"), 4, "set_fact"),
    R("task-key-twice", play("    - shell: echo a", "      shell: echo b"), 5, "shell"),
    R("vars-files-missing", play_with("vars_files: [nosuch.yaml]", "tasks: []"), 3, "vars_files"),
    R("vars-files-directory", play_with("vars_files: [sub]", "tasks: []"), 3, "vars_files"),
    R("vars-files-dev-zero", play_with("vars_files: [/dev/zero]", "tasks: []"), 3, "vars_files"),
    R("vars-files-fifo", play_with("vars_files: [fifo]", "tasks: []"), 3, "vars_files"),
    R("vars-files-number", play_with("vars_files: 5", "tasks: []"), 3, "vars_files"),
    R("vars-files-mapping", play_with("vars_files: {a: b}", "tasks: []"), 3, "vars_files"),
    R("vars-files-nested-list", play_with("vars_files: [[a]]", "tasks: []"), 3, "vars_files"),
    R("vars-files-jinja", play_with(f"vars_files: [\"{{{{ lipsum.__globals__.{POPEN} }}}}\"]", "tasks: []"), 3),
    R("vars-files-a-list", play_with("vars_files: [list.yaml]", "tasks: []"), 1, file="list.yaml"),
    R("vars-files-a-secret", play_with("vars_files: [secret.txt]", "tasks: []"), 1, file="secret.txt",
      hidden="s3cr3t-t0ken-value"),
    R("vars-files-broken-yaml", play_with("vars_files: [broken.yaml]", "tasks: []"), (2, 3), file="broken.yaml"),
    R("vars-files-python-tag", play_with("vars_files: [evilvars.yaml]", "tasks: []"), 1, file="evilvars.yaml"),
    R("vars-files-bad-name", play_with("vars_files: [badname.yaml]", "tasks: []"), 1, file="badname.yaml",
      hidden="SECRET-NAME-x"),
    R("vars-files-bomb", play_with("vars_files: [bomb.yaml]", "tasks: []"), None, "200000", file="bomb.yaml"),
    R("vars-files-the-playbook", play_with("vars_files: [pb.yaml]", "tasks: []"), 1),
]

JINJA = [  # a task (line 4) whose template must be refused at run time (or at load), creating no marker
    ("lipsum-globals", f"debug: {{msg: \"{{{{ lipsum.__globals__.{POPEN} }}}}\"}}"),
    ("cycler-init-globals", f"debug: {{msg: \"{{{{ cycler.__init__.__globals__.{POPEN} }}}}\"}}"),
    ("joiner-init-globals", f"debug: {{msg: \"{{{{ joiner.__init__.__globals__.{POPEN} }}}}\"}}"),
    ("namespace-init-globals", f"debug: {{msg: \"{{{{ namespace.__init__.__globals__.{POPEN} }}}}\"}}"),
    ("subclasses-popen", ("debug: {msg: \"{% for c in ''.__class__.__mro__[1].__subclasses__() %}"
                          "{% if c.__name__ == 'Popen' %}{{ c(['touch', 'MARKER']) }}{% endif %}{% endfor %}\"}")),
    ("self-builtins-import", ("debug: {msg: \"{{ self.__init__.__globals__.__builtins__.__import__('os')"
                              ".system('touch MARKER') }}\"}")),
    ("attr-filter", f"debug: {{msg: \"{{{{ (lipsum|attr('__globals__')).{POPEN} }}}}\"}}"),
    ("attr-concatenated", f"debug: {{msg: \"{{{{ (lipsum|attr('__glo' ~ 'bals__')).{POPEN} }}}}\"}}"),
    ("attr-hex-escaped", f"debug: {{msg: \"{{{{ (lipsum|attr('\\\\x5f\\\\x5fglobals\\\\x5f\\\\x5f')).{POPEN} }}}}\"}}"),
    ("subscript-globals", "debug: {msg: \"{{ lipsum['__globals__']['os'].popen('touch MARKER').read() }}\"}"),
    ("format-globals", "debug: {msg: \"{{ '{0.__globals__[os].system}'.format(lipsum) }}\"}"),
    ("range-self-import", "debug: {msg: \"{{ range.__self__.__import__('os').system('touch MARKER') }}\"}"),
    ("generator-frame", "debug: {msg: \"{{ (range(3)|map('string')).gi_frame.f_globals }}\"}"),
    ("mro-call", "debug: {msg: \"{{ ''.__class__.mro()[1].__subclasses__() }}\"}"),
    ("template-reference-context", ("debug: {msg: \"{{ self._TemplateReference__context.cycler.__init__"
                                    f".__globals__.{POPEN} }}}}\"}}")),
    ("set-then-use", f"debug: {{msg: \"{{% set g = cycler.__init__.__globals__ %}}{{{{ g.{POPEN} }}}}\"}}"),
    ("lookup-pipe", "debug: {msg: \"{{ lookup('pipe', 'touch MARKER') }}\"}"),
    ("query-pipe", "debug: {msg: \"{{ query('pipe', 'touch MARKER') }}\"}"),
    ("pipe-filter", "debug: {msg: \"{{ 'touch MARKER'|pipe }}\"}"),
    ("include-file", "debug: {msg: \"{% include '/etc/passwd' %}\"}"),
    ("import-module", "debug: {msg: \"{% import 'os' as os %}{{ os.system('touch MARKER') }}\"}"),
    ("when-globals", f"debug: {{msg: hi}}\n      when: \"lipsum.__globals__.{POPEN}\""),
    ("when-braced", f"debug: {{msg: hi}}\n      when: \"{{{{ lipsum.__globals__.{POPEN} }}}}\""),
    ("changed-when", f"debug: {{msg: hi}}\n      changed_when: \"lipsum.__globals__.{POPEN}\""),
    ("failed-when", f"debug: {{msg: hi}}\n      failed_when: \"cycler.__init__.__globals__.{POPEN}\""),
    ("loop-globals", f"debug: {{msg: hi}}\n      loop: \"{{{{ lipsum.__globals__.{POPEN}.split() }}}}\""),
    ("with-items-globals", f"debug: {{msg: hi}}\n      with_items: \"{{{{ joiner.__init__.__globals__.{POPEN} }}}}\""),
    ("shell-cmd", f"shell: \"{{{{ lipsum.__globals__.{POPEN} }}}}\""),
    ("command-argv", f"command: {{argv: [\"{{{{ lipsum.__globals__.{POPEN} }}}}\"]}}"),
    ("copy-content", f"copy: {{dest: /tmp/x, content: \"{{{{ lipsum.__globals__.{POPEN} }}}}\"}}"),
    ("set-fact-value", f"set_fact: {{y: \"{{{{ lipsum.__globals__.{POPEN} }}}}\"}}"),
    ("assert-that", f"assert: {{that: [\"lipsum.__globals__.{POPEN}\"]}}"),
    ("template-file", "template: {src: evil.j2, dest: /tmp/x}"),
    ("template-binary-file", "template: {src: binary.j2, dest: /tmp/x}"),
    ("template-missing-file", "template: {src: nosuch.j2, dest: /tmp/x}"),
    ("mutate-list", "debug: {msg: \"{{ [1].append(2) }}\"}"),
    ("undefined-variable", "debug: {msg: \"{{ nosuch }}\"}"),
    ("when-syntax-error", "debug: {msg: hi}\n      when: \"x ===\""),
    ("loop-not-a-list", "debug: {msg: hi}\n      loop: \"5\""),
    ("power-bomb", "debug: {msg: \"{{ 9 ** (9 ** 9) }}\"}"),
    ("range-bomb", "debug: {msg: \"{{ range(10 ** 9)|list }}\"}"),
    ("repeat-bomb", "debug: {msg: \"{{ 'x' * 10 ** 10 }}\"}"),
    ("width-bomb", "debug: {msg: \"{{ '%999999999d' % 1 }}\"}"),
    ("center-bomb", "debug: {msg: \"{{ 'a'.center(10 ** 9) }}\"}"),
    ("replace-bomb", "debug: {msg: \"{{ ('a' * 1000000)" + "|replace('a', 'aaaaaaaaaa')" * 4 + " }}\"}"),
    ("lipsum-bomb", "debug: {msg: \"{{ lipsum(10 ** 6) }}\"}"),
    ("nested-loop-bomb", ("debug: {msg: \"{% for i in range(100000) %}{% for j in range(100000) %}x"
                          "{% endfor %}{% endfor %}\"}")),
    ("recursive-macro", "debug: {msg: \"{% macro r(n) %}{{ r(n) }}{% endmacro %}{{ r(1) }}\"}"),
    ("wait-for-timeout-word", "wait_for: {port: 22, timeout: abc}"),
    ("docker-container-without-image", "docker_container: {name: x}"),
    ("copy-without-content", "copy: {dest: /tmp/x}"),
]

PLAYBOOK_DATA = [  # Jinja in values that are data, never templated again: runs, prints it, makes no marker
    ("extra-var-key-value", play("    - debug: {msg: \"{{ x }}\"}"),
     ("-e", f'x="{{{{ lipsum.__globals__.{POPEN} }}}}"')),
    ("extra-var-json", play("    - debug: {msg: \"{{ x }}\"}"),
     ("-e", f'{{"x": "{{{{ cycler.__init__.__globals__.{POPEN} }}}}"}}')),
    ("debug-var-expression", play(f"    - debug: {{var: \"lipsum.__globals__.{POPEN}\"}}"), ()),
    ("raw-block-fact", play(f"    - set_fact: {{y: \"{{% raw %}}{{{{ lipsum.__globals__.{POPEN} }}}}{{% endraw %}}\"}}",
                            "    - debug: {msg: \"{{ y }}\"}"), ()),
]

PLAYBOOK_VARS = [  # Jinja in the playbook's own variables is templated when used, as Ansible does: in the sandbox
    ("task-vars", play("    - debug: {msg: \"{{ x }}\"}", f"      vars: {{x: \"{{{{ lipsum.__globals__.{POPEN} }}}}\"}}")),
    ("play-vars", play_with(f"vars: {{x: \"{{{{ lipsum.__globals__.{POPEN} }}}}\"}}", "tasks:",
                            "  - debug: {msg: \"{{ x }}\"}")),
    ("vars-file-values", play_with("vars_files: [jinja_vars.yaml]", "tasks:", "  - debug: {msg: \"{{ x }}\"}")),
]

PLAYBOOK_DEEP = [  # valid but deep through aliases: loads and runs, or is refused in one line; no traceback
    ("vars-alias-chain-4350-deep", DEEP_VARS),
]

U, E = 2, 1  # a usage error (click's Error: line), a kob error (one line)
COMMAND_LINES = [  # (id, arguments, exit code or None for either, what the error must name: any of these)
    ("scale-word", ("scale", "inv.yaml", "web=abc"), U, ("web=abc",)),
    ("scale-negative", ("scale", "inv.yaml", "web=-1"), U, ("web=-1",)),
    ("scale-empty-count", ("scale", "inv.yaml", "web="), U, ("web=",)),
    ("scale-no-equals", ("scale", "inv.yaml", "web"), U, ("web",)),
    ("scale-billion", ("scale", "inv.yaml", "web=1000000000"), E, ("web",)),
    ("scale-bigint", ("scale", "inv.yaml", "web=" + "9" * 30), E, ("web",)),
    ("scale-superscript-digit", ("scale", "inv.yaml", "web=²"), None, ("web",)),
    ("scale-unknown-service", ("scale", "inv.yaml", "nosuch=3"), E, ("nosuch",)),
    ("scale-no-name", ("scale", "inv.yaml", "=3"), None, ("=3", "''")),
    ("scale-beyond-autoscale", ("scale", "inv.yaml", "api=10"), E, ("api",)),
    ("scale-below-autoscale", ("scale", "inv.yaml", "api=0"), E, ("api",)),
    ("scale-second-bad", ("scale", "inv.yaml", "web=1", "web=x"), U, ("web=x",)),
    ("scale-newline", ("scale", "inv.yaml", "web=1\n"), U, ("web=1",)),
    ("scale-nothing", ("scale", "inv.yaml"), U, ("COUNTS",)),
    ("submit-count-100000", ("job", "submit", "inv.yaml", "-t", "hello", "--count", "100000"), E, ("--count",)),
    ("submit-count-zero", ("job", "submit", "inv.yaml", "-t", "hello", "--count", "0"), U, ("--count",)),
    ("submit-count-word", ("job", "submit", "inv.yaml", "-t", "hello", "--count", "abc"), U, ("--count",)),
    ("submit-count-negative", ("job", "submit", "inv.yaml", "-t", "hello", "--count=-5"), U, ("--count",)),
    ("submit-count-exponent", ("job", "submit", "inv.yaml", "-t", "hello", "--count", "1e3"), U, ("--count",)),
    ("submit-nothing", ("job", "submit", "inv.yaml"), E, ("--image",)),
    ("submit-template-unknown", ("job", "submit", "inv.yaml", "-t", "nosuch"), E, ("nosuch",)),
    *((f"submit-{name}", ("job", "submit", "inv.yaml", "--image", "busybox:1", *args), code, names)
      for name, args, code, names in [
        ("image-space", ("--image", "bad image"), E, ("image",)),
        ("image-empty", ("--image", ""), E, ("image",)),
        ("image-option", ("--image=--privileged",), E, ("image",)),
        ("cpus-word", ("--cpus", "abc"), U, ("--cpus",)),
        ("cpus-nan", ("--cpus", "nan"), E, ("cpus",)),
        ("cpus-inf", ("--cpus", "inf"), E, ("cpus",)),
        ("cpus-1e400", ("--cpus", "1e400"), E, ("cpus",)),
        ("cpus-negative", ("--cpus=-1",), E, ("cpus",)),
        ("cpus-zero", ("--cpus", "0"), E, ("cpus",)),
        ("memory-lots", ("--memory", "lots"), E, ("memory",)),
        ("memory-terabyte", ("--memory", "1t"), E, ("memory",)),
        ("memory-one-byte", ("--memory", "1"), E, ("memory",)),
        ("timeout-soon", ("--timeout", "soon"), E, ("timeout",)),
        ("timeout-negative", ("--timeout=-5",), E, ("timeout",)),
        ("timeout-zero", ("--timeout", "0"), E, ("timeout",)),
        ("timeout-1e400", ("--timeout", "1e400"), E, ("timeout",)),
        ("backoff-negative", ("--backoff=-1s",), E, ("backoff",)),
        ("retries-negative", ("--retries=-1",), E, ("retries",)),
        ("retries-huge", ("--retries", "99999999999"), E, ("retries",)),
        ("retries-word", ("--retries", "abc"), U, ("--retries",)),
        ("priority-1e400", ("--priority", "1e400"), U, ("--priority",)),
        ("priority-huge", ("--priority", "99999999999"), E, ("priority",)),
        ("constraint-single-equals", ("--constraint", "zone=a"), E, ("zone=a", "constraint")),
        ("constraint-unknown-label", ("--constraint", "nosuch==x"), E, ("nosuch",)),
        ("name-space", ("--name", "Bad Name"), E, ("Bad Name",)),
        ("name-newline", ("--name", "a\nb"), E, ("a\\nb",)),
        ("name-all", ("--name", "all"), E, ("all",)),
        ("name-substitution", ("--name", "$(touch MARKER)"), E, ("$(touch",)),
        ("yaml-in-command", ("--", "{a: !!python/object/apply:os.system [touch MARKER]}"), 0, ()),
      ]),
    ("job-show-word", ("job", "show", "inv.yaml", "abc"), U, ("JOB_ID", "abc")),
    ("job-show-unknown", ("job", "show", "inv.yaml", "999999"), E, ("999999",)),
    ("job-show-bigint", ("job", "show", "inv.yaml", "9" * 30), E, ("9" * 30,)),
    ("job-show-negative", ("job", "show", "inv.yaml", "-1"), U, ("-1",)),
    ("job-cancel-unknown", ("job", "cancel", "inv.yaml", "123456"), E, ("123456",)),
    ("job-logs-unknown", ("job", "logs", "inv.yaml", "5"), E, ("5",)),
    ("job-dispatch-every-zero", ("job", "dispatch", "inv.yaml", "--every", "0"), U, ("--every",)),
    ("job-dispatch-every-nan", ("job", "dispatch", "inv.yaml", "--until-done", "--every", "nan"), U, ("--every",)),
    ("run-e-unclosed-quote", ("run", "pb.yaml", "-i", "inv.yaml", "-e", "x='abc"), E, ("-e",)),
    ("run-e-broken-json", ("run", "pb.yaml", "-i", "inv.yaml", "-e", '{"a": 1'), E, ("-e",)),
    ("run-e-json-list", ("run", "pb.yaml", "-i", "inv.yaml", "-e", "[1, 2]"), E, ("-e",)),
    ("run-e-json-bad-name", ("run", "pb.yaml", "-i", "inv.yaml", "-e", '{"1a": 2}'), E, ("-e",)),
    ("run-e-bad-name", ("run", "pb.yaml", "-i", "inv.yaml", "-e", "1a=2"), E, ("-e",)),
    ("run-e-no-name", ("run", "pb.yaml", "-i", "inv.yaml", "-e", "=x"), E, ("-e",)),
    ("run-e-at-file", ("run", "pb.yaml", "-i", "inv.yaml", "-e", "@vars.yaml"), E, ("-e",)),
    ("run-e-deep-json", ("run", "pb.yaml", "-i", "inv.yaml", "-e", '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"),
     E, ("-e",)),
    ("run-limit-unknown", ("run", "pb.yaml", "-i", "inv.yaml", "--limit", "nosuch"), E, ("--limit", "nosuch")),
    ("run-limit-empty", ("run", "pb.yaml", "-i", "inv.yaml", "--limit", ""), E, ("--limit", "empty")),
    ("run-limit-excludes-all", ("run", "pb.yaml", "-i", "inv.yaml", "--limit", "!vm1"), E, ("--limit", "!vm1")),
    ("run-playbook-missing", ("run", "nosuch.yaml", "-i", "inv.yaml"), E, ("nosuch.yaml",)),
    ("run-without-inventory", ("run", "pb.yaml"), U, ("-i", "--inventory")),
    ("run-inventory-missing", ("run", "pb.yaml", "-i", "nosuch.yaml"), E, ("nosuch.yaml",)),
    ("run-playbook-as-inventory", ("run", "pb.yaml", "-i", "pb.yaml"), E, ("pb.yaml:1",)),
    ("run-inventory-as-playbook", ("run", "inv.yaml", "-i", "inv.yaml"), E, ("inv.yaml:1",)),
    ("run-playbook-fifo", ("run", "fifo", "-i", "inv.yaml"), E, ("fifo",)),
    ("exec-hosts-unknown", ("exec", "inv.yaml", "uptime", "--hosts", "nosuch"), E, ("--hosts", "nosuch")),
    ("exec-hosts-empty", ("exec", "inv.yaml", "uptime", "--hosts", ""), E, ("--hosts", "empty")),
    ("exec-hosts-comma", ("exec", "inv.yaml", "uptime", "--hosts", ","), E, ("--hosts", "','")),
    ("exec-hosts-bang", ("exec", "inv.yaml", "uptime", "--hosts", "!"), E, ("--hosts", "'!'")),
    ("exec-hosts-excludes-all", ("exec", "inv.yaml", "uptime", "--hosts", "vm1:!vm1"), E, ("--hosts", "vm1:!vm1")),
    ("exec-hosts-open-glob", ("exec", "inv.yaml", "uptime", "--hosts", "vm["), E, ("--hosts", "vm[")),
    ("exec-hosts-intersect-unknown", ("exec", "inv.yaml", "uptime", "--hosts", "&nosuch"), E, ("--hosts", "nosuch")),
    ("exec-hosts-100k", ("exec", "inv.yaml", "uptime", "--hosts", "x" * 100_000), E, ("--hosts", "xxxx")),
    ("exec-hosts-escape", ("exec", "inv.yaml", "uptime", "--hosts", "vm1\x1b[2J"), E, ("--hosts", "vm1\\x1b")),
    ("exec-no-command", ("exec", "inv.yaml"), U, ("COMMAND",)),
    ("web-bind-everywhere", ("web", "inv.yaml", "--bind", "0.0.0.0:1"), E, ("--bind",)),
    ("web-bind-word", ("web", "inv.yaml", "--bind", "abc"), E, ("--bind",)),
    ("web-bind-port-zero", ("web", "inv.yaml", "--bind", "127.0.0.1:0"), E, ("--bind",)),
    ("web-bind-port-65536", ("web", "inv.yaml", "--bind", "127.0.0.1:65536"), E, ("--bind",)),
    ("web-bind-ipv6-any", ("web", "inv.yaml", "--bind", "[::]:8080"), E, ("--bind",)),
    ("web-bind-port-only", ("web", "inv.yaml", "--bind", ":8080"), E, ("--bind",)),
    ("web-bind-empty-token", ("web", "inv.yaml", "--bind", "0.0.0.0:8080", "--token", ""), E, ("--bind", "token")),
    ("web-refresh-zero", ("web", "inv.yaml", "--refresh", "0"), U, ("--refresh",)),
    ("web-refresh-word", ("web", "inv.yaml", "--refresh", "abc"), U, ("--refresh",)),
    ("web-inventory-missing", ("web", "nosuch.yaml"), E, ("nosuch.yaml",)),
    ("serve-every-zero", ("serve", "inv.yaml", "--every", "0"), U, ("--every",)),
    ("serve-lease-one", ("serve", "inv.yaml", "--lease", "1"), U, ("--lease",)),
    ("deploy-no-inventory", ("deploy",), U, ("INVENTORY",)),
    ("deploy-wait-word", ("deploy", "inv.yaml", "--wait", "abc"), U, ("--wait",)),
    ("deploy-empty-path", ("deploy", "", "--check"), E, ("''", "empty", "no inventory")),
    ("deploy-root-folder", ("deploy", "/", "--check"), E, ("/",)),
    ("deploy-dev-zero", ("deploy", "/dev/zero", "--check"), E, ("/dev/zero",)),
    ("deploy-fifo", ("deploy", "fifo", "--check"), E, ("fifo",)),
    ("deploy-proc-environ", ("deploy", "/proc/self/environ", "--check"), E, ("/proc/self/environ",)),
    ("deploy-newline-path", ("deploy", "a\nb.yaml", "--check"), E, ("a\\nb.yaml",)),
    ("deploy-unknown-option", ("deploy", "inv.yaml", "--check", "--nosuch"), U, ("--nosuch",)),
    ("history-unknown-service", ("history", "inv.yaml", "nosuch"), E, ("nosuch",)),
    ("rollback-to-word", ("rollback", "inv.yaml", "web", "--to", "abc"), U, ("--to",)),
    ("rollback-to-negative", ("rollback", "inv.yaml", "web", "--to=-1"), E, ("--to", "-1", "revision")),
    ("rollback-to-bigint", ("rollback", "inv.yaml", "web", "--to", "9" * 30), E, ("--to", "revision")),
    ("logs-tail-negative", ("logs", "inv.yaml", "web", "--tail=-1"), U, ("--tail",)),
    ("logs-unknown-service", ("logs", "inv.yaml", "nosuch"), E, ("nosuch",)),
    ("logs-since-soon", ("logs", "inv.yaml", "web", "--since", "soon"), None, ("--since",)),
    ("events-limit-zero", ("events", "inv.yaml", "-n", "0"), U, ("--limit", "-n")),
    ("events-limit-bigint", ("events", "inv.yaml", "-n", "9" * 30), 0, ()),
    ("unknown-command", ("nosuch",), U, ("nosuch",)),
    ("unknown-global-option", ("--nosuch",), U, ("--nosuch",)),
    ("top-extra-argument", ("top", "inv.yaml", "extra"), U, ("extra",)),
    ("status-inventory-missing", ("status", "nosuch.yaml"), E, ("nosuch.yaml",)),
    ("cron-install-inventory-missing", ("cron", "install", "nosuch.yaml", "--every", "7x"), E, ("nosuch.yaml",)),
]


# -- the tests ---------------------------------------------------------------------------------------------

def refused_at_load(ran: Ran, place: Path, case: Case, file: str) -> None:
    check_sane(ran, place / "MARKER", case.hidden)
    check_names_place(one_error_line(ran), case.file or file, case.line, case.names)


@pytest.mark.parametrize("case", INVENTORY_CASES)
def test_a_broken_inventory_is_one_line_at_its_place(monkeypatch, capsys, place, case):
    write(place / "inv.yaml", case.text)
    ran = run_kob(monkeypatch, capsys, "deploy", "inv.yaml", "--check")
    refused_at_load(ran, place, case, "inv.yaml")


@pytest.mark.parametrize("text", [t for _, t in INVENTORY_LOADS], ids=[i for i, _ in INVENTORY_LOADS])
def test_an_odd_but_valid_inventory_loads(monkeypatch, capsys, place, text):
    write(place / "inv.yaml", text)
    ran = run_kob(monkeypatch, capsys, "deploy", "inv.yaml", "--check")
    check_sane(ran, place / "MARKER")
    assert ran.code in (0, 1, 2) and "kob: error: inv.yaml" not in ran.err, ran.err.strip()[:500]


@pytest.mark.parametrize("content, line", [(c, n) for _, c, n in ENV_FILES], ids=[i for i, _, _ in ENV_FILES])
def test_an_env_file_is_checked_without_being_shown(monkeypatch, capsys, place, content, line):
    write(place / "inv.yaml", ENV_INVENTORY)
    (place / "web.env").write_bytes(content)
    ran = run_kob(monkeypatch, capsys, "deploy", "inv.yaml", "--check")
    check_sane(ran, place / "MARKER", ENV_SECRET)
    if line is None and len(content) <= 256 << 10:
        assert "env_file" not in ran.err, ran.err.strip()[:500]
        return
    error = one_error_line(ran)
    assert "web.env" in error, error
    if line is not None:
        assert re.search(rf"web\.env(?::| line ){line}\b", error), f"does not name line {line}: {error}"


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in PLAYBOOKS])
def test_a_broken_playbook_is_one_line_at_its_place(monkeypatch, capsys, place, case):
    write(place / "inv.yaml", PLAYBOOK_INVENTORY)
    write(place / "pb.yaml", case.text)
    ran = run_kob(monkeypatch, capsys, "run", "pb.yaml", "-i", "inv.yaml")
    refused_at_load(ran, place, case, "pb.yaml")


@pytest.mark.parametrize("task", [t for _, t in JINJA], ids=[i for i, _ in JINJA])
def test_a_hostile_template_is_refused_and_runs_nothing(monkeypatch, capsys, place, task):
    write(place / "inv.yaml", PLAYBOOK_INVENTORY)
    write(place / "pb.yaml", play(f"    - {task}"))
    ran = run_kob(monkeypatch, capsys, "run", "pb.yaml", "-i", "inv.yaml")
    check_sane(ran, place / "MARKER")
    if ran.code == 1:  # refused while loading: one line at the task or at its key
        check_names_place(one_error_line(ran), "pb.yaml", (4, 5))
        return
    assert ran.code == 2, f"exit {ran.code!r}: the task was not refused; stdout ends {ran.out[-400:]!r}"
    failed = [line for line in ran.out.splitlines() if line.startswith(("fatal: [vm1]", "failed: [vm1]"))]
    assert failed and all('"pb.yaml:4: ' in line for line in failed), ran.out[-600:]


@pytest.mark.parametrize("text, extra", [(t, e) for _, t, e in PLAYBOOK_DATA], ids=[i for i, _, _ in PLAYBOOK_DATA])
def test_a_template_in_data_is_shown_not_run(monkeypatch, capsys, place, text, extra):
    write(place / "inv.yaml", PLAYBOOK_INVENTORY)
    write(place / "pb.yaml", text)
    extra = tuple(e.replace("MARKER", str(place / "MARKER")) for e in extra)
    ran = run_kob(monkeypatch, capsys, "run", "pb.yaml", "-i", "inv.yaml", *extra)
    check_sane(ran, place / "MARKER")
    assert ran.code == 0, f"exit {ran.code!r}: {ran.err.strip()[:300]} {ran.out[-400:]!r}"


@pytest.mark.parametrize("text", [t for _, t in PLAYBOOK_VARS], ids=[i for i, _ in PLAYBOOK_VARS])
def test_a_template_in_the_playbooks_vars_is_refused_by_the_sandbox(monkeypatch, capsys, place, text):
    write(place / "inv.yaml", PLAYBOOK_INVENTORY)
    write(place / "pb.yaml", text)
    ran = run_kob(monkeypatch, capsys, "run", "pb.yaml", "-i", "inv.yaml")
    check_sane(ran, place / "MARKER")
    failed = [line for line in ran.out.splitlines() if line.startswith("fatal: [vm1]")]
    assert ran.code == 2 and len(failed) == 1 and "is unsafe" in failed[0], ran.out[-400:]


@pytest.mark.parametrize("text", [t for _, t in PLAYBOOK_DEEP], ids=[i for i, _ in PLAYBOOK_DEEP])
def test_a_deep_but_small_playbook_runs_or_is_refused_in_one_line(monkeypatch, capsys, place, text):
    write(place / "inv.yaml", PLAYBOOK_INVENTORY)
    write(place / "pb.yaml", text)
    ran = run_kob(monkeypatch, capsys, "run", "pb.yaml", "-i", "inv.yaml")
    check_sane(ran, place / "MARKER")
    if ran.code != 0:
        check_names_place(one_error_line(ran), "pb.yaml", None)


@pytest.mark.parametrize("args, code, names", [(a, c, n) for _, a, c, n in COMMAND_LINES],
                         ids=[i for i, _, _, _ in COMMAND_LINES])
def test_a_bad_command_line_is_refused_naming_the_option(monkeypatch, capsys, place, args, code, names):
    write(place / "inv.yaml", CLI_INVENTORY)
    args = tuple(a.replace("MARKER", str(place / "MARKER")) for a in args)
    ran = run_kob(monkeypatch, capsys, *args)
    check_sane(ran, place / "MARKER")
    if code == 0:
        assert ran.code == 0, ran.err.strip()[:300]
        return
    if code == U or (code is None and ran.code == 2):
        check_usage(ran, names)
        return
    line = one_error_line(ran)
    assert any(n in line for n in names), f"does not name any of {names}: {line}"


def test_the_corpus_is_large_and_its_ids_unique():
    ids = ([p.id for p in INVENTORY_CASES] + [i for i, _ in INVENTORY_LOADS] + [f"env:{i}" for i, _, _ in ENV_FILES]
           + [f"pb:{c.id}" for c in PLAYBOOKS] + [f"jinja:{i}" for i, _ in JINJA]
           + [f"data:{i}" for i, _, _ in PLAYBOOK_DATA] + [f"deep:{i}" for i, _ in PLAYBOOK_DEEP]
           + [f"cli:{i}" for i, _, _, _ in COMMAND_LINES])
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert len(ids) >= 220
