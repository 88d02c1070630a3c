"""The modules `kob run` carries out: each says honestly whether it changed the host.

Host modules run one SSH command (copy with its content on stdin); debug, set_fact,
fail and assert run on the manager. In check mode nothing on a host changes: file and
copy only look, command and shell are skipped.
"""

from __future__ import annotations

import asyncio
import base64
import difflib
import hashlib
import json
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Mapping

from kob.commands.tasks import (OLD_BEGIN, OLD_END, RESULT_MARK, apt_argv, command_argv, copy_argv,
                                docker_container_argv, docker_image_argv, exists_argv, file_argv, octal_mode, read_argv,
                                service_argv, shell_argv, wait_argv)
from kob.deploy.converge import deploy
from kob.playbook.lines import edit_lines
from kob.playbook.values import ansible_bool
from kob.playbook.templating import TemplateError, evaluate, holds, render_file, with_values
from kob.spec.inventory import Inventory, load_inventory
from kob.store import open_store
from kob.transport.base import Transport
from kob.transport.result import Result

ANSIBLE_MANAGED = "Ansible managed"  # ansible-core's default of DEFAULT_MANAGED_STR, so files come out the same

IMPLEMENTED = ("command", "shell", "copy", "template", "file", "lineinfile", "wait_for", "apt", "service", "systemd",
               "docker_image", "docker_container", "kob_deploy", "debug", "set_fact", "fail", "assert")


@dataclass
class Outcome:
    status: str  # ok | changed | failed | skipped
    result: dict[str, Any] = field(default_factory=dict)  # what `register` keeps
    facts: dict[str, Any] = field(default_factory=dict)  # set_fact
    diff: str = ""


@dataclass
class HostContext:
    host: str
    run: Callable[..., Awaitable[Result]]  # run(argv, input=None, timeout=None) -> Result on this host
    check: bool
    diff: bool
    playbook_dir: Path
    inventory: Inventory | None = None  # the run's (kob_deploy's default)
    transport: Transport | None = None  # the run's (kob_deploy deploys through it)
    shared: dict[str, Any] = field(default_factory=dict)  # one task's state shared by its hosts (kob_deploy)
    role_path: Path | None = None  # the task's role: its templates/ and files/ are looked in first


async def run_module(name: str, args: Mapping[str, Any], ctx: HostContext, variables: Mapping[str, Any]) -> Outcome:
    return await _MODULES[name](args, ctx, variables)


async def _debug(args, ctx, variables) -> Outcome:
    if "var" in args:
        name = str(args["var"])
        try:
            return Outcome("ok", {name: evaluate(name, variables)})
        except TemplateError:
            return Outcome("ok", {name: "VARIABLE IS NOT DEFINED!"})
    return Outcome("ok", {"msg": args.get("msg", "Hello world!")})


async def _set_fact(args, ctx, variables) -> Outcome:
    return Outcome("ok", {"ansible_facts": dict(args)}, facts=dict(args))


async def _fail(args, ctx, variables) -> Outcome:
    return Outcome("failed", {"msg": args.get("msg", "Failed as requested from task")})


async def _assert(args, ctx, variables) -> Outcome:
    that = args.get("that", ())
    for expression in [that] if isinstance(that, str) else that:
        if not holds((str(expression),), variables):
            return Outcome("failed", {"msg": args.get("fail_msg", f"Assertion failed: {expression}"),
                                      "assertion": expression})
    return Outcome("ok", {"msg": args.get("success_msg", "All assertions passed")})


async def _command(args, ctx, variables) -> Outcome:
    """A program and its words, no shell: the words reach it exactly as written."""
    words = [str(w) for w in args["argv"]] if args.get("argv") else shlex.split(str(args.get("_raw") or args["cmd"]))
    return await _execute(args, ctx, command_argv(words, args.get("chdir")))


async def _shell(args, ctx, variables) -> Outcome:
    """The user's script, given to the host's sh -c as one word (the module's purpose)."""
    return await _execute(args, ctx, shell_argv(str(args.get("_raw") or args["cmd"]), args.get("chdir")))


async def _execute(args, ctx, argv: list[str]) -> Outcome:
    """command and shell: honour creates/removes and check mode, run, and report changed or failed."""
    guard = await _guard(args, ctx)
    if guard:
        return Outcome("ok", {"msg": guard, "changed": False, "rc": 0, "stdout": "", "stderr": ""})
    if ctx.check:
        return Outcome("skipped", {"msg": "skipped in check mode: a command's effect cannot be foreseen"})
    stdin = args.get("stdin")
    result = await ctx.run(argv, input=None if stdin is None else (str(stdin) + "\n").encode())
    registered = {"rc": result.rc, "stdout": result.stdout.rstrip("\n"), "stderr": result.stderr.rstrip("\n"),
                  "stdout_lines": result.stdout.splitlines(),
                  "cmd": args.get("_raw") or args.get("cmd") or args.get("argv")}
    if result.rc != 0:
        return Outcome("failed", {**registered, "msg": f"non-zero return code {result.rc}"})
    return Outcome("changed", registered)


