"""docker_image, docker_container and kob_deploy: containers on the host, and a kob service everywhere."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shlex
from collections.abc import Mapping
from typing import Any

from kob.commands.tasks import docker_container_argv, docker_image_argv
from kob.deploy.converge import deploy
from kob.playbook.modules.context import Outcome, local_file, scripted
from kob.spec.inventory import load_inventory
from kob.store import open_store


async def docker_image(args, ctx, variables) -> Outcome:
    name, state = str(args["name"]), str(args.get("state", "present"))
    return scripted(await ctx.run(docker_image_argv(name, state, ctx.check), timeout=600), {"image": name})


async def docker_container(args, ctx, variables) -> Outcome:
    name, state = str(args["name"]), str(args.get("state", "started"))
    run_args = container_run_args(args) if state != "absent" else []
    digest = hashlib.sha256(json.dumps(run_args).encode()).hexdigest()[:16]
    result = await ctx.run(docker_container_argv(name, state, digest, run_args, ctx.check), timeout=600)
    return scripted(result, {"container": name, "state": state})


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


async def kob_deploy(args, ctx, variables) -> Outcome:
    """Converge one service of a kob inventory: once per task, whatever the number of hosts."""
    if "deploy" not in ctx.shared:
        ctx.shared["deploy"] = asyncio.ensure_future(_converge(args, ctx))
    return await asyncio.shield(ctx.shared["deploy"])


async def _converge(args, ctx) -> Outcome:
    inventory = load_inventory(local_file(str(args["inventory"]), ctx.playbook_dir, ".")) \
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
