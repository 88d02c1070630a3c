"""Modules that run on the manager only: debug, set_fact, fail, assert and pause."""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import datetime

from kob.playbook.modules.context import Outcome
from kob.playbook.templating import TemplateError, evaluate, holds

MAX_PAUSE_SECONDS = 24 * 3600


async def debug(args, ctx, variables) -> Outcome:
    if "var" in args:
        name = str(args["var"])
        try:
            return Outcome("ok", {name: evaluate(name, variables)})
        except TemplateError:
            return Outcome("ok", {name: "VARIABLE IS NOT DEFINED!"})
    return Outcome("ok", {"msg": args.get("msg", "Hello world!")})


async def set_fact(args, ctx, variables) -> Outcome:
    return Outcome("ok", {"ansible_facts": dict(args)}, facts=dict(args))


async def fail(args, ctx, variables) -> Outcome:
    return Outcome("failed", {"msg": args.get("msg", "Failed as requested from task")})


async def assert_(args, ctx, variables) -> Outcome:
    that = args.get("that", ())
    for expression in [that] if isinstance(that, str) else that:
        if not holds((str(expression),), variables):
            return Outcome("failed", {"msg": args.get("fail_msg", f"Assertion failed: {expression}"),
                                      "assertion": expression})
    return Outcome("ok", {"msg": args.get("success_msg", "All assertions passed")})


async def pause(args, ctx, variables) -> Outcome:
    """Wait once per task, however many hosts run it (as Ansible's pause does); a prompt needs a terminal."""
    if "pause" not in ctx.shared:
        ctx.shared["pause"] = asyncio.ensure_future(_pause_once(args))
    return await asyncio.shield(ctx.shared["pause"])


async def _pause_once(args) -> Outcome:
    seconds = _pause_seconds(args)
    start = datetime.now()
    began = time.monotonic()
    user_input = ""
    if seconds is None:
        if not sys.stdin.isatty():
            return Outcome("failed", {"msg": "pause: a prompt without seconds or minutes waits for a person at the "
                                             "terminal, and kob run's standard input is not one; give seconds: "
                                             "or minutes:"})
        user_input = await asyncio.to_thread(input, f"[pause] {args.get('prompt') or 'Press enter to continue'}: ")
    else:
        if args.get("prompt"):
            print(f"[pause] {args['prompt']} (waiting {seconds:g} s)")
        await asyncio.sleep(seconds)
    return Outcome("ok", {"start": str(start), "stop": str(datetime.now()), "delta": int(time.monotonic() - began),
                          "user_input": user_input, "echo": True})


def _pause_seconds(args) -> float | None:
    total = None
    for key, unit in (("seconds", 1), ("minutes", 60)):
        if args.get(key) not in (None, ""):
            try:
                value = float(args[key]) * unit
            except (TypeError, ValueError):
                raise TemplateError(f"pause: {key} should be a number, got {str(args[key])[:40]!r}") from None
            if not 0 <= value <= MAX_PAUSE_SECONDS:
                raise TemplateError(f"pause: {key} should be between 0 and {MAX_PAUSE_SECONDS // 60} minutes")
            total = (total or 0) + value
    return total
