"""kob's SSH transport imports asyncssh without starting a process (asyncssh's own search for liboqs runs
ldconfig, gcc and ld) and without its X.509 support, and still finds a library where a package installs it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kob.transport.asyncssh_lib import library_in_folders

PROBE = """
import ctypes.util, sys
searching = ctypes.util.find_library
started = []
sys.addaudithook(lambda event, args: started.append(event) if event in {events!r} else None)
import kob.transport.ssh
print("STARTED", len(started), "RESTORED", ctypes.util.find_library is searching)
print("X509", sorted(name for name in sys.modules if "x509" in name))
"""
PROCESS_EVENTS = ("subprocess.Popen", "os.system", "os.posix_spawn", "os.spawn", "os.exec", "os.fork")


def test_importing_the_transport_starts_no_process_loads_no_x509_and_leaves_find_library_as_it_was():
    done = subprocess.run([sys.executable, "-c", PROBE.format(events=PROCESS_EVENTS)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.stdout.splitlines() == ["STARTED 0 RESTORED True", "X509 []"], done.stderr[-500:]


def test_asyncssh_goes_without_x509_and_no_trace_of_the_blocked_import_is_left():
    probe = ("import sys, kob.transport.ssh, asyncssh.public_key as keys;"
             "print(keys._x509_available, 'asyncssh.crypto.x509' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False)
    assert done.stdout.split() == ["False", "False"], done.stderr[-500:]


def test_the_same_probe_sees_the_processes_a_plain_search_starts():
    probe = PROBE.format(events=PROCESS_EVENTS).replace("import kob.transport.ssh", "ctypes.util.find_library('kobnone')")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False)
    assert int(done.stdout.split()[1]) >= 1, done.stderr[-500:]


@pytest.mark.parametrize("libraries, name, expected", [
    ({"a": ["liboqs.so.5"]}, "oqs", "a/liboqs.so.5"),
    ({"a": ["liboqs.so", "liboqs.so.5"]}, "oqs", "a/liboqs.so"),
    ({"a": [], "b": ["liboqs.so.7"]}, "oqs", "b/liboqs.so.7"),
    ({"a": ["liboqs.so.5"], "b": ["liboqs.so.7"]}, "oqs", "a/liboqs.so.5"),  # the first folder that has it
    ({"a": ["libliboqs.so.1"]}, "liboqs", "a/libliboqs.so.1"),  # as find_library: "lib" + name
    ({"a": ["liboqsx.so.1", "libother.so"]}, "oqs", None),
    ({}, "oqs", None),
])
def test_a_library_is_found_in_the_first_folder_that_has_it(tmp_path, libraries, name, expected):
    for folder, files in libraries.items():
        (tmp_path / folder).mkdir()
        for file in files:
            (tmp_path / folder / file).write_bytes(b"")
    folders = [str(tmp_path / "a"), str(tmp_path / "b")]
    found = library_in_folders(name, folders)
    assert found == (str(tmp_path / expected) if expected else None)


def test_a_folder_pattern_matches_each_multiarch_folder(tmp_path):
    (tmp_path / "x86_64-linux-gnu").mkdir()
    (tmp_path / "x86_64-linux-gnu" / "liboqs.so.5").write_bytes(b"")
    assert library_in_folders("oqs", [f"{tmp_path}/*-linux-*"]) == str(tmp_path / "x86_64-linux-gnu" / "liboqs.so.5")
