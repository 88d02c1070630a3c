"""What the SSH transport does to cost the manager less CPU per host: key and known_hosts files parsed once
per pool (again when they change, never a failure kept), and AES-GCM first among the same ciphers."""

from __future__ import annotations

import os

import pytest

from kob.transport.ssh import CIPHERS, GCM_FIRST, ParsedFiles, ciphers_gcm_first


class Parser:
    def __init__(self):
        self.reads: list[str] = []

    def __call__(self, path: str) -> str:
        self.reads.append(path)
        with open(path) as f:
            return f.read()


def test_a_file_is_parsed_once_while_it_is_unchanged(tmp_path):
    known_hosts, parse, files = tmp_path / "known_hosts", Parser(), ParsedFiles()
    known_hosts.write_text("one\n")
    assert [files.get(parse, known_hosts) for _ in range(50)] == ["one\n"] * 50
    assert parse.reads == [str(known_hosts)]


def test_a_changed_file_is_parsed_again(tmp_path):
    known_hosts, parse, files = tmp_path / "known_hosts", Parser(), ParsedFiles()
    known_hosts.write_text("one\n")
    files.get(parse, known_hosts)
    known_hosts.write_text("one\ntwo\n")  # another size
    assert files.get(parse, known_hosts) == "one\ntwo\n"
    known_hosts.write_text("ONE\nTWO\n")  # the same size, a later time
    stat = known_hosts.stat()
    os.utime(known_hosts, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert files.get(parse, known_hosts) == "ONE\nTWO\n"
    assert len(parse.reads) == 3


def test_each_parser_and_file_is_kept_apart(tmp_path):
    (tmp_path / "a").write_text("a")
    (tmp_path / "b").write_text("b")
    first, second, files = Parser(), Parser(), ParsedFiles()
    got = [files.get(p, tmp_path / name) for p in (first, second) for name in ("a", "b")]
    assert got == ["a", "b", "a", "b"]
    assert len(first.reads) == len(second.reads) == 2


def test_a_failure_is_raised_every_time_and_never_kept(tmp_path):
    files, parse = ParsedFiles(), Parser()
    for _ in range(2):
        with pytest.raises(FileNotFoundError):
            files.get(parse, tmp_path / "missing")
    (tmp_path / "bad").write_text("x")

    def refuse(path: str) -> str:
        raise ValueError(f"cannot parse {path}")

    for _ in range(2):
        with pytest.raises(ValueError, match="cannot parse"):
            files.get(refuse, tmp_path / "bad")
    assert files.get(parse, tmp_path / "bad") == "x"


@pytest.mark.parametrize("defaults, expected", [
    (["chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com", "aes128-gcm@openssh.com", "aes128-ctr"],
     ["aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com", "aes128-ctr"]),
    (["chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com"],
     ["aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com"]),  # only what the defaults have
    (["aes128-ctr"], ["aes128-ctr"]),
])
def test_gcm_comes_first_among_the_same_ciphers(defaults, expected):
    assert ciphers_gcm_first(defaults) == expected


def test_the_ciphers_offered_are_asyncssh_defaults_reordered():
    from kob.transport.asyncssh_lib import asyncssh

    defaults = [alg.decode() for alg in asyncssh.encryption.get_default_encryption_algs()]
    assert sorted(CIPHERS) == sorted(defaults)
    assert CIPHERS[:2] == list(GCM_FIRST)
