"""Reading YAML is bounded: bombs, deep nesting, huge files and non-files end at once with one line."""

from __future__ import annotations

import os
import time

import pytest

from kob.errors import SpecError
from kob.spec.inventory import load_inventory
from kob.spec.yaml_source import MAX_BYTES, MAX_DEPTH, MAX_VALUES, parse_yaml

HOSTS = "hosts:\n  vm1: {address: 198.18.0.11}\n"
HANG = 10  # seconds: far beyond what any case takes; only a hang reaches it


def laughs(levels: int, width: int = 10) -> str:
    lines = [f"  a0: &a0 [{', '.join(['x'] * width)}]"]
    lines += [f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, levels)]
    return HOSTS + "x:\n" + "\n".join(lines) + "\n"


def merges(levels: int) -> str:
    lines = ["  m0: &m0 {k0: 1, k1: 2}"]
    lines += [f"  m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}], a{i}: *m{i - 1}, b{i}: *m{i - 1}}}" for i in range(1, levels)]
    return HOSTS + "x:\n" + "\n".join(lines) + "\n"


# (id, file text, the error's tail)
REFUSED = [
    ("billion laughs", laughs(9), f"inventory.yaml:9: with its aliases and merges expanded this holds more than "
                                  f"{MAX_VALUES} values; kob reads no more"),
    ("wide laughs", laughs(3, 100), "holds more than"),
    ("merge bomb", merges(14), "holds more than"),
    ("alias in itself", HOSTS + "x: &a [1, *a]\n", "inventory.yaml:3: an alias refers to a value that contains it"),
    ("mapping in itself", HOSTS + "x: &a {y: *a}\n", "an alias refers to a value that contains it"),
    ("deep lists", HOSTS + "x: " + "[" * 5000 + "]" * 5000 + "\n",
     f"inventory.yaml:3: values nest more than {MAX_DEPTH} levels deep"),
    ("deep mappings", HOSTS + "x: " + "{a: " * 300 + "1" + "}" * 300 + "\n", "levels deep"),
    ("deep block style", HOSTS + "".join("  " * i + f"k{i}:\n" for i in range(200)) + "  " * 200 + "v\n",
     "levels deep"),
    ("too big", HOSTS + "# padding\n" * (MAX_BYTES // 10 + 1), f"larger than {MAX_BYTES >> 20} MiB"),
]


@pytest.mark.parametrize("text, message", [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_hostile_files_are_refused_at_once(tmp_path, monkeypatch, text, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "inventory.yaml").write_text(text)
    started = time.process_time()
    with pytest.raises(SpecError) as refused:
        load_inventory("inventory.yaml")
    assert time.process_time() - started < HANG  # CPU seconds: other load cannot inflate them
    assert message in str(refused.value) and "\n" not in str(refused.value)


@pytest.mark.parametrize("kind", ["device", "fifo", "directory"])
def test_only_regular_files_are_read(tmp_path, kind):
    if kind == "device":
        path = "/dev/zero"
    elif kind == "fifo":
        path = str(tmp_path / "pipe.yaml")
        os.mkfifo(path)
    else:
        path = str(tmp_path)
    with pytest.raises(SpecError, match="is not a regular file|is a directory"):
        load_inventory(path)


def test_what_stays_within_the_bounds_still_loads():
    shared = "\n".join(f"  s{i}: &s{i} {{image: img, port: {80 + i}}}" for i in range(50))
    text = HOSTS + "x:\n" + shared + "\n  uses: [" + ", ".join(f"*s{i}" for i in range(50)) + "]\n" + \
        "y: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n"
    node = parse_yaml(text, "inventory.yaml")
    assert node.yaml.value[1][0].value == "x"
