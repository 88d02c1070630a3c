"""`--bind`: where the page listens, and the token rule for anything beyond localhost."""

from __future__ import annotations

import pytest

from kob.web.auth import is_local, parse_bind


@pytest.mark.parametrize("text, token, expected", [
    ("127.0.0.1:8080", None, ("127.0.0.1", 8080)),
    ("localhost:9000", None, ("localhost", 9000)),
    ("127.0.0.5:80", None, ("127.0.0.5", 80)),
    ("[::1]:8080", None, ("::1", 8080)),
    ("0.0.0.0:8080", "t", ("0.0.0.0", 8080)),
    (":8080", "t", ("0.0.0.0", 8080)),
    ("198.18.0.1:8080", "t", ("198.18.0.1", 8080)),
])
def test_accepted_binds(text, token, expected):
    assert parse_bind(text, token) == expected


@pytest.mark.parametrize("text, token, message", [
    ("0.0.0.0:8080", None, "needs a token"),
    (":8080", None, "needs a token"),
    ("198.18.0.1:8080", "", "needs a token"),
    ("[::]:8080", None, "needs a token"),
    ("example.com:8080", None, "needs a token"),
    ("8080", None, "write HOST:PORT"),
    ("127.0.0.1:http", None, "write HOST:PORT"),
    ("127.0.0.1:0", None, "write HOST:PORT"),
    ("127.0.0.1:70000", None, "write HOST:PORT"),
])
def test_refused_binds(text, token, message):
    with pytest.raises(ValueError, match=message):
        parse_bind(text, token)


@pytest.mark.parametrize("host, local", [("localhost", True), ("127.0.0.1", True), ("::1", True),
                                         ("[::1]", True), ("0.0.0.0", False), ("::", False),
                                         ("10.0.0.1", False), ("localhost.example.com", False)])
def test_is_local(host, local):
    assert is_local(host) is local
