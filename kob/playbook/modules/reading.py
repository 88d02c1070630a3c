"""stat, slurp and fetch: they only read the host (fetch writes on the manager)."""

from __future__ import annotations

import hashlib
import stat as stat_bits
from pathlib import Path

from kob.commands.task_system import fetch_argv, stat_argv
from kob.commands.tasks import RESULT_MARK, read_argv
from kob.playbook.modules.context import Outcome, decoded, flag, last_error
from kob.playbook.templating import TemplateError

CHECKSUMS = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")
_TYPES = {"directory": "isdir", "regular file": "isreg", "regular empty file": "isreg", "symbolic link": "islnk",
          "fifo": "isfifo", "socket": "issock", "character special file": "ischr", "block special file": "isblk"}
_PERMISSIONS = {"rusr": stat_bits.S_IRUSR, "wusr": stat_bits.S_IWUSR, "xusr": stat_bits.S_IXUSR,
                "rgrp": stat_bits.S_IRGRP, "wgrp": stat_bits.S_IWGRP, "xgrp": stat_bits.S_IXGRP,
                "roth": stat_bits.S_IROTH, "woth": stat_bits.S_IWOTH, "xoth": stat_bits.S_IXOTH,
                "isuid": stat_bits.S_ISUID, "isgid": stat_bits.S_ISGID}


async def stat(args, ctx, variables) -> Outcome:
    path = str(args["path"])
    algorithm = str(args.get("checksum_algorithm") or "sha1")
    if algorithm not in CHECKSUMS:
        return Outcome("failed", {"msg": f"checksum_algorithm should be one of {', '.join(CHECKSUMS)}, "
                                         f"got {algorithm[:20]!r}"})
    result = await ctx.run(stat_argv(path, bool(flag(args, "follow", False)),
                                     algorithm if flag(args, "get_checksum", True) else ""))
    last = result.stdout.rstrip("\n").rsplit("\n", 1)[-1]
    if result.rc != 0 or last.startswith(RESULT_MARK):
        why = last[len(RESULT_MARK):].strip().removeprefix("failed ") if last.startswith(RESULT_MARK) \
            else last_error(result)
        return Outcome("failed", {"msg": why, "path": path})
    return Outcome("ok", {"changed": False, "stat": stat_result(path, result.stdout)})


def stat_result(path: str, stdout: str) -> dict:
    """Ansible's stat dictionary from the script's key=value lines."""
    raw = dict(line.split("=", 1) for line in stdout.splitlines() if "=" in line)
    if raw.get("exists") != "1":
        return {"exists": False}
    mode = int(raw["mode"], 8)
    found = {"exists": True, "path": path, "mode": format(mode, "04o"), "pw_name": raw["pw_name"],
             "gr_name": raw["gr_name"], **{key: int(raw[key]) for key in ("uid", "gid", "size", "inode", "dev",
                                                                          "nlink")},
             **{key: float(raw[key]) for key in ("mtime", "atime", "ctime")},
             **{kind: _TYPES.get(raw["type"]) == kind for kind in set(_TYPES.values())},
             **{name: bool(mode & bit) for name, bit in _PERMISSIONS.items()},
             **{key: raw.get(key) == "1" for key in ("readable", "writeable", "executable")}}
    for key in ("checksum", "lnk_source", "lnk_target"):
        if key in raw:
            found[key] = raw[key]
    return found


async def slurp(args, ctx, variables) -> Outcome:
    source = str(args["src"])
    read = await ctx.run(read_argv(source))
    if read.rc == 3:
        return Outcome("failed", {"msg": f"file not found: {source}"})
    if read.rc != 0:
        return Outcome("failed", {"msg": last_error(read)})
    return Outcome("ok", {"changed": False, "content": "".join(read.stdout.split()), "encoding": "base64",
                          "source": source})


async def fetch(args, ctx, variables) -> Outcome:
    """Copy a host's file to the manager: DEST/HOST/SRC, or DEST itself with flat (DEST/ + its name when DEST
    ends with /); relative to the playbook's folder. Changed when the manager's copy had other bytes."""
    source = str(args["src"])
    dest = fetch_destination(source, str(args["dest"]), ctx.host, bool(flag(args, "flat", False)), ctx.playbook_dir)
    have = hashlib.sha1(dest.read_bytes()).hexdigest() if dest.is_file() else ""
    read = await ctx.run(fetch_argv(source, have))
    registered = {"dest": str(dest), "file": source}
    last = read.stdout.rstrip("\n").rsplit("\n", 1)[-1]
    if read.rc == 3:
        missing = f"the remote file does not exist, not transferring, ignored: {source}"
        failing = flag(args, "fail_on_missing", True)
        return Outcome("failed" if failing else "ok", {**registered, "msg": missing, "changed": False})
    if read.rc != 0 or last.startswith(RESULT_MARK):
        why = last[len(RESULT_MARK):].strip().removeprefix("failed ") if last.startswith(RESULT_MARK) \
            else last_error(read)
        return Outcome("failed", {**registered, "msg": why})
    remote, _, content = read.stdout.partition("\n")
    registered.update(checksum=remote, remote_checksum=remote)
    if remote == have:
        return Outcome("ok", {**registered, "changed": False})
    data = decoded(content)
    if hashlib.sha1(data).hexdigest() != remote:
        return Outcome("failed", {**registered, "msg": "checksum mismatch: the file changed while it was read"})
    if not ctx.check:
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
    return Outcome("changed", {**registered, "changed": True, "md5sum": hashlib.md5(data).hexdigest()})


def fetch_destination(source: str, dest: str, host: str, flat: bool, playbook_dir: Path) -> Path:
    if ".." in Path(source).parts:
        raise TemplateError(f"fetch: src {source!r} climbs with ..; give the file's own path")
    base = Path(dest) if Path(dest).is_absolute() else playbook_dir / dest
    if flat:
        return base / Path(source).name if dest.endswith("/") else base
    return base / host / source.lstrip("/")