async def _guard(args, ctx) -> str | None:
    """creates: / removes: say the command already did its work."""
    if args.get("creates") and (await ctx.run(exists_argv(str(args["creates"])))).rc == 0:
        return f"skipped, since {args['creates']} exists"
    if args.get("removes") and (await ctx.run(exists_argv(str(args["removes"])))).rc != 0:
        return f"skipped, since {args['removes']} does not exist"
    return None


async def _file(args, ctx, variables) -> Outcome:
    path = str(args.get("path") or args.get("dest") or "")
    state = str(args.get("state", "file"))
    result = await ctx.run(file_argv(path, state, octal_mode(args.get("mode")), str(args.get("owner", "")),
                                     str(args.get("group", "")), ctx.check))
    return _scripted(result, {"path": path, "state": state})


async def _template(args, ctx, variables) -> Outcome:
    """Rendered on the manager as Ansible's template module renders (trim_blocks on, lstrip_blocks off)."""
    source = _local_file(str(args["src"]), ctx.playbook_dir, "templates", ctx.role_path)
    trim, lstrip = _flag(args, "trim_blocks"), _flag(args, "lstrip_blocks")
    content = render_file(source.read_text(), with_values(variables, template_variables(args, source)),
                          trim_blocks=True if trim is None else trim, lstrip_blocks=bool(lstrip)).encode()
    copied = {key: value for key, value in args.items() if key not in ("trim_blocks", "lstrip_blocks")}
    return await _copy({**copied, "content": None}, ctx, variables, content)


def template_variables(args: Mapping[str, Any], source: Path) -> dict[str, Any]:
    """What Ansible's template module adds to a template's variables."""
    return {"ansible_managed": ANSIBLE_MANAGED, "template_path": str(args["src"]),
            "template_fullpath": str(source.resolve()), "template_destpath": str(args["dest"]),
            "template_host": os.uname().nodename}


async def _lineinfile(args, ctx, variables) -> Outcome:
    path = str(args["path"])
    read = await ctx.run(read_argv(path))
    if read.rc == 3 and not _flag(args, "create"):
        return Outcome("failed", {"msg": f"{path} does not exist (create: true makes it)", "path": path})
    if read.rc not in (0, 3):
        return Outcome("failed", {"msg": (read.stderr.strip().splitlines() or [f"exit {read.rc}"])[-1]})
    old = base64.b64decode("".join(read.stdout.split())).decode(errors="replace") if read.rc == 0 else ""
    line = None if args.get("line") is None else str(args["line"])
    new = edit_lines(old, line, args.get("regexp"), str(args.get("state", "present")))
    if new == old and read.rc == 0:
        return await _file({"path": path, "state": "file", **_attributes(args)}, ctx, variables)
    return await _copy({**_attributes(args), "dest": path}, ctx, variables, new.encode())


async def _wait_for(args, ctx, variables) -> Outcome:
    kind, what = ("port", str(args["port"])) if "port" in args else ("path", str(args["path"]))
    state = str(args.get("state", "started" if kind == "port" else "present"))
    timeout = int(args.get("timeout", 300))
    result = await ctx.run(wait_argv(kind, what, str(args.get("host", "127.0.0.1")), state, timeout,
                                     int(args.get("delay", 0))), timeout=timeout + 30)
    return _scripted(result, {kind: what, "state": state})


async def _docker_image(args, ctx, variables) -> Outcome:
    name, state = str(args["name"]), str(args.get("state", "present"))
    return _scripted(await ctx.run(docker_image_argv(name, state, ctx.check), timeout=600), {"image": name})


async def _docker_container(args, ctx, variables) -> Outcome:
    name, state = str(args["name"]), str(args.get("state", "started"))
    run_args = container_run_args(args) if state != "absent" else []
    digest = hashlib.sha256(json.dumps(run_args).encode()).hexdigest()[:16]
    result = await ctx.run(docker_container_argv(name, state, digest, run_args, ctx.check), timeout=600)
    return _scripted(result, {"container": name, "state": state})


def container_run_args(args: Mapping[str, Any]) -> list[str]:
    """What follows `docker run -d --name NAME`: ports, env, restart policy, the image and its command."""
    words: list[str] = []
    for port in args.get("ports") or ():
        words += ["-p", str(port)]
    for key, value in sorted((args.get("env") or {}).items()):
        words += ["-e", f"{key}={value}"]
    if args.get("restart_policy"):
        words += ["--restart", str(args["restart_policy"])]
    command = args.get("command")
    command_words = shlex.split(command) if isinstance(command, str) else [str(w) for w in command or ()]
    return [*words, str(args["image"]), *command_words]


def _flag(args: Mapping[str, Any], key: str) -> bool | None:
    """A boolean argument (converted at load, or rendered from a template now); None when not given."""
    if key not in args:
        return None
    value = ansible_bool(args[key])
    if value is None:
        raise TemplateError(f"{key} should be true or false (yes/no, on/off), got {str(args[key])[:40]!r}")
    return value


