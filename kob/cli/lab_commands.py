"""`kob lab up | down | status | stop VM | start VM`: the local lab of VMs."""

from __future__ import annotations

from pathlib import Path

import click

from kob.cli.options import JSON

DIR_OPTION = click.option("--dir", "lab_dir", type=click.Path(path_type=Path), default="/var/lib/kob-lab",
                          show_default=True, help="Where the lab keeps its files.")
NET_OPTION = click.option("--net", type=click.IntRange(0, 15), default=0, show_default=True,
                          help="Lab network number: VMs at 198.18.NET.11 and up (tests use their own).")
# 15: kob.lab.layout.MAX_NET, written out so that `kob --help` imports nothing of the lab


def _lab(lab_dir: Path, net: int):
    from kob.lab.lab import Lab  # the lab is never imported by kob's core, only here
    from kob.lab.layout import LabLayout

    return Lab(LabLayout(lab_dir.absolute(), net))


@click.group()
def lab() -> None:
    """A local lab of real VMs (network namespaces with sshd and Docker, or light ones with sshd only)."""


@lab.command()
@click.option("--vms", type=int, default=3, show_default=True, help="How many VMs (grows an existing lab).")
@click.option("--etcd", "etcd_members", type=int, metavar="N",
              help="Members of the lab's etcd cluster, e.g. 3 (default: 1 for a new lab, else as it is).")
@click.option("--kind", type=click.Choice(["docker", "ssh"]), default="docker", show_default=True,
              help="Kind of the VMs this call adds: sshd and Docker, or ssh: light, sshd only (fan-out benches); "
                   "VMs the lab has keep theirs.")
@DIR_OPTION
@NET_OPTION
def up(vms: int, etcd_members: int | None, kind: str, lab_dir: Path, net: int) -> None:
    """Create or grow the lab; idempotent. `--vms 5` then `--vms 50 --kind ssh`: 5 Docker VMs and 45 light ones."""
    the_lab = _lab(lab_dir, net)
    _print_status(the_lab.up(vms, etcd_members, kind), the_lab)
    click.echo(f"inventory: {the_lab.layout.inventory}")


@lab.command()
@DIR_OPTION
@NET_OPTION
def down(lab_dir: Path, net: int) -> None:
    """Remove every namespace, process, mount, link and file of the lab."""
    _lab(lab_dir, net).down()
    click.echo("lab removed")


@lab.command()
@DIR_OPTION
@NET_OPTION
@JSON
def status(lab_dir: Path, net: int, as_json: bool) -> None:
    """List the lab's VMs with address and health."""
    the_lab = _lab(lab_dir, net)
    if not the_lab.state["vms"]:
        click.echo(f"no lab in {lab_dir}; start one with: kob lab up")
        raise SystemExit(1)
    vms = the_lab.status()
    if as_json:
        import json

        click.echo(json.dumps({"vms": [{"name": vm.name, "address": vm.address, "healthy": vm.healthy,
                                        "running": vm.running, "stopped": vm.stopped, "ssh": vm.ssh,
                                        "docker": vm.docker, "kind": vm.kind} for vm in vms],
                               "etcd": {"url": the_lab.layout.etcd_url, "healthy": the_lab.etcd_healthy()}}))
    else:
        _print_status(vms, the_lab)
    if not all(vm.healthy for vm in vms):
        raise SystemExit(2)  # hosts that failed, as every kob command says it


def _said(vm: str, did: bool, done: str, already: str) -> None:
    click.echo(f"{vm} {done}" if did else f"{vm} is already {already}")


@lab.command()
@click.argument("vm")
@DIR_OPTION
@NET_OPTION
def stop(vm: str, lab_dir: Path, net: int) -> None:
    """Stop one VM like a machine going away (its containers are kept), or kill one etcd member (etcd2);
    `kob lab start NAME` brings it back."""
    the_lab = _lab(lab_dir, net)
    _said(vm, the_lab.stop_etcd(vm) if _is_etcd(vm) else the_lab.stop_vm(vm), "stopped", "stopped")


@lab.command()
@click.argument("vm")
@DIR_OPTION
@NET_OPTION
def start(vm: str, lab_dir: Path, net: int) -> None:
    """Boot a stopped VM again and wait until it answers ssh and docker; or start an etcd member (etcd2)."""
    the_lab = _lab(lab_dir, net)
    _said(vm, the_lab.start_etcd(vm) if _is_etcd(vm) else the_lab.start_vm(vm), "started", "running")


def _is_etcd(name: str) -> bool:
    return name.startswith("etcd")


def _print_status(vms, the_lab) -> None:
    for vm in vms:
        health = "up" if vm.healthy else "stopped" if vm.stopped else "DOWN" if not vm.running else "degraded"
        docker = "none (light)" if vm.kind == "ssh" else "ok" if vm.docker else "no"
        detail = f"ssh={'ok' if vm.ssh else 'no'} docker={docker}"
        click.echo(f"{vm.name:<6} {vm.address:<15} {health:<9} {detail}")
    for member, answers in the_lab.etcd_status().items():
        click.echo(f"{member.name:<6} {member.endpoint:<20} {'up' if answers else 'DOWN'}")
