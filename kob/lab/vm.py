"""One lab VM: a network namespace with its own mounts, hostname, sshd and (unless light) Docker Engine."""

from __future__ import annotations

import shlex
import signal
import socket
import time
from pathlib import Path

from kob.errors import LabError
from kob.lab import system
from kob.lab.layout import VmLayout

CONTAINER_GRACE = 3  # s a container has to stop after SIGTERM when its VM stops (dockerd's own default is 10)


def sshd_config(vm: VmLayout, authorized_keys: Path) -> str:
    """OpenSSH's defaults, except what a lab VM needs (own address, key, pid file)."""
    return "\n".join([
        f"ListenAddress {vm.address}",
        f"HostKey {vm.host_key}",
        "PidFile /run/sshd.pid",
        f"AuthorizedKeysFile {authorized_keys}",
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",  # the lab's folder may sit below a group-writable one
        "Subsystem sftp internal-sftp",
        "",
    ])


def boot_script(vm: VmLayout, docker: bool = True) -> str:
    """What runs inside the VM's namespaces: private mounts, hostname, dockerd (unless light), sshd."""
    q = lambda p: shlex.quote(str(p))
    lines = ["#!/bin/sh", "set -e"]
    lines += [f"mount --bind {q(src)} {dst}" for src, dst in vm.private_mounts()]
    lines.append(f"hostname {vm.name}")
    if docker:
        lines.append(f"dockerd --storage-driver overlay2 --exec-opt native.cgroupdriver=cgroupfs"
                     f" --data-root {q(vm.dir / 'docker')} --bip {vm.docker_bridge} --shutdown-timeout 2"
                     f" >>{q(vm.dir / 'dockerd.log')} 2>&1 &")
    lines += [f"/usr/sbin/sshd -D -f {q(vm.dir / 'sshd_config')} -E {q(vm.dir / 'sshd.log')} &", "wait", ""]
    return "\n".join(lines)


def write_files(vm: VmLayout, authorized_keys: Path, docker: bool = True) -> None:
    """The VM's folder: private mount sources, host key, sshd_config, boot script."""
    for src, _ in vm.private_mounts():
        src.mkdir(parents=True, exist_ok=True)
    (vm.run_dir / "sshd").mkdir(mode=0o755, exist_ok=True)
    (vm.dir / "tmp").chmod(0o1777)
    if not vm.host_key.exists():
        system.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"kob-lab {vm.name}", "-f", str(vm.host_key)])
    (vm.dir / "sshd_config").write_text(sshd_config(vm, authorized_keys))
    (vm.dir / "boot.sh").write_text(boot_script(vm, docker))


def create_network(vm: VmLayout) -> None:
    """The namespace, a veth into the lab bridge, the VM's address and route."""
    ns, lab = vm.netns, vm.lab
    if not Path(f"/run/netns/{ns}").exists():
        system.run(["ip", "netns", "add", ns])
    if system.run(["ip", "link", "show", vm.veth], check=False).returncode != 0:
        system.run(["ip", "link", "add", vm.veth, "type", "veth", "peer", "name", "eth0", "netns", ns])
        system.run(["ip", "link", "set", vm.veth, "master", lab.bridge, "up"])
        system.run(["ip", "-n", ns, "addr", "add", f"{vm.address}/24", "dev", "eth0"])
        system.run(["ip", "-n", ns, "link", "set", "eth0", "up"])
        system.run(["ip", "-n", ns, "link", "set", "lo", "up"])
        system.run(["ip", "-n", ns, "route", "add", "default", "via", lab.bridge_address])


def boot(vm: VmLayout) -> int:
    """Start the VM's daemons; return the pid of its process group."""
    argv = ["nsenter", f"--net=/run/netns/{vm.netns}", "unshare", "--mount", "--uts", "--propagation", "private",
            "/bin/sh", str(vm.dir / "boot.sh")]
    return system.spawn(argv, vm.dir / "boot.log")


def health(vm: VmLayout, docker: bool = True) -> dict[str, bool]:
    """Whether the VM's sshd answers with an SSH banner and its dockerd with a ping (a light VM: sshd only)."""
    checks = {"ssh": _ssh_banner(vm.address)}
    if docker:
        checks["docker"] = _docker_ping(vm.docker_socket)
    return checks


