"""get_url, uri, unarchive and known_hosts: downloads and requests made from the host, archives unpacked there,
and the host keys it trusts."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from kob.commands.task_network import get_url_argv, unarchive_argv, uri_argv
from kob.commands.tasks import file_argv, octal_mode
from kob.playbook.modules.commands import guarded
from kob.playbook.modules.context import (
    Outcome,
    flag,
    local_file,
    names,
    read_text,
    script_output,
    scripted,
    unified,
    whole_number,
)
from kob.playbook.modules.files import copy
from kob.playbook.modules.reading import CHECKSUMS
from kob.playbook.ssh_keys import hashed_host_key, host_matches, known_hosts_text
from kob.playbook.templating import TemplateError

MAX_TIMEOUT = 3600


async def get_url(args, ctx, variables) -> Outcome:
    url, dest = str(args["url"]), str(args["dest"])
    algorithm, _, checksum = str(args.get("checksum") or "").partition(":")
    if checksum and algorithm not in CHECKSUMS:
        return Outcome("failed", {"msg": f"checksum should be ALGORITHM:HEX with one of {', '.join(CHECKSUMS)}"})
    argv = get_url_argv(url, dest, algorithm, checksum.lower(), bool(flag(args, "force", False)), ctx.check,
                        _timeout(args, 10), octal_mode(args.get("mode")), str(args.get("owner") or ""),
                        str(args.get("group") or ""), _headers(args.get("headers")))
    result = await ctx.run(argv, timeout=_timeout(args, 10) + 60)
    fields = dict(line.split("=", 1) for line in result.stdout.splitlines() if line.startswith("dest="))
    return scripted(result, {"url": url, "dest": fields.get("dest", dest)})


async def uri(args, ctx, variables) -> Outcome:
    """A request from the host; ok (never changed, as in Ansible) when its status is one of status_code."""
    if ctx.check:
        return Outcome("skipped", {"msg": "skipped in check mode: a request's effect cannot be foreseen"})
    guard = await guarded(args, ctx)
    if guard:
        return Outcome("ok", {"msg": guard, "changed": False})
    url, method = str(args["url"]), str(args.get("method") or "GET").upper()
    body, headers = _body(args)
    argv = uri_argv(url, method, _timeout(args, 30), body is not None, bool(flag(args, "follow_redirects", True)),
                    _headers({**headers, **(args.get("headers") or {})}))
    result = await ctx.run(argv, input=body, timeout=_timeout(args, 30) + 60)
    found = scripted(result, {"url": url})
    if found.status == "failed":
        return found
    fields, blocks = script_output(result.stdout, ("headers", "body"))
    return uri_outcome(url, int(fields.get("status") or -1), blocks.get("headers", b"").decode(errors="replace"),
                       blocks.get("body", b""), args)


def uri_outcome(url: str, status: int, header_text: str, content: bytes, args: Mapping[str, Any]) -> Outcome:
    """Ansible's uri result: status, url, each response header under its lower-case name (- as _), json for a
    JSON body, content when return_content; failed unless status is one of status_code (default 200)."""
    result: dict[str, Any] = {"url": url, "status": status, "changed": False}
    for line in header_text.splitlines():
        key, sep, value = line.partition(":")
        if sep and not line.startswith("HTTP/"):
            result[key.strip().lower().replace("-", "_")] = value.strip()
    text = content.decode(errors="replace")
    if "json" in str(result.get("content_type", "")):
        try:
            result["json"] = json.loads(text)
        except ValueError:
            pass
    if flag(args, "return_content", False):
        result["content"] = text
    wanted = [int(code) for code in names(args.get("status_code") or [200])] if not isinstance(
        args.get("status_code"), int) else [args["status_code"]]
    result["msg"] = f"OK ({len(content)} bytes)"
    if status not in wanted:
        result["msg"] = f"Status code was {status} and not {wanted}: HTTP Error {status}"
        return Outcome("failed", result)
    return Outcome("ok", result)


def _body(args) -> tuple[bytes | None, dict[str, str]]:
    """The request body as bytes, and the Content-Type header its body_format implies."""
    if args.get("body") is None:
        return None, {}
    body, form = args["body"], str(args.get("body_format") or "raw")
    if form == "json":
        return (body if isinstance(body, str) else json.dumps(body)).encode(), {"Content-Type": "application/json"}
    if form == "form-urlencoded":
        encoded = body if isinstance(body, str) else urlencode(body, doseq=True)
        return encoded.encode(), {"Content-Type": "application/x-www-form-urlencoded"}
    return str(body).encode(), {}


def _headers(headers: Any) -> list[str]:
    if not headers:
        return []
    if not isinstance(headers, dict):
        raise TemplateError("headers should be a mapping of header names to values")
    for key, value in headers.items():
        if any(c in f"{key}{value}" for c in "\r\n") or ":" in str(key):
            raise TemplateError(f"header {str(key)[:40]!r}: a name without ':' and values without line breaks")
    return [f"{key}: {value}" for key, value in headers.items()]


def _timeout(args, default: int) -> int:
    return max(1, min(whole_number(args, "timeout", default) or default, MAX_TIMEOUT))


async def unarchive(args, ctx, variables) -> Outcome:
    src, dest = str(args["src"]), str(args["dest"])
    remote = bool(flag(args, "remote_src", False))
    registered = {"src": src, "dest": dest}
    guard = await guarded({"creates": args.get("creates")}, ctx)
    if guard:
        return Outcome("ok", {**registered, "msg": guard, "changed": False})
    archive = None if remote else local_file(src, ctx.playbook_dir, "files", ctx.role_path).read_bytes()
    result = await ctx.run(unarchive_argv(src, dest, remote, ctx.check), input=archive, timeout=1800)
    return scripted(result, registered)


async def known_hosts(args, ctx, variables) -> Outcome:
    """A host's key in a known_hosts file (default ~/.ssh/known_hosts of the user the task runs as)."""
    name = str(args["name"]).lower()
    present = str(args.get("state") or "present") == "present"
    key = str(args.get("key") or "").strip()
    if present and not key:
        return Outcome("failed", {"msg": "known_hosts: key is required with state present"})
    if key and not any(host_matches(key.split()[0], n) for n in (name, f"[{name}]")):
        return Outcome("failed", {"msg": f"Host parameter does not match hashed host field in supplied key: {name}"})
    path = str(args.get("path") or "~/.ssh/known_hosts")
    hashed = bool(flag(args, "hash_host", False))
    registered = {"name": name, "key": key or None, "path": path, "hash_host": hashed}
    if key and hashed:
        key = hashed_host_key(name, key, os.urandom(20))
    old = await read_text(ctx, path)
    new = known_hosts_text(old or "", name, key or None, present)
    if new == (old or "") and (old is not None or not present):
        return Outcome("ok", {**registered, "changed": False})
    diff = unified(path, old or "", new) if ctx.diff else ""
    if ctx.check:
        return Outcome("changed", {**registered, "changed": True}, diff=diff)
    if old is None and not args.get("path"):  # ~/.ssh is made as ssh makes it; another folder must exist
        made = scripted(await ctx.run(file_argv("~/.ssh", "directory", "700", "", "", False)), registered)
        if made.status == "failed":
            return made
    outcome = await copy({"dest": path}, ctx, None, new.encode())
    outcome.result.update(registered)
    outcome.diff = diff
    return outcome
