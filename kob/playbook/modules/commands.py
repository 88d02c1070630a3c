"""command, shell and wait_for: programs on the host, whose effect kob cannot foresee."""

from __future__ import annotations

import shlex

from kob.commands.tasks import command_argv, exists_argv, shell_argv, wait_argv
from kob.playbook.modules.context import Outcome, scripted


async def command(args, ctx, variables) -> Outcome:
    """A program and its words, no shell: the words reach it exactly as written."""
    words = [str(w) for w in args["argv"]] if args.get("argv") else shlex.split(str(args.get("_raw") or args["cmd"]))
    return await _execute(args, ctx, command_argv(words, args.get("chdir")))


async def shell(args, ctx, variables) -> Outcome:
    """The user's script, given to the host's sh -c as one word (the module's purpose)."""
    return await _execute(args, ctx, shell_argv(str(args.get("_raw") or args["cmd"]), args.get("chdir")))


async def _execute(args, ctx, argv: list[str]) -> Outcome:
    """command and shell: honour creates/removes and check mode, run, and report changed or failed."""
    guard = await guarded(args, ctx)
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


async def guarded(args, ctx) -> str | None:
    """creates: / removes: say the work is already done (or has nothing to work on)."""
    if args.get("creates") and (await ctx.run(exists_argv(str(args["creates"])))).rc == 0:
        return f"skipped, since {args['creates']} exists"
    if args.get("removes") and (await ctx.run(exists_argv(str(args["removes"])))).rc != 0:
        return f"skipped, since {args['removes']} does not exist"
    return None


async def wait_for(args, ctx, variables) -> Outcome:
    kind, what = ("port", str(args["port"])) if "port" in args else ("path", str(args["path"]))
    state = str(args.get("state", "started" if kind == "port" else "present"))
    timeout = int(args.get("timeout", 300))
    result = await ctx.run(wait_argv(kind, what, str(args.get("host", "127.0.0.1")), state, timeout,
                                     int(args.get("delay", 0))), timeout=timeout + 30)
    return scripted(result, {kind: what, "state": state})
