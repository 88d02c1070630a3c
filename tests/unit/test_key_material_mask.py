"""The corpus comparison hides generated key material only: two host keys made apart compare equal, while
a difference in anything else (mode, size, the key's type or comment, another file's text) still shows."""

from __future__ import annotations

import subprocess

import pytest

from tests.helpers.key_material import PRIVATE_BODY, masked


def listing(folder, mode: str = "600", comment: str = "root@vm") -> list[str]:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(folder / "key")],
                   check=True)
    private, public = (folder / "key").read_text(), (folder / "key.pub").read_text()
    return [f"key file {mode} 0:0 {len(private)} bytes", *("    | " + line for line in private.splitlines()),
            f"key.pub file 644 0:0 {len(public)} bytes", *("    | " + line for line in public.splitlines()),
            "other file 644 0:0 6 bytes", "    | AAAAAAAAAAAAAAAAAAAAAAAAAAAA"]


def test_two_generated_keys_compare_equal_once_masked(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = listing(tmp_path / "a"), listing(tmp_path / "b")
    assert first != second
    assert masked(first) == masked(second)
    assert PRIVATE_BODY in masked(first) and "    | AAAAAAAAAAAAAAAAAAAAAAAAAAAA" in masked(first)
    assert any(line.startswith("    | ssh-ed25519 <public key> root@vm") for line in masked(first))


@pytest.mark.parametrize("change", [{"mode": "644"}, {"comment": "someone@else"}])
def test_what_is_not_key_material_still_differs(tmp_path, change):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert masked(listing(tmp_path / "a")) != masked(listing(tmp_path / "b", **change))
