"""Names, addresses and paths of a lab and its VMs (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kob.errors import LabError

MAX_VMS = 60
MAX_NET = 15  # docker_bridge has room for labs 0..15
MAX_ETCD_MEMBERS = 9  # etcd members at 198.18.NET.1 ... .9, below the VMs' .11 and up
ETCD_CLIENT_PORT, ETCD_PEER_PORT = 2379, 2380
DOCKER, LIGHT = "docker", "ssh"  # VM kinds: sshd and a Docker Engine; sshd only (~10 MB, for fan-out benches)
VM_KINDS = (DOCKER, LIGHT)


@dataclass(frozen=True)
class LabLayout:
    """Where lab number ``net`` keeps its files and which names and addresses it uses.

    Lab 0 is the default one (bridge 198.18.0.1, VMs 198.18.0.11 ...); other
    numbers let a test lab run beside it without touching it.
    """

    dir: Path
    net: int = 0

    @property
    def prefix(self) -> str:
        return "kob-" if self.net == 0 else f"kob{self.net}-"

    @property
    def bridge(self) -> str:
        return f"kob-lab{self.net}"

    @property
    def bridge_address(self) -> str:
        return f"198.18.{self.net}.1"

    @property
    def etcd_url(self) -> str:
        """The first etcd member's client URL (a one-member lab's only one)."""
        return self.etcd_member(1).client_url

    def etcd_member(self, k: int) -> EtcdMemberLayout:
        if not 1 <= k <= MAX_ETCD_MEMBERS:
            raise LabError(f"etcd member {k} is outside 1..{MAX_ETCD_MEMBERS}")
        return EtcdMemberLayout(self, k)

    def etcd_members(self, count: int) -> list[EtcdMemberLayout]:
        return [self.etcd_member(k) for k in range(1, count + 1)]

    def etcd_state_url(self, count: int) -> str:
        """The inventory's state: for an etcd of ``count`` members."""
        return "etcd://" + ",".join(m.endpoint for m in self.etcd_members(count))

    @property
    def state_file(self) -> Path:
        return self.dir / "lab.json"

    @property
    def client_key(self) -> Path:
        return self.dir / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.dir / "known_hosts"

    @property
    def demo_cert(self) -> Path:
        """A self-signed certificate and key (one PEM, mode 0600) for vm1's address: the demo's HTTPS frontend."""
        return self.dir / "demo-tls.pem"

    @property
    def inventory(self) -> Path:
        return self.dir / "inventory.yaml"

    @property
    def etcd_dir(self) -> Path:
        return self.dir / "etcd"

    @property
    def max_vms(self) -> int:
        """How many VMs a lab of this network holds (docker_bridge has room for MAX_VMS in every network)."""
        return MAX_VMS

    def vm(self, n: int) -> VmLayout:
        if not 1 <= n <= self.max_vms:
            raise LabError(f"VM number {n} is outside 1..{self.max_vms}; is {self.state_file} damaged?")
        return VmLayout(self, n)


@dataclass(frozen=True)
class EtcdMemberLayout:
    """Member ``k`` of the lab's etcd: at 198.18.NET.k on the lab bridge (member 1 at the bridge's own address)."""

    lab: LabLayout
    k: int

    @property
    def name(self) -> str:
        return f"etcd{self.k}"

    @property
    def address(self) -> str:
        return f"198.18.{self.lab.net}.{self.k}"

    @property
    def endpoint(self) -> str:
        return f"{self.address}:{ETCD_CLIENT_PORT}"

    @property
    def client_url(self) -> str:
        return f"http://{self.endpoint}"

    @property
    def peer_url(self) -> str:
        return f"http://{self.address}:{ETCD_PEER_PORT}"

    @property
    def data_dir(self) -> Path:
        return self.lab.etcd_dir / self.name

    @property
    def log(self) -> Path:
        return self.lab.etcd_dir / f"{self.name}.log"


@dataclass(frozen=True)
class VmLayout:
    """One VM of a lab: its namespace, links, addresses and folder."""

    lab: LabLayout
    n: int

    @property
    def name(self) -> str:
        return f"vm{self.n}"

    @property
    def netns(self) -> str:
        return f"{self.lab.prefix}vm{self.n}"

    @property
    def veth(self) -> str:
        return f"{self.lab.prefix}veth{self.n}"

    @property
    def address(self) -> str:
        return f"198.18.{self.lab.net}.{10 + self.n}"

    @property
    def docker_bridge(self) -> str:
        """Docker's bridge inside the VM: a /24 of 198.19.0.0/16 in labs 0..3 (64 VMs' worth each, so
        that is all it holds); a /26 of 198.18.64.0/18 in labs 4..15, beside their VM networks
        (198.18.NET.0/24)."""
        net, n = self.lab.net, self.n
        if net < 4:
            return f"198.19.{net * 64 + n}.1/24"
        if net > MAX_NET:
            raise LabError(f"lab network {net} is outside 0..{MAX_NET}; choose another number")
        block = (net - 4) * 64 + n
        return f"198.18.{64 + block // 4}.{block % 4 * 64 + 1}/26"

    @property
    def dir(self) -> Path:
        return self.lab.dir / self.name

    @property
    def run_dir(self) -> Path:
        """The VM's own /run (docker.sock, sshd's pid file, haproxy's socket)."""
        return self.dir / "run"

    @property
    def docker_socket(self) -> Path:
        return self.run_dir / "docker.sock"

    @property
    def host_key(self) -> Path:
        return self.dir / "ssh_host_ed25519_key"

    def private_mounts(self) -> list[tuple[Path, str]]:
        """Folders of the VM's own, bind-mounted over the machine's inside the VM."""
        return [
            (self.run_dir, "/run"),
            (self.dir / "tmp", "/tmp"),
            (self.dir / "srv", "/srv"),
            (self.dir / "etc-haproxy", "/etc/haproxy"),
            (self.dir / "var-lib-haproxy", "/var/lib/haproxy"),
            # Its own root home: bash started by sshd reads ~/.bashrc even for `bash -c`, and the
            # machine's (pyenv init here) forks about 100 processes per command, which no VM would.
            (self.dir / "root", "/root"),
        ]
