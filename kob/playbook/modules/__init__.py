"""The modules `kob run` carries out: each says honestly whether it changed the host.

Host modules run one SSH command where they can (content on stdin): a text file is read in one command,
edited on the manager and written back in a second only when it changes. debug, set_fact, fail, assert and
pause run on the manager. In check mode nothing on a host changes: modules only look and report what would
change; command, shell and uri are skipped. Arguments arrive with Ansible's aliases already resolved.

    context      HostContext, Outcome and the helpers every module shares
    manager      debug, set_fact, fail, assert, pause
    commands     command, shell, wait_for
    files        file, copy, template, lineinfile (and the read-edit-write path)
    text_files   replace, blockinfile
    reading      stat, slurp, fetch
    packages     apt, package, service, systemd
    system       cron, sysctl
    accounts     user, group, authorized_key
    net          get_url, uri, unarchive, known_hosts
    containers   docker_image, docker_container, kob_deploy
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from kob.playbook.module_arguments import canonical_arguments
from kob.playbook.modules import (
    accounts,
    commands,
    containers,
    files,
    manager,
    net,
    packages,
    reading,
    system,
    text_files,
)
from kob.playbook.modules.containers import container_run_args
from kob.playbook.modules.context import (
    HostContext,
    HostFileError,
    Outcome,
    local_file,
    scripted,
)
from kob.playbook.modules.files import ANSIBLE_MANAGED, template_variables

__all__ = ["ANSIBLE_MANAGED", "IMPLEMENTED", "HostContext", "Outcome", "container_run_args", "run_module",
           "template_variables"]

_scripted = scripted  # the names tests and older callers import
_local_file = local_file

_MODULES: dict[str, Callable[..., Awaitable[Outcome]]] = {
    "command": commands.command, "shell": commands.shell, "wait_for": commands.wait_for,
    "copy": files.copy, "template": files.template, "file": files.file, "lineinfile": files.lineinfile,
    "replace": text_files.replace, "blockinfile": text_files.blockinfile,
    "stat": reading.stat, "slurp": reading.slurp, "fetch": reading.fetch,
    "apt": packages.apt, "package": packages.package, "service": packages.service, "systemd": packages.service,
    "cron": system.cron, "sysctl": system.sysctl,
    "user": accounts.user, "group": accounts.group, "authorized_key": accounts.authorized_key,
    "get_url": net.get_url, "uri": net.uri, "unarchive": net.unarchive, "known_hosts": net.known_hosts,
    "docker_image": containers.docker_image, "docker_container": containers.docker_container,
    "kob_deploy": containers.kob_deploy,
    "debug": manager.debug, "set_fact": manager.set_fact, "fail": manager.fail, "assert": manager.assert_,
    "pause": manager.pause,
}

IMPLEMENTED = tuple(_MODULES)


async def run_module(name: str, args: Mapping[str, Any], ctx: HostContext, variables: Mapping[str, Any]) -> Outcome:
    try:
        return await _MODULES[name](canonical_arguments(name, dict(args)), ctx, variables)
    except HostFileError as error:
        return Outcome("failed", {"msg": str(error)})