async def _service(args, ctx, variables) -> Outcome:
    enabled = _flag(args, "enabled")
    result = await ctx.run(service_argv(str(args["name"]), str(args.get("state", "")), enabled, ctx.check))
    return _scripted(result, {"name": args["name"]})


async def _apt(args, ctx, variables) -> Outcome:
    names = args.get("name") or []
    packages = [str(n) for n in ([names] if isinstance(names, str) else names)]
    result = await ctx.run(apt_argv(packages, str(args.get("state", "present")), bool(_flag(args, "update_cache")),
                                    ctx.check), timeout=1800)
    return _scripted(result, {"packages": packages})


async def _kob_deploy(args, ctx, variables) -> Outcome:
    """Converge one service of a kob inventory: once per task, whatever the number of hosts."""
    if "deploy" not in ctx.shared:
        ctx.shared["deploy"] = asyncio.ensure_future(_converge(args, ctx))
    return await asyncio.shield(ctx.shared["deploy"])


async def _converge(args, ctx) -> Outcome:
    inventory = load_inventory(_local_file(str(args["inventory"]), ctx.playbook_dir, ".")) \
        if args.get("inventory") else ctx.inventory
    service = str(args["service"])
    inventory.service(service)
    lines: list[str] = []
    async with open_store(inventory.state_url) as store:
        report = await deploy(inventory, store=store, pool=ctx.transport, check=ctx.check, only={service},
                              say=lines.append)
    registered = {"service": service, "plan": [str(a) for a in report.plan.actions], "output": lines}
    if report.failure or report.observation.unreachable:
        return Outcome("failed", {**registered, "msg": report.failure or "; ".join(report.observation.unreachable.values())})
    return Outcome("changed" if report.plan.actions else "ok", registered)


def _attributes(args) -> dict:
    return {key: args[key] for key in ("mode", "owner", "group") if key in args}


async def _copy(args, ctx, variables, content: bytes | None = None) -> Outcome:
    dest = str(args["dest"])
    content = _content(args, ctx.playbook_dir, ctx.role_path) if content is None else content
    argv = copy_argv(dest, hashlib.sha256(content).hexdigest(), octal_mode(args.get("mode")),
                     str(args.get("owner", "")), str(args.get("group", "")), ctx.check, ctx.diff)
    result = await ctx.run(argv, input=content)
    outcome = _scripted(result, {"dest": dest, "checksum": hashlib.sha256(content).hexdigest()})
    if ctx.diff and OLD_BEGIN in result.stdout:
        outcome.diff = _unified(dest, _old_content(result.stdout), content)
    return outcome


def _content(args, playbook_dir: Path, role_path: Path | None = None) -> bytes:
    if "content" in args:
        return str(args["content"]).encode()
    return _local_file(str(args["src"]), playbook_dir, "files", role_path).read_bytes()


def _local_file(name: str, playbook_dir: Path, folder: str, role_path: Path | None = None) -> Path:
    """A file on the manager: in the task's role (its files/ or templates/ folder, or the role's own), as
    given, beside the playbook, or in the playbook's files/ or templates/ folder."""
    roles = (role_path / folder / name, role_path / name) if role_path is not None else ()
    for candidate in (*roles, Path(name), playbook_dir / name, playbook_dir / folder / name):
        if candidate.is_file():
            return candidate
    where = f"{role_path / folder}, " if role_path is not None else ""
    raise FileNotFoundError(f"{name} is not a file in {where}{playbook_dir} or {playbook_dir / folder}")


def _scripted(result: Result, registered: dict) -> Outcome:
    last = result.stdout.rstrip("\n").rsplit("\n", 1)[-1]
    if result.rc != 0 or not last.startswith(RESULT_MARK):
        why = (result.stderr.strip().splitlines() or [f"exit {result.rc}"])[-1]
        return Outcome("failed", {**registered, "msg": why, "rc": result.rc})
    verdict = last[len(RESULT_MARK):].strip()
    if verdict.startswith("failed"):
        return Outcome("failed", {**registered, "msg": verdict[len("failed"):].strip()})
    return Outcome(verdict, {**registered, "changed": verdict == "changed"})


def _old_content(stdout: str) -> bytes:
    inside = stdout.split(OLD_BEGIN, 1)[1].split(OLD_END, 1)[0]
    return base64.b64decode("".join(inside.split()))


def _unified(path: str, old: bytes, new: bytes) -> str:
    lines = difflib.unified_diff(old.decode(errors="replace").splitlines(keepends=True),
                                 new.decode(errors="replace").splitlines(keepends=True),
                                 fromfile=f"before: {path}", tofile=f"after: {path}")
    return "".join(lines)


_MODULES: dict[str, Callable[..., Awaitable[Outcome]]] = {
    "command": _command, "shell": _shell, "copy": _copy, "template": _template, "file": _file,
    "lineinfile": _lineinfile, "wait_for": _wait_for, "apt": _apt, "service": _service, "systemd": _service,
    "docker_image": _docker_image, "docker_container": _docker_container, "kob_deploy": _kob_deploy,
    "debug": _debug, "set_fact": _set_fact, "fail": _fail, "assert": _assert,
}
