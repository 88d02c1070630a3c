"""Images on the lab: built on the manager's Docker, streamed once to the VMs that lack them, gzipped, and a
second version that shares the first one's layers moves only its new layer. Real Docker Engine and OpenSSH."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.helpers.lab_services import kob, on_vm

REF = "kob-test/images"
SERVICE = """services:
  shipped:
    image: {ref}
    replicas: {replicas}
    placement: {{hosts: "vm2,vm3", max_per_host: 1}}
"""
SENT = re.compile(r"^  image (\S+): manager → (vm\d): ([0-9.]+) MB in [0-9.]+ s(?:, it had (\d+) of (\d+) layers)?$",
                  re.MULTILINE)


def forget_images(lab) -> None:
    for vm in ("vm1", "vm2", "vm3"):
        on_vm(lab, vm, f"docker rmi -f {REF}:1 {REF}:2 >/dev/null 2>&1 || true")


@pytest.fixture
def built(lab, tmp_path) -> dict[str, str]:
    """v1 (the demo image plus a layer of real files, about 1 MB) and v2 (v1 plus one small file) on vm1's Docker,
    which plays the manager's own; tag → image ID. The images and the service are gone afterwards."""
    forget_images(lab)
    context = tmp_path / "context"
    shutil.copytree(Path(json.__file__).parent.parent / "email", context / "files")  # real files, compressible
    (context / "Dockerfile.v1").write_text("FROM kob-demo/web:1\nCOPY files /files\n")
    (context / "small.txt").write_text("the second version\n" * 100)
    (context / "Dockerfile.v2").write_text(f"FROM {REF}:1\nCOPY small.txt /small.txt\n")
    ids = {}
    for tag in ("1", "2"):
        on_vm(lab, "vm1", f"docker build -q -t {REF}:{tag} -f {context}/Dockerfile.v{tag} {context}")
        ids[tag] = on_vm(lab, "vm1", f"docker image inspect --format '{{{{.Id}}}}' {REF}:{tag}").strip()
    path = tmp_path / "inventory.yaml"
    try:
        yield {"inventory": str(path), **ids}
    finally:
        path.write_text(lab.layout.inventory.read_text() + SERVICE.format(ref=f"{REF}:1", replicas=0))
        kob("down", str(path), "--wait", "30")
        forget_images(lab)


def deploy(lab, path: str, tag: str) -> str:
    Path(path).write_text(lab.layout.inventory.read_text() + SERVICE.format(ref=f"{REF}:{tag}", replicas=2))
    manager = {"DOCKER_HOST": f"unix://{lab.layout.vm(1).docker_socket}"}
    done = kob("deploy", path, "--wait", "30", env=manager)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def running_images(lab, path: str) -> dict[str, str]:
    """host → image of each running replica of the service."""
    status = json.loads(kob("status", path, "--json").stdout)
    service, = [s for s in status["services"] if s["service"] == "shipped"]
    return {r["host"]: r["image"] for r in service["replicas"] if r["state"] == "running"}


def test_an_image_travels_to_the_vms_and_its_next_version_moves_only_the_new_layer(lab, built):
    first = deploy(lab, built["inventory"], "1")
    sent1 = {host: (float(mb), had) for ref, host, mb, had, _ in SENT.findall(first) if ref == f"{REF}:1"}
    assert set(sent1) == {"vm2", "vm3"}, first
    for vm in ("vm2", "vm3"):
        assert on_vm(lab, vm, f"docker image inspect --format '{{{{.Id}}}}' {REF}:1").strip() == built["1"]
    assert running_images(lab, built["inventory"]) == {"vm2": f"{REF}:1", "vm3": f"{REF}:1"}
    assert all(had for _, had in sent1.values()), "the VMs have the demo image's layers: those stay out"

    second = deploy(lab, built["inventory"], "2")
    sent2 = {host: (float(mb), had, of) for ref, host, mb, had, of in SENT.findall(second) if ref == f"{REF}:2"}
    assert set(sent2) == {"vm2", "vm3"}, second
    for vm in ("vm2", "vm3"):
        assert on_vm(lab, vm, f"docker image inspect --format '{{{{.Id}}}}' {REF}:2").strip() == built["2"]
        mb, had, of = sent2[vm]
        assert int(had) == int(of) - 1  # only the new layer travelled
        assert mb <= 0.1 < sent1[vm][0]
    assert running_images(lab, built["inventory"]) == {"vm2": f"{REF}:2", "vm3": f"{REF}:2"}


# In vm3's own ~/.bashrc (bash started by sshd reads it even for `bash -c`): `docker load` fails there the way a
# full disk or a missing daemon makes it fail, without reading its input; every other docker command is Docker.
FAILING_LOAD = """docker() {
  if [ "$1" = load ]; then echo "Error processing tar file(exit status 1): write /files/x: no space left on device" >&2
    return 1; fi
  command docker "$@"
}
"""


@pytest.fixture
def vm3_cannot_load(lab):
    bashrc = lab.layout.vm(3).dir / "root" / ".bashrc"
    kept = bashrc.read_text() if bashrc.exists() else None
    bashrc.write_text((kept or "") + FAILING_LOAD)
    try:
        yield
    finally:
        if kept is None:
            bashrc.unlink()
        else:
            bashrc.write_text(kept)


def test_a_vm_whose_load_fails_is_named_with_dockers_reason_and_the_others_get_the_image(lab, built,
                                                                                         vm3_cannot_load):
    manager = {"DOCKER_HOST": f"unix://{lab.layout.vm(1).docker_socket}"}
    done = kob("send-image", str(lab.layout.inventory), f"{REF}:1", "--hosts", "vm2,vm3", env=manager)
    assert done.returncode == 1, done.stdout + done.stderr
    reason = "docker load failed: Error processing tar file(exit status 1): write /files/x: no space left on device"
    assert f"! image {REF}:1 not sent to vm3: {reason}" in done.stdout.splitlines()
    assert done.stderr.strip().splitlines()[-1] == f"kob: error: vm3: {reason}"
    assert SENT.search(done.stdout).group(2) == "vm2"
    assert on_vm(lab, "vm2", f"docker image inspect --format '{{{{.Id}}}}' {REF}:1").strip() == built["1"]
    assert on_vm(lab, "vm3", f"docker image ls -q {REF}:1").strip() == ""
