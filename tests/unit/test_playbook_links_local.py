"""file state=link, state=hard and state=absent of a link, with the real script (run here through the fake
transport, under tmp_path): check mode, the first run and the second, and the end state, as Ansible does.

Every row's verdicts and end state were read from ansible-core 2.19.14 running the same task on local files
(check mode, then twice); D stands for the case's folder.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.helpers.local_host import LocalHost


def listing(root: Path) -> list[str]:
    """Each path under ``root``: a folder as name/, a link as name -> target, a file as name mode nLINKS 'text'."""
    lines = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(dirs + files):
            path = Path(folder) / name
            relative, info = str(path.relative_to(root)), path.lstat()
            if stat.S_ISLNK(info.st_mode):
                lines.append(f"{relative} -> {os.readlink(path)}".replace(str(root), "{D}"))
            elif stat.S_ISDIR(info.st_mode):
                lines.append(relative + "/")
            else:
                lines.append(f"{relative} {stat.S_IMODE(info.st_mode):o} n{info.st_nlink} {path.read_text()!r}")
    return lines


def prepared(tmp_path: Path, setup: str, args: dict) -> tuple[Path, dict]:
    case = tmp_path / "D"
    case.mkdir()
    subprocess.run(["sh", "-c", "umask 022; " + setup], cwd=case, check=True)
    return case, {key: value.replace("{D}", str(case)) if isinstance(value, str) else value
                  for key, value in args.items()}


@pytest.mark.parametrize("name, setup, args, verdicts, after", [
    ('new absolute link', 'echo x > target', {'src': '{D}/target', 'dest': '{D}/l', 'state': 'link'},
     'changed changed ok', ['l -> {D}/target', "target 644 n1 'x\\n'"]),
    ('new relative link', 'echo x > target', {'src': 'target', 'dest': '{D}/l', 'state': 'link'},
     'changed changed ok', ['l -> target', "target 644 n1 'x\\n'"]),
    ('relative src in a subfolder', 'mkdir sub; echo x > sub/t', {'src': 't', 'dest': '{D}/sub/l', 'state': 'link'},
     'changed changed ok', ['sub/', 'sub/l -> t', "sub/t 644 n1 'x\\n'"]),
    ("relative src missing from the link's folder", 'echo x > target; mkdir sub', {'src': 'target', 'dest': '{D}/sub/l', 'state': 'link'},
     'failed failed failed', ['sub/', "target 644 n1 'x\\n'"]),
    ('missing src fails', '', {'src': '{D}/nothere', 'dest': '{D}/l', 'state': 'link'},
     'failed failed failed', []),
    ('missing src with force', '', {'src': '{D}/nothere', 'dest': '{D}/l', 'state': 'link', 'force': True},
     'changed changed ok', ['l -> {D}/nothere']),
    ('link pointing elsewhere', 'echo x > a; echo y > b; ln -s a l', {'src': 'b', 'dest': '{D}/l', 'state': 'link'},
     'changed changed ok', ["a 644 n1 'x\\n'", "b 644 n1 'y\\n'", 'l -> b']),
    ('link already right', 'echo x > a; ln -s a l', {'src': 'a', 'dest': '{D}/l', 'state': 'link'},
     'ok ok ok', ["a 644 n1 'x\\n'", 'l -> a']),
    ('same target written differently', 'echo x > a; ln -s a l', {'src': '{D}/a', 'dest': '{D}/l', 'state': 'link'},
     'changed changed ok', ["a 644 n1 'x\\n'", 'l -> {D}/a']),
    ('file in the way', 'echo x > a; echo old > l', {'src': 'a', 'dest': '{D}/l', 'state': 'link'},
     'failed failed failed', ["a 644 n1 'x\\n'", "l 644 n1 'old\\n'"]),
    ('file in the way with force', 'echo x > a; echo old > l', {'src': 'a', 'dest': '{D}/l', 'state': 'link', 'force': True},
     'changed changed ok', ["a 644 n1 'x\\n'", 'l -> a']),
    ('hard link in the way', 'echo x > a; echo o > o; ln o l', {'src': 'a', 'dest': '{D}/l', 'state': 'link'},
     'failed failed failed', ["a 644 n1 'x\\n'", "l 644 n2 'o\\n'", "o 644 n2 'o\\n'"]),
    ('empty folder in the way', 'echo x > a; mkdir l', {'src': '{D}/a', 'dest': '{D}/l', 'state': 'link'},
     'failed failed failed', ["a 644 n1 'x\\n'", 'l/']),
    ('empty folder in the way with force', 'echo x > a; mkdir l', {'src': '{D}/a', 'dest': '{D}/l', 'state': 'link', 'force': True},
     'changed changed ok', ["a 644 n1 'x\\n'", 'l -> {D}/a']),
    ('full folder in the way with force', 'echo x > a; mkdir l; touch l/f', {'src': '{D}/a', 'dest': '{D}/l', 'state': 'link', 'force': True},
     'failed failed failed', ["a 644 n1 'x\\n'", 'l/', "l/f 644 n1 ''"]),
    ('link to a folder', 'mkdir d', {'src': '{D}/d', 'dest': '{D}/l', 'state': 'link'},
     'changed changed ok', ['d/', 'l -> {D}/d']),
    ('link to a folder replaced', 'mkdir d e; ln -s d l', {'src': '{D}/e', 'dest': '{D}/l', 'state': 'link'},
     'changed changed ok', ['d/', 'e/', 'l -> {D}/e']),
    ('mode goes to the target', 'echo x > a; chmod 600 a', {'src': 'a', 'dest': '{D}/l', 'state': 'link', 'mode': '0640'},
     'changed changed ok', ["a 640 n1 'x\\n'", 'l -> a']),
    ('mode, target already so', 'echo x > a; chmod 640 a; ln -s a l', {'src': 'a', 'dest': '{D}/l', 'state': 'link', 'mode': '0640'},
     'ok ok ok', ["a 640 n1 'x\\n'", 'l -> a']),
    ('mode on a dangling link', '', {'src': 'nothere', 'dest': '{D}/l', 'state': 'link', 'force': True, 'mode': '0600'},
     'changed changed ok', ['l -> nothere']),
    ('parent folder missing', 'echo x > a', {'src': '{D}/a', 'dest': '{D}/no/l', 'state': 'link', 'force': True},
     'changed failed failed', ["a 644 n1 'x\\n'"]),
    ('existing link, no src', 'echo x > a; ln -s a l', {'dest': '{D}/l', 'state': 'link'},
     'ok ok ok', ["a 644 n1 'x\\n'", 'l -> a']),
    ('absent link', 'echo x > a; ln -s a l', {'path': '{D}/l', 'state': 'absent'},
     'changed changed ok', ["a 644 n1 'x\\n'"]),
    ('absent dangling link', 'ln -s nothere l', {'path': '{D}/l', 'state': 'absent'},
     'changed changed ok', []),
    ('absent of a link to a folder keeps the folder', 'mkdir d; touch d/f; ln -s d l', {'path': '{D}/l', 'state': 'absent'},
     'changed changed ok', ['d/', "d/f 644 n1 ''"]),
    ('new hard link', 'echo x > a', {'src': '{D}/a', 'dest': '{D}/h', 'state': 'hard'},
     'changed changed ok', ["a 644 n2 'x\\n'", "h 644 n2 'x\\n'"]),
    ('hard link already right', 'echo x > a; ln a h', {'src': '{D}/a', 'dest': '{D}/h', 'state': 'hard'},
     'ok ok ok', ["a 644 n2 'x\\n'", "h 644 n2 'x\\n'"]),
    ('hard link to another file', 'echo x > a; echo y > b; ln b h', {'src': '{D}/a', 'dest': '{D}/h', 'state': 'hard'},
     'failed failed failed', ["a 644 n1 'x\\n'", "b 644 n2 'y\\n'", "h 644 n2 'y\\n'"]),
    ('hard link to another file with force', 'echo x > a; echo y > b; ln b h', {'src': '{D}/a', 'dest': '{D}/h', 'state': 'hard', 'force': True},
     'changed changed ok', ["a 644 n2 'x\\n'", "b 644 n1 'y\\n'", "h 644 n2 'x\\n'"]),
    ('hard over a file', 'echo x > a; echo y > h', {'src': '{D}/a', 'dest': '{D}/h', 'state': 'hard'},
     'failed failed failed', ["a 644 n1 'x\\n'", "h 644 n1 'y\\n'"]),
    ('hard over a file with force', 'echo x > a; echo y > h', {'src': '{D}/a', 'dest': '{D}/h', 'state': 'hard', 'force': True},
     'changed changed ok', ["a 644 n2 'x\\n'", "h 644 n2 'x\\n'"]),
    ('hard over a symlink', 'echo x > a; ln -s a h', {'src': '{D}/a', 'dest': '{D}/h', 'state': 'hard'},
     'changed changed ok', ["a 644 n2 'x\\n'", "h 644 n2 'x\\n'"]),
    ('hard link into a folder', 'echo x > a; mkdir d', {'src': '{D}/a', 'dest': '{D}/d', 'state': 'hard'},
     'changed changed ok', ["a 644 n2 'x\\n'", 'd/', "d/a 644 n2 'x\\n'"]),
    ('hard src missing', '', {'src': '{D}/nothere', 'dest': '{D}/h', 'state': 'hard'},
     'failed failed failed', []),
    ('hard with mode', 'echo x > a; chmod 644 a', {'src': '{D}/a', 'dest': '{D}/h', 'state': 'hard', 'mode': '0600'},
     'changed changed ok', ["a 600 n2 'x\\n'", "h 600 n2 'x\\n'"]),
    ('src without state link', 'echo x > a', {'src': '{D}/a', 'dest': '{D}/l', 'state': 'file'},
     'failed failed failed', ["a 644 n1 'x\\n'"]),
    ('state file through a link', 'echo x > a; chmod 644 a; ln -s a l', {'path': '{D}/l', 'state': 'file', 'mode': '0600'},
     'changed changed ok', ["a 600 n1 'x\\n'", 'l -> a']),
])
async def test_file_links_as_ansible_makes_them(tmp_path, name, setup, args, verdicts, after):
    case, args = prepared(tmp_path, setup, args)
    host = LocalHost(tmp_path)
    before = listing(case)
    seen = [(await host.module("file", args, check=True)).status]
    assert listing(case) == before, f"{name}: check mode changed something"
    seen += [(await host.module("file", args)).status for _ in range(2)]
    assert " ".join(seen) == verdicts, name
    assert listing(case) == after, name


@pytest.mark.parametrize("setup, args, message", [
    ("", {"src": "{D}/nothere", "dest": "{D}/l", "state": "link"},
     "src file does not exist, use 'force=yes' if you really want to create the link: {D}/nothere"),
    ("mkdir sub", {"src": "t", "dest": "{D}/sub/l", "state": "link"},
     "src file does not exist, use 'force=yes' if you really want to create the link: {D}/sub/t"),
    ("echo old > l", {"src": "/etc/hostname", "dest": "{D}/l", "state": "link"},
     "refusing to convert from file to symlink for {D}/l"),
    ("mkdir l; touch l/f", {"src": "/etc", "dest": "{D}/l", "state": "link", "force": True},
     "the directory {D}/l is not empty, refusing to convert it"),
    ("", {"dest": "{D}/l", "state": "link"}, "src is required for creating new symlinks"),
    ("echo x > a; echo y > h", {"src": "{D}/a", "dest": "{D}/h", "state": "hard"},
     "Cannot link, file exists at destination"),
    ("", {"src": "{D}/a", "dest": "{D}/h", "state": "hard"}, "src does not exist"),
    ("echo x > a", {"src": "{D}/a", "dest": "{D}/l", "state": "touch"},
     "src option requires state to be 'link' or 'hard'"),
    ("echo x > a; ln -s a l", {"src": "a", "dest": "{D}/l", "state": "link", "follow": False, "mode": "0600"},
     "{D}/l is a link, and a link has no mode of its own: leave mode out or set follow: true"),
])
async def test_a_link_that_cannot_be_made_fails_in_one_line_with_ansibles_words(tmp_path, setup, args, message):
    case, args = prepared(tmp_path, setup, args)
    before = listing(case)
    outcome = await LocalHost(tmp_path).module("file", args)
    assert outcome.status == "failed" and outcome.result["msg"] == message.replace("{D}", str(case))
    assert listing(case) == before


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another owner needs root")
@pytest.mark.parametrize("follow, link_owner, target_owner", [
    (False, "65534:0", "0:0"),  # follow: false gives the link itself
    (True, "0:0", "65534:0"),  # the default gives what it points to
])
async def test_owner_goes_to_the_link_or_its_target_as_follow_says(tmp_path, follow, link_owner, target_owner):
    case, args = prepared(tmp_path, "echo x > a", {"src": "a", "dest": "{D}/l", "state": "link", "owner": "nobody",
                                                   "follow": follow})
    host = LocalHost(tmp_path)
    assert [(await host.module("file", args)).status for _ in range(2)] == ["changed", "ok"]
    owners = [f"{info.st_uid}:{info.st_gid}" for info in ((case / "l").lstat(), (case / "a").lstat())]
    assert owners == [link_owner, target_owner]
