"""A local lab of real "VMs" (network namespaces with their own sshd and Docker Engine, or light ones with sshd only).

kob's core never imports this module: it reaches lab VMs through an inventory,
exactly as it reaches real ones.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from kob.errors import LabError
from kob.lab import demo_image, etcd_server, system
from kob.lab import vm as vmlib
from kob.lab.layout import (
    DOCKER,
    LIGHT,
    MAX_ETCD_MEMBERS,
    VM_KINDS,
    EtcdMemberLayout,
    LabLayout,
    VmLayout,
)

FORBIDDEN_PARENTS = ("/tmp", "/run", "/srv", "/var/run")
LIGHT_ROLE = "light"  # of the light VMs in the lab's inventory


@dataclass(frozen=True)
class VmStatus:
    name: str
    address: str
    running: bool
    ssh: bool
    docker: bool
    stopped: bool = False  # by `kob lab stop`, not crashed
    kind: str = DOCKER

    @property
    def healthy(self) -> bool:
        return self.running and self.ssh and (self.docker or self.kind == LIGHT)


class Lab:
    """Bring a lab up (idempotently, growing it on demand), stop and start single VMs, report, take it down."""

    def __init__(self, layout: LabLayout):
        self.layout = layout
        self.state = self._load_state()

    # -- state file -------------------------------------------------------
    def _load_state(self) -> dict:
        try:
            state = json.loads(self.layout.state_file.read_text())
        except FileNotFoundError:
            return {"net": self.layout.net, "vms": {}, "etcd_pids": []}
        if state.get("net") != self.layout.net:
            raise LabError(f"{self.layout.dir} holds lab network {state.get('net')}, not {self.layout.net}")
        if "etcd_pid" in state:  # written by a kob whose lab had one etcd member
            pid = state.pop("etcd_pid")
            state["etcd_pids"] = [pid] if pid else []
        return state

    def _save_state(self) -> None:
        self.layout.state_file.write_text(json.dumps(self.state, indent=2) + "\n")

    def vm_layouts(self) -> list[VmLayout]:
        return [self.layout.vm(n) for n in sorted(v["n"] for v in self.state["vms"].values())]

    def kind(self, vm: VmLayout) -> str:
        """The VM's kind as it was made (a lab from before light VMs has only Docker ones)."""
        return self.state["vms"].get(vm.name, {}).get("kind", DOCKER)

    def _has_docker(self, vm: VmLayout) -> bool:
        return self.kind(vm) == DOCKER

    # -- up ---------------------------------------------------------------
    def up(self, vms: int = 3, etcd: int | None = None, kind: str = DOCKER) -> list[VmStatus]:
        """Create the lab or grow it to ``vms`` VMs; boot again any VM that is stopped or dead.

        ``etcd``: members of the lab's etcd (default: as many as it has, 1 for a new lab); a dead
        member is started again on its data. ``kind``: of the VMs this call adds (docker, or ssh:
        light, sshd only); VMs the lab has keep theirs.
        """
        system.check_prerequisites()
        self._check_dir()
        if not 1 <= vms <= self.layout.max_vms:
            raise LabError(f"--vms must be between 1 and {self.layout.max_vms}, got {vms}")
        if etcd is not None and not 1 <= etcd <= MAX_ETCD_MEMBERS:
            raise LabError(f"--etcd must be between 1 and {MAX_ETCD_MEMBERS}, got {etcd}")
        if kind not in VM_KINDS:
            raise LabError(f"--kind must be one of {', '.join(VM_KINDS)}, got {kind!r}")
        self.layout.dir.mkdir(mode=0o755, parents=True, exist_ok=True)
        self._save_state()
        self._client_key()
        self._demo_certificate()
        self._bridge()
        self._etcd(etcd)
        wanted = [self.layout.vm(n) for n in range(1, max(vms, len(self.state["vms"])) + 1)]
        booted = [vm for vm in wanted if self._boot_if_needed(vm, kind)]
        for vm in booted:
            vmlib.wait_ready(vm, self.state["vms"][vm.name]["pid"], self._has_docker(vm))
        self._write_known_hosts()
        self._load_images([vm for vm in wanted if self._has_docker(vm)])  # also refreshes VMs left from an older kob's demo images
        self._write_inventory()
        return self.status()

    def _check_dir(self) -> None:
        resolved = self.layout.dir.resolve()
        for parent in FORBIDDEN_PARENTS:
            if resolved == Path(parent) or Path(parent) in resolved.parents:
                raise LabError(f"--dir {self.layout.dir}: the lab cannot live under {parent}, "
                               "which each VM mounts privately; use a folder such as /var/lib/kob-lab")

    def _client_key(self) -> None:
        key = self.layout.client_key
        if not key.exists():
            system.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kob-lab client", "-f", str(key)])
        (self.layout.dir / "authorized_keys").write_text(key.with_suffix(".pub").read_text())

    def _demo_certificate(self) -> None:
        """The example inventory's TLS frontend serves this self-signed certificate; made with openssl if missing."""
        pem = self.layout.demo_cert
        if pem.exists():
            return
        address = self.layout.vm(1).address
        with tempfile.TemporaryDirectory(dir=self.layout.dir) as private:  # mode 0700: the key is never readable
            key, crt = Path(private) / "key.pem", Path(private) / "crt.pem"
            system.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", str(key), "-out", str(crt), "-days", "90", "-subj", "/CN=kob lab demo",
                        "-addext", f"subjectAltName=IP:{address},DNS:localhost"])
            descriptor = os.open(pem, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as out:
                out.write(crt.read_bytes() + key.read_bytes())

    def _bridge(self) -> None:
        bridge = self.layout.bridge
        if system.run(["ip", "link", "show", bridge], check=False).returncode != 0:
            system.run(["ip", "link", "add", bridge, "type", "bridge"])
            system.run(["ip", "addr", "add", f"{self.layout.bridge_address}/24", "dev", bridge])
        system.run(["ip", "link", "set", bridge, "up"])

    def _etcd(self, count: int | None) -> None:
        pids = list(self.state.get("etcd_pids") or [])
        if count is not None and pids and len(pids) != count:
            raise LabError(f"the lab's etcd has {len(pids)} member(s), not {count}; `kob lab down` first "
                           "to make it anew (that removes the lab's state)")
        count = count or len(pids) or 1
        pids = pids or [None] * count
        for k, member in enumerate(self.etcd_layouts(count), start=1):
            if not system.alive(pids[k - 1]):  # alive but not yet healthy: it waits for the others
                pids[k - 1] = etcd_server.start(member, count)
                self.state["etcd_pids"] = pids
                self._save_state()  # `down` ends it even if this `up` fails later
        etcd_server.wait_ready(list(zip(self.etcd_layouts(count), pids)))

    def etcd_layouts(self, count: int | None = None) -> list[EtcdMemberLayout]:
        return self.layout.etcd_members(count or len(self.state.get("etcd_pids") or []) or 1)

    def _boot_if_needed(self, vm: VmLayout, new_kind: str) -> bool:
        known = self.state["vms"].get(vm.name)
        kind = self.kind(vm) if known else new_kind
        if known and system.alive(known["pid"]) and all(vmlib.health(vm, kind == DOCKER).values()):
            return False
        if known:
            vmlib.shutdown(vm, known["pid"])
        vmlib.write_files(vm, self.layout.dir / "authorized_keys", kind == DOCKER)
        vmlib.create_network(vm)
        self.state["vms"][vm.name] = {"n": vm.n, "address": vm.address, "pid": vmlib.boot(vm), "kind": kind}
        self._save_state()
        return True

    def _write_known_hosts(self) -> None:
        lines = []
        for vm in self.vm_layouts():
            key_type, key = vm.host_key.with_suffix(".pub").read_text().split()[:2]
            lines.append(f"{vm.address} {key_type} {key}\n")
        self.layout.known_hosts.write_text("".join(lines))

    def _load_images(self, vms: list[VmLayout]) -> None:
        if not vms:
            return
        archive, _ = demo_image.save_archive()
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda vm: vmlib.load_images(vm, archive), vms))

    def _write_inventory(self) -> None:
        light = [vm.name for vm in self.vm_layouts() if not self._has_docker(vm)]
        self.layout.inventory.write_text(lab_inventory(self.layout, self.vm_layouts(), len(self.state["etcd_pids"]),
                                                       light))

    # -- status -----------------------------------------------------------
    def status(self) -> list[VmStatus]:
        result = []
        for vm in self.vm_layouts():
            checks = vmlib.health(vm, self._has_docker(vm))
            pid = self.state["vms"][vm.name]["pid"]
            running = system.alive(pid)
            result.append(VmStatus(vm.name, vm.address, running, checks["ssh"], checks.get("docker", False),
                                   stopped=pid is None and not running, kind=self.kind(vm)))
        return result

    def etcd_healthy(self) -> bool:
        """Every member runs and answers."""
        return all(self.etcd_status().values())

    def etcd_status(self) -> dict[EtcdMemberLayout, bool]:
        """Each member of the lab's etcd, and whether it runs and answers."""
        pids = self.state.get("etcd_pids") or [None]
        return {member: system.alive(pid) and etcd_server.healthy(member)
                for member, pid in zip(self.etcd_layouts(len(pids)), pids)}

    # -- stop and start one etcd member ---------------------------------------
    def stop_etcd(self, name: str) -> bool:
        """Kill one etcd member (SIGKILL, like its machine losing power); False when it was not running."""
        _require_root()
        k = self._known_member(name)
        pid = self.state["etcd_pids"][k - 1]
        running = system.alive(pid)
        if running:
            system.stop([pid], timeout=10, sig=signal.SIGKILL)
        self.state["etcd_pids"][k - 1] = None
        self._save_state()
        return running

    def start_etcd(self, name: str) -> bool:
        """Start a stopped etcd member again on its data, and wait until it answers; False when it ran."""
        system.check_prerequisites()
        k = self._known_member(name)
        pids = self.state["etcd_pids"]
        if system.alive(pids[k - 1]):
            return False
        member = self.layout.etcd_member(k)
        pids[k - 1] = etcd_server.start(member, len(pids))
        self._save_state()
        if 2 * sum(system.alive(pid) for pid in pids) > len(pids):
            etcd_server.wait_ready([(member, pids[k - 1])])
        else:  # too few members run to elect a leader: it answers once enough of them are back
            etcd_server.wait_listening(member, pids[k - 1])
        return True

    def _known_member(self, name: str) -> int:
        count = len(self.state.get("etcd_pids") or [])
        rest = name.removeprefix("etcd")
        if not (rest.isdigit() and 1 <= int(rest) <= count):
            members = ", ".join(f"etcd{k}" for k in range(1, count + 1)) or "none (start the lab: kob lab up)"
            raise LabError(f"no etcd member {name!r} in the lab in {self.layout.dir}; its members are: {members}")
        return int(rest)

    # -- stop and start one VM ----------------------------------------------
    def stop_vm(self, name: str) -> bool:
        """Stop a VM like a machine going away; keep its containers, namespace and files.

        Returns False when it was already stopped. `start_vm` (or `up`) boots it again.
        """
        _require_root()
        vm = self._known_vm(name)
        pid = self.state["vms"][name]["pid"]
        changed = system.alive(pid) or bool(system.pids_in_netns(vm.netns))
        if changed:
            vmlib.halt(vm, pid)
        self.state["vms"][name]["pid"] = None  # never signal a recorded pid the system may give to another process
        self._save_state()
        return changed

    def start_vm(self, name: str) -> bool:
        """Boot a stopped VM again and wait until ssh and docker answer; False when it was running."""
        system.check_prerequisites()
        vm = self._known_vm(name)
        if system.alive(self.state["vms"][name]["pid"]):
            return False
        vmlib.halt(vm, None)  # what is left of a VM that died on its own
        vmlib.create_network(vm)
        pid = vmlib.boot(vm)
        self.state["vms"][name]["pid"] = pid
        self._save_state()
        vmlib.wait_ready(vm, pid, self._has_docker(vm))
        return True

    def _known_vm(self, name: str) -> VmLayout:
        known = self.state["vms"].get(name)
        if not known:
            names = ", ".join(vm.name for vm in self.vm_layouts())
            if not names:
                raise LabError(f"no lab in {self.layout.dir} (network {self.layout.net}); start one with: kob lab up")
            raise LabError(f"no VM {name!r} in the lab in {self.layout.dir}; its VMs are: {names}")
        return self.layout.vm(known["n"])

    # -- down -------------------------------------------------------------
    def down(self) -> None:
        """Remove every namespace, link, process and file the lab made."""
        _require_root()
        failures = []
        for vm in self._all_vms():  # every VM, even when one fails: a half-removed lab is worse
            try:
                vmlib.shutdown(vm, self.state["vms"].get(vm.name, {}).get("pid"))
                vmlib.destroy_network(vm)
            except LabError as error:
                failures.append(error)
        for pid in self.state.get("etcd_pids") or []:
            if pid:
                system.stop_group(pid, timeout=10)
        system.stop(etcd_server.strays(self.layout), timeout=10, sig=signal.SIGKILL)
        if system.run(["ip", "link", "show", self.layout.bridge], check=False).returncode == 0:
            system.run(["ip", "link", "del", self.layout.bridge])
        if failures:
            raise failures[0]
        self._remove_files()
        self.state = {"net": self.layout.net, "vms": {}, "etcd_pids": []}

    def _all_vms(self) -> list[VmLayout]:
        """VMs in the state file, and any namespace of this lab it lost track of."""
        numbers = {v["n"] for v in self.state["vms"].values()}
        listing = system.run(["ip", "netns", "list"], check=False).stdout.decode()
        for line in listing.splitlines():
            name = line.split()[0] if line.split() else ""
            rest = name.removeprefix(f"{self.layout.prefix}vm")
            if name.startswith(f"{self.layout.prefix}vm") and rest.isdigit() and 1 <= int(rest) <= self.layout.max_vms:
                numbers.add(int(rest))
        return [self.layout.vm(n) for n in sorted(numbers)]

    def _remove_files(self) -> None:
        lab_dir = self.layout.dir
        if not lab_dir.exists():
            return
        made = ["lab.json", "id_ed25519", "id_ed25519.pub", "authorized_keys", "known_hosts", "inventory.yaml", "etcd",
                "demo-tls.pem"]
        made += [p.name for p in lab_dir.glob("vm*") if p.name[2:].isdigit()]
        for name in made:
            path = lab_dir / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        if not any(lab_dir.iterdir()):
            lab_dir.rmdir()


def _require_root() -> None:
    if os.geteuid() != 0:
        raise LabError("kob lab needs root: it creates network namespaces, mounts and daemons")


def lab_inventory(layout: LabLayout, vms: list[VmLayout], etcd_members: int = 1, light: Collection[str] = ()) -> str:
    """An inventory for the lab: vm1 runs the load balancer, state in the lab's etcd (every member);
    the ``light`` VMs (sshd, no Docker) have the role ``light``, so `--hosts light` or `--hosts '!light'` pick them."""
    lines = [
        "# The kob lab's VMs, written by `kob lab up`.",
        "ssh:",
        "  user: root",
        f"  key: {layout.client_key}",
        f"  known_hosts: {layout.known_hosts}",
        f"state: {layout.etcd_state_url(max(etcd_members, 1))}",
        "hosts:",
    ]
    for vm in vms:
        roles = [role for role, has in (("lb", vm.n == 1), (LIGHT_ROLE, vm.name in light)) if has]
        roles = f", roles: [{', '.join(roles)}]" if roles else ""
        lines.append(f"  {vm.name}: {{address: {vm.address}{roles}}}")
    return "\n".join(lines) + "\n"
