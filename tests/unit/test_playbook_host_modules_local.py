"""stat, slurp, fetch, unarchive and get_url with their real scripts (run here through the fake transport, on
files under tmp_path): what they return, that a second run is ok, and that check mode changes nothing."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import pwd
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from kob.commands.task_system import home_argv
from kob.commands.tasks import RESULT_MARK
from tests.helpers.local_host import LocalHost


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data/app.conf").write_text("port=80\n")
    (tmp_path / "data/app.conf").chmod(0o640)
    (tmp_path / "data/link").symlink_to(tmp_path / "data/app.conf")
    return tmp_path / "data"


@pytest.mark.parametrize("name, args, expected", [
    ("a file", {"path": "app.conf"}, {"exists": True, "isreg": True, "isdir": False, "mode": "0640", "size": 8,
                                      "pw_name": "root", "rusr": True, "wgrp": False, "roth": False,
                                      "checksum": hashlib.sha1(b"port=80\n").hexdigest()}),
    ("sha256 through the checksum alias", {"path": "app.conf", "checksum": "sha256"},
     {"checksum": hashlib.sha256(b"port=80\n").hexdigest()}),
    ("no checksum", {"path": "app.conf", "get_checksum": False}, {"exists": True}),
    ("a folder", {"path": "."}, {"exists": True, "isdir": True, "isreg": False}),
    ("a link, not followed", {"path": "link"}, {"islnk": True, "isreg": False}),
    ("a link, followed", {"path": "link", "follow": True}, {"islnk": False, "isreg": True, "mode": "0640"}),
    ("missing", {"path": "nothing"}, {"exists": False}),
])
async def test_stat(tree, name, args, expected):
    host = LocalHost(tree.parent)
    outcome = await host.module("stat", {**args, "path": str(tree / args["path"])}, check=True)
    assert outcome.status == "ok" and outcome.result["changed"] is False
    found = outcome.result["stat"]
    assert {key: found.get(key) for key in expected} == expected, name
    if name == "no checksum":
        assert "checksum" not in found
    if name == "a link, not followed":
        assert found["lnk_source"] == str(tree / "app.conf")


async def test_slurp_returns_the_content_in_base64(tree):
    host = LocalHost(tree.parent)
    outcome = await host.module("slurp", {"path": str(tree / "app.conf")})
    assert (outcome.status, base64.b64decode(outcome.result["content"])) == ("ok", b"port=80\n")
    missing = await host.module("slurp", {"src": str(tree / "nothing")})
    assert (missing.status, missing.result["msg"]) == ("failed", f"file not found: {tree / 'nothing'}")


@pytest.mark.parametrize("dest, flat, where", [
    ("fetched", False, "fetched/vm1{src}"),
    ("fetched/", True, "fetched/app.conf"),
    ("fetched/copy.conf", True, "fetched/copy.conf"),
])
async def test_fetch_copies_to_the_manager_once(tree, dest, flat, where):
    host = LocalHost(tree.parent)
    src = str(tree / "app.conf")
    args = {"src": src, "dest": dest, "flat": flat}
    local = host.playbook_dir / where.format(src=src)
    looked = await host.module("fetch", args, check=True)
    assert looked.status == "changed" and not local.exists()
    first = await host.module("fetch", args)
    assert (first.status, local.read_bytes()) == ("changed", b"port=80\n")
    assert first.result["checksum"] == hashlib.sha1(b"port=80\n").hexdigest()
    second = await host.module("fetch", args)
    assert second.status == "ok"
    missing = await host.module("fetch", {**args, "src": str(tree / "nothing")})
    assert missing.status == "failed" and "does not exist" in missing.result["msg"]


def tar_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 1_700_000_000
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize("kind, make", [("tar.gz", tar_bytes), ("zip", zip_bytes)])
@pytest.mark.parametrize("remote", [False, True])
async def test_unarchive_extracts_once(tmp_path, kind, make, remote):
    host = LocalHost(tmp_path)
    archive = (tmp_path if remote else host.playbook_dir) / f"site.{kind}"
    archive.write_bytes(make({"site/index.html": b"<h1>hi</h1>\n", "site/conf/a.conf": b"a=1\n"}))
    dest = tmp_path / "www"
    dest.mkdir()
    args = {"src": str(archive) if remote else archive.name, "dest": str(dest), "remote_src": remote}
    looked = await host.module("unarchive", args, check=True)
    assert looked.status == "changed" and not any(dest.iterdir())
    first = await host.module("unarchive", args)
    assert first.status == "changed", first.result
    assert (dest / "site/index.html").read_bytes() == b"<h1>hi</h1>\n"
    second = await host.module("unarchive", args)
    assert second.status == "ok", second.result
    (dest / "site/conf/a.conf").write_text("edited\n")
    assert (await host.module("unarchive", args)).status == "changed"
    assert (dest / "site/conf/a.conf").read_text() == "a=1\n"
    created = await host.module("unarchive", {**args, "creates": str(dest / "site")})
    assert created.status == "ok" and "exists" in created.result["msg"]


async def test_unarchive_fails_in_one_line_on_a_missing_dest_or_a_bad_archive(tmp_path):
    host = LocalHost(tmp_path)
    (host.playbook_dir / "junk.tar").write_bytes(b"not an archive at all\n" * 40)
    missing = await host.module("unarchive", {"src": "junk.tar", "dest": str(tmp_path / "nowhere")})
    assert missing.status == "failed" and "must be an existing dir" in missing.result["msg"]
    bad = await host.module("unarchive", {"src": "junk.tar", "dest": str(tmp_path)})
    assert bad.status == "failed" and bad.result["msg"].startswith("cannot extract junk.tar")


async def test_get_url_downloads_on_the_host_once(tmp_path):
    host = LocalHost(tmp_path)
    source = tmp_path / "release.txt"
    source.write_text("v1\n")
    dest = tmp_path / "opt"
    dest.mkdir()
    args = {"url": f"file://{source}", "dest": str(dest / "release.txt"), "mode": "0600"}
    looked = await host.module("get_url", args, check=True)
    assert looked.status == "changed" and not (dest / "release.txt").exists()
    first = await host.module("get_url", args)
    assert first.status == "changed", first.result
    assert (dest / "release.txt").read_text() == "v1\n" and oct((dest / "release.txt").stat().st_mode)[-3:] == "600"
    assert (await host.module("get_url", args)).status == "ok"
    source.write_text("v2\n")
    assert (await host.module("get_url", args)).status == "ok"  # dest exists and force is off: kept
    forced = await host.module("get_url", {**args, "force": True})
    assert forced.status == "changed" and (dest / "release.txt").read_text() == "v2\n"
    good = hashlib.sha256(b"v2\n").hexdigest()
    assert (await host.module("get_url", {**args, "checksum": f"sha256:{good}"})).status == "ok"
    bad = await host.module("get_url", {**args, "dest": str(dest / "other"), "checksum": "sha256:" + "0" * 64})
    assert bad.status == "failed" and "did not match" in bad.result["msg"] and not (dest / "other").exists()
    into_folder = await host.module("get_url", {"url": f"file://{source}", "dest": str(dest)})
    assert into_folder.result["dest"] == str(dest / "release.txt")
    assert sorted(os.listdir(dest)) == ["release.txt"]


async def test_get_url_failure_is_one_line(tmp_path):
    outcome = await LocalHost(tmp_path).module("get_url", {"url": f"file://{tmp_path}/nothing",
                                                           "dest": str(tmp_path / "x")})
    assert outcome.status == "failed" and outcome.result["msg"].startswith("Request failed: ")
    assert "\n" not in outcome.result["msg"] and not (tmp_path / "x").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder to another user needs root")
def test_a_missing_home_is_made_from_skel_owned_by_the_user(tmp_path):
    home = tmp_path / "home of nobody"
    made = subprocess.run(home_argv("nobody", str(home)), capture_output=True, text=True, check=True)
    assert made.stdout.endswith(f"{RESULT_MARK} changed\n") and home.is_dir()
    assert (home.stat().st_uid, home.stat().st_gid) == (pwd.getpwnam("nobody").pw_uid, pwd.getpwnam("nobody").pw_gid)
    skel = sorted(p.name for p in Path("/etc/skel").iterdir()) if Path("/etc/skel").is_dir() else []
    assert sorted(p.name for p in home.iterdir()) == skel
    again = subprocess.run(home_argv("nobody", str(home)), capture_output=True, text=True, check=True)
    assert again.stdout == f"{RESULT_MARK} ok\n"