def wait_ready(vm: VmLayout, pid: int, docker: bool = True, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(health(vm, docker).values()):
            return
        if not system.alive(pid):
            raise LabError(f"{vm.name} stopped while starting: see {vm.dir}/boot.log, dockerd.log, sshd.log")
        time.sleep(0.2)
    raise LabError(f"{vm.name} did not become ready within {timeout:.0f} s: {health(vm, docker)}; "
                   f"see {vm.dir}/{'dockerd' if docker else 'sshd'}.log")


def _ssh_banner(address: str) -> bool:
    try:
        with socket.create_connection((address, 22), timeout=1) as conn:
            conn.settimeout(1)
            return conn.recv(64).startswith(b"SSH-2.0")
    except OSError:
        return False


def _docker_ping(sock_path: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX) as conn:
            conn.settimeout(1)
            conn.connect(str(sock_path))
            conn.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            return b"OK" in conn.recv(1024)
    except OSError:
        return False


def load_images(vm: VmLayout, archive: bytes) -> None:
    system.run(["docker", "-H", f"unix://{vm.docker_socket}", "load", "-q"], input=archive)


def shutdown(vm: VmLayout, pid: int | None) -> None:
    """Remove the VM's containers, then stop it: what `kob lab down` does before deleting it."""
    if _dockerd_pid(vm):
        _remove_containers(vm)
    halt(vm, pid)


def halt(vm: VmLayout, pid: int | None) -> None:
    """Stop the VM like a machine shutting down, keeping its containers and files.

    dockerd stops its containers (restart policies then apply when it starts
    again), sshd and the boot script end, stragglers in the namespace follow.
    Bounded: containers that ignore SIGTERM are killed after CONTAINER_GRACE s.
    """
    dockerd = _dockerd_pid(vm)
    if dockerd and system.stop([dockerd], timeout=CONTAINER_GRACE):
        system.stop(_container_pids(vm), timeout=2, sig=signal.SIGKILL)
        if system.stop([dockerd], timeout=5, sig=0):  # wait only: repeated signals make dockerd quit uncleanly
            system.stop([dockerd], timeout=2, sig=signal.SIGKILL)
    if pid and system.alive(pid):
        system.stop_group(pid, timeout=5)
    leftovers = system.pids_in_netns(vm.netns)
    if leftovers and system.stop(leftovers, timeout=5):
        system.stop(leftovers, timeout=5, sig=signal.SIGKILL)


def _dockerd_pid(vm: VmLayout) -> int | None:
    """The VM's running dockerd, from its pid file (checked: a stale file may name another process)."""
    pid = _read_pid(vm.run_dir / "docker.pid")
    return pid if pid and system.alive(pid) and pid in system.pids_in_netns(vm.netns) else None


def _container_pids(vm: VmLayout) -> list[int]:
    """The first process of each running container: the children of the VM's containerd shims.

    Read from /proc, not asked of dockerd, which no longer answers once it is stopping.
    """
    shims = {pid for pid in system.pids_in_netns(vm.netns) if _parent_and_name(pid)[1].startswith("containerd-shim")}
    if not shims:
        return []
    pids = [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]
    return [pid for pid in pids if _parent_and_name(pid)[0] in shims]


def _parent_and_name(pid: int) -> tuple[int, str]:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0, ""
    name, rest = stat[stat.index("(") + 1:].rsplit(")", 1)
    return int(rest.split()[1]), name


def _remove_containers(vm: VmLayout) -> None:
    """Containers first: dockerd would otherwise wait for each one to stop."""
    docker = ["docker", "-H", f"unix://{vm.docker_socket}"]
    ids = system.run([*docker, "ps", "-aq"], check=False).stdout.decode().split()
    if ids:
        system.run([*docker, "rm", "-f", *ids], check=False)


def destroy_network(vm: VmLayout) -> None:
    """The VM's namespace and its veth. Deleting the namespace removes the veth too, but the kernel does
    that a moment later, so the veth may vanish between a look and a delete: only one still there fails."""
    if Path(f"/run/netns/{vm.netns}").exists():
        system.run(["ip", "netns", "del", vm.netns])
    for _ in range(50):
        if system.run(["ip", "link", "show", vm.veth], check=False).returncode != 0:
            return
        if system.run(["ip", "link", "del", vm.veth], check=False).returncode == 0:
            return
        time.sleep(0.1)
    system.run(["ip", "link", "del", vm.veth])


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
