"""Who may use a holder's socket: the peer-uid check as a table, the socket file and folder checked on real files,
and where the socket is."""

from __future__ import annotations

import os
import socket
import struct
from pathlib import Path

import pytest

from kob.transport.holder_socket import file_refusal, holder_dir, holder_socket_path, peer_refusal, probe, trusted

ME = os.getuid()


@pytest.mark.parametrize("pid, uid, refused", [
    (123, ME, None),
    (123, ME + 1, f"pid 123 runs as uid {ME + 1}, not {ME}"),
    (7, 65534, f"pid 7 runs as uid 65534, not {ME}"),
])
def test_only_a_peer_of_the_holders_own_uid_is_answered(pid, uid, refused):
    assert peer_refusal(struct.pack("3i", pid, uid, 0), ME) == refused


def test_unreadable_peer_credentials_are_refused():
    assert peer_refusal(b"\x00" * 4, ME) == "its credentials cannot be read"


def test_the_peer_credentials_of_a_real_socket_pair_pass():
    from kob.transport.holder_socket import peer_credentials

    left, right = socket.socketpair(socket.AF_UNIX)
    with left, right:
        assert peer_refusal(peer_credentials(left), ME) is None


@pytest.mark.parametrize("kind, mode, owner, refused", [
    ("socket", 0o600, ME, None),
    ("socket", 0o660, ME, "its mode is 0660, not 0600"),
    ("socket", 0o600, ME + 1000, f"it belongs to uid {ME + 1000}, not {ME}"),
    ("folder", 0o700, ME, None),
    ("folder", 0o755, ME, "its mode is 0755, not 0700"),
    ("folder", 0o700, ME + 1000, f"it belongs to uid {ME + 1000}, not {ME}"),
])
def test_file_checks_as_a_table(kind, mode, owner, refused):
    file_type = 0o140000 if kind == "socket" else 0o040000
    info = os.stat_result((file_type | mode, 0, 0, 1, owner, 0, 0, 0, 0, 0))
    assert file_refusal(info, ME, kind) == refused


def test_a_plain_file_is_no_socket():
    info = os.stat_result((0o100600, 0, 0, 1, ME, 0, 0, 0, 0, 0))
    assert file_refusal(info, ME, "socket") == "it is not a socket"


@pytest.fixture
def listening(tmp_path):
    """A real listening socket, 0600 in a 0700 folder (short path: a socket path has at most 107 bytes)."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="kob-t-", dir="/tmp"))
    os.chmod(folder, 0o700)
    path = folder / "h.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen()
    os.chmod(path, 0o600)
    yield path, server
    server.close()
    path.unlink(missing_ok=True)
    folder.rmdir()


def test_a_private_socket_is_trusted(listening):
    path, _ = listening
    assert trusted(path) is None


@pytest.mark.parametrize("change, refused", [
    (lambda p: os.chmod(p, 0o666), "its mode is 0666, not 0600"),
    (lambda p: os.chmod(p.parent, 0o755), "its mode is 0755, not 0700"),
])
def test_a_socket_or_folder_open_to_others_is_not_used(listening, change, refused):
    path, _ = listening
    change(path)
    assert trusted(path) == refused
    assert probe(path) is None
    assert path.exists(), "a socket not to be trusted is left alone, not removed"


@pytest.mark.skipif(os.getuid() != 0, reason="only root can give a file to another uid")
def test_a_socket_of_another_uid_is_not_used(listening):
    path, _ = listening
    os.chown(path, 4321, -1)
    assert trusted(path) == f"it belongs to uid 4321, not {ME}"
    assert probe(path) is None
    assert path.exists()


def test_a_dead_holders_socket_is_removed(listening):
    path, server = listening
    server.close()
    assert probe(path) is None
    assert not path.exists()


def test_a_listener_that_does_not_answer_hello_is_not_a_holder(listening, monkeypatch):
    from kob.transport import holder_socket

    monkeypatch.setattr(holder_socket, "PROBE_TIMEOUT", 0.2)
    path, _ = listening
    assert probe(path) is None
    assert path.exists(), "a live listener's socket is not removed"


@pytest.mark.parametrize("env, expected", [
    ({"KOB_HOLDER_DIR": "/x/h", "XDG_RUNTIME_DIR": "/run/user/5"}, "/x/h"),
    ({"XDG_RUNTIME_DIR": "/run/user/5"}, "/run/user/5/kob"),
])
def test_the_folder_follows_the_environment(env, expected):
    assert holder_dir(env) == Path(expected)


def test_without_a_runtime_dir_the_folder_is_in_home(monkeypatch):
    monkeypatch.setattr(Path, "is_dir", lambda self: False)
    assert holder_dir({"HOME": "/home/u"}, uid=1000) == Path("/home/u/.kob/sock")


def test_one_socket_per_inventory_file_and_store(tmp_path):
    env = {"KOB_HOLDER_DIR": "/d"}
    one = holder_socket_path(tmp_path / "a.yaml", "sqlite:///s.db", env)
    assert one == holder_socket_path(tmp_path / "." / "a.yaml", "sqlite:///s.db", env)
    assert one != holder_socket_path(tmp_path / "b.yaml", "sqlite:///s.db", env)
    assert one != holder_socket_path(tmp_path / "a.yaml", "etcd://h:2379/x", env)
    assert one.parent == Path("/d") and one.suffix == ".sock" and len(str(one)) < 108
