"""asyncssh, imported without the processes its import starts and without X.509 certificates.

On import, asyncssh looks for liboqs (post-quantum key exchange) with ctypes.util.find_library, which on
Linux runs `ldconfig -p`, then gcc and ld, once per name it tries: seven processes and about 50 ms of CPU
on every kob command that reaches hosts. While asyncssh is imported, find_library looks in the usual
library folders instead, so liboqs is still found where a package installs it.

asyncssh also loads its X.509 certificate support (cryptography.x509, about 10% of its import) when it
can. OpenSSH uses no X.509 certificates, and kob reaches hosts with plain keys checked against known_hosts,
so asyncssh is imported as if that support were not installed (which it handles: x509 is optional; it
also needs pyOpenSSL, which kob does not install, so the import loaded cryptography.x509 and then failed).
"""

from __future__ import annotations

import ctypes.util
import fnmatch
import functools
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

X509_SUPPORT = "asyncssh.crypto.x509"
LIBRARY_FOLDERS = ("/usr/local/lib", "/usr/local/lib64", "/usr/lib/*-linux-*", "/usr/lib", "/usr/lib64",
                   "/lib/*-linux-*", "/lib", "/lib64")


def library_in_folders(name: str, folders: Sequence[str] = LIBRARY_FOLDERS) -> str | None:
    """The path of lib``name``.so (or a versioned one) in the first folder that has it, else None."""
    prefix = f"lib{name}.so"
    for pattern in folders:
        for folder in _folders(pattern):
            found = sorted(entry for entry in _entries(folder) if entry.startswith(prefix))
            if found:
                return os.path.join(folder, found[0])
    return None


@functools.cache
def _folders(pattern: str) -> list[str]:
    """The folders a pattern of LIBRARY_FOLDERS names (a * only in its last part), sorted."""
    parent, last = os.path.split(pattern)
    if "*" not in last:
        return [pattern] if os.path.isdir(pattern) else []
    return [os.path.join(parent, entry) for entry in sorted(_entries(parent))
            if fnmatch.fnmatchcase(entry, last) and os.path.isdir(os.path.join(parent, entry))]


@functools.cache
def _entries(folder: str) -> tuple[str, ...]:
    """The names in a folder, listed once per process (asyncssh asks for three libraries)."""
    try:
        return tuple(os.listdir(folder))
    except OSError:
        return ()


@contextmanager
def _library_search_in_folders() -> Iterator[None]:
    searching = ctypes.util.find_library
    ctypes.util.find_library = library_in_folders
    try:
        yield
    finally:
        ctypes.util.find_library = searching


@contextmanager
def _without_module(name: str) -> Iterator[None]:
    """Importing ``name`` fails with ImportError meanwhile, as if it were not installed."""
    sys.modules.setdefault(name, None)
    try:
        yield
    finally:
        if sys.modules.get(name, ...) is None:
            del sys.modules[name]


with _library_search_in_folders(), _without_module(X509_SUPPORT):
    import asyncssh

__all__ = ["asyncssh", "library_in_folders"]
