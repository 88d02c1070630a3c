"""`kob init [PATH] | completion SHELL`: a starter inventory, and shell completion, for the manager's user."""

from __future__ import annotations

from pathlib import Path

import click

from kob.errors import SpecError

SHELLS = ("bash", "zsh", "fish")

STARTER = """\
# A kob inventory: the hosts kob reaches over SSH, the services it runs there, the load balancer.
# Replace the example addresses (192.0.2.x is a range kept for documentation) with your hosts', then:
#   kob exec {name} hostname          # every host answers?
#   kob deploy {name} --check         # the plan; changes nothing
#   kob deploy {name}                 # converge
ssh:
  user: root                          # who kob logs in as (docker must work for this user)
  # key: ~/.ssh/id_ed25519            # default: the usual keys in ~/.ssh (id_ed25519, id_rsa ...)
  # known_hosts: ~/.ssh/known_hosts   # the hosts' keys: kob always verifies them (this is the default)
  connect_timeout: 10s
# state: etcd://10.0.0.1:2379         # where kob keeps revisions, counts and events;
                                      # left out: {stem}.kob.db beside this file (SQLite)
hosts:
  vm1: {{address: 192.0.2.11, roles: [lb]}}   # the lb role: HAProxy runs here
  vm2: {{address: 192.0.2.12, labels: {{zone: a}}}}
  vm3: {{address: 192.0.2.13, labels: {{zone: b}}}}
groups:
  workers: [vm2, vm3]                 # a name for --hosts patterns, e.g. kob exec {name} uptime --hosts workers
services:
  web:
    image: nginx:1.27                 # docker pull it on the manager (or one host): kob ships it to the rest
    replicas: 2
    port: 80                          # the port inside the container
    # env_file: web.env               # secrets: read here, never stored or shown
    healthcheck: {{http: /, interval: 2s, timeout: 1s, retries: 3}}
    placement: {{strategy: spread}}     # constraints: [zone==a], max_per_host: 1
    update: {{parallelism: 1, order: start-first, failure_action: rollback}}
    # autoscale: {{min: 2, max: 6, cpu: 60}}   # cpu: % of resources.cpus
lb:
  frontends:
    http: {{bind: 80, default: web}}    # routes: [{{host: api.example.com, path: /v1, service: api}}]
# jobs:                               # batch jobs: kob job submit {name} -t hello
#   hello: {{image: busybox:1.36, command: [echo, hello], retries: 1}}
metrics: {{retention: 1h}}              # how long resource samples stay in the store
heal: {{down_after: 60s}}               # a host silent this long is down: its replicas move
"""


def starter_inventory(path: Path) -> str:
    """The commented starter inventory that `kob init` writes at ``path``."""
    return STARTER.format(name=path.name, stem=path.stem)


@click.command("init")
@click.argument("path", type=click.Path(path_type=Path), default="inventory.yaml")
@click.option("--force", is_flag=True, help="Overwrite the file if it exists.")
def init_command(path: Path, force: bool) -> None:
    """Write a commented starter inventory (default: inventory.yaml); fill in your hosts' addresses."""
    if path.is_dir():
        raise SpecError(str(path), None, "", f"is a folder; name the file, e.g. {path / 'inventory.yaml'}")
    if path.exists() and not force:
        raise SpecError(str(path), None, "", "already exists; keep it, or write it again with --force")
    if not path.parent.is_dir():
        raise SpecError(str(path), None, "", f"no folder {path.parent}; make it first")
    path.write_text(starter_inventory(path))
    click.echo(f"wrote {path}: replace the example addresses with your hosts', then `kob deploy {path} --check`")


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion_command(ctx: click.Context, shell: str) -> None:
    """Print the shell completion script: eval "$(kob completion bash)" in ~/.bashrc (zsh alike);
    kob completion fish > ~/.config/fish/completions/kob.fish."""
    from click.shell_completion import get_completion_class

    script = get_completion_class(shell)(ctx.find_root().command, {}, "kob", "_KOB_COMPLETE")
    click.echo(script.source())
