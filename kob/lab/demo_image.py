"""The lab's demo images, built without Docker or a registry.

A tiny web app on busybox httpd that answers with its version, service,
replica and host, and serves /healthz; /cgi-bin/delayed gives the same
answer a second later (a request still in flight when a replica dies).
The images are written in the `docker save` format with fixed timestamps,
so every VM and every rebuild gets the same image IDs (kob compares images
by ID).
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
import tarfile
from pathlib import Path

BUSYBOX = Path("/bin/busybox")
REPOSITORY = "kob-demo/web"
VERSIONS = ("1", "2", "broken")  # "broken" never reports healthy: for failed rollouts
APPLETS = ("sh", "httpd", "echo", "sleep", "cat", "printf", "hostname", "mkdir", "env", "ls", "wget", "yes")
CREATED = "2026-01-01T00:00:00Z"

ENTRYPOINT = """#!/bin/sh
# kob's demo web app: answers with its version, service, replica and host; /healthz when healthy.
mkdir -p /www
version=$(cat /etc/kob-demo-version)
printf 'kob-demo %s service=%s replica=%s host=%s container=%s\\n' \\
  "$version" "${KOB_SERVICE:-none}" "${KOB_REPLICA:-none}" "${KOB_HOST:-none}" "$(hostname)" >/www/index.html
[ "$version" = broken ] || echo ok >/www/healthz
echo "kob-demo $version: replica ${KOB_REPLICA:-none} of ${KOB_SERVICE:-none} listening on ${PORT:-80}"
httpd -f -v -p "${PORT:-80}" -h /www &  # -v: one line per request on stderr
trap 'kill $!; exit 0' TERM INT  # PID 1 has no default signal handlers: stop promptly on docker stop
wait
"""


DELAYED = """#!/bin/sh
sleep 1
printf 'Content-Type: text/plain\\r\\n\\r\\n'
cat /www/index.html
"""


def _tar(entries: list[tarfile.TarInfo], payloads: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for info in entries:
            data = payloads.get(info.name)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def _entry(name: str, kind: bytes = tarfile.REGTYPE, mode: int = 0o644, size: int = 0, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size, info.linkname, info.mtime = kind, mode, size, link, 0
    return info


def base_layer() -> bytes:
    """busybox, its applets and the entrypoint."""
    busybox = BUSYBOX.read_bytes()
    entry = ENTRYPOINT.encode()
    delayed = DELAYED.encode()
    entries = [_entry("bin", tarfile.DIRTYPE, 0o755), _entry("etc", tarfile.DIRTYPE, 0o755),
               _entry("tmp", tarfile.DIRTYPE, 0o1777), _entry("www", tarfile.DIRTYPE, 0o755),
               _entry("www/cgi-bin", tarfile.DIRTYPE, 0o755),
               _entry("bin/busybox", mode=0o755, size=len(busybox)),
               _entry("bin/kob-demo", mode=0o755, size=len(entry)),
               _entry("www/cgi-bin/delayed", mode=0o755, size=len(delayed))]
    entries += [_entry(f"bin/{applet}", tarfile.SYMTYPE, 0o777, link="busybox") for applet in APPLETS]
    return _tar(entries, {"bin/busybox": busybox, "bin/kob-demo": entry, "www/cgi-bin/delayed": delayed})


def version_layer(version: str) -> bytes:
    data = f"{version}\n".encode()
    entries = [_entry("etc", tarfile.DIRTYPE, 0o755), _entry("etc/kob-demo-version", size=len(data))]
    return _tar(entries, {"etc/kob-demo-version": data})


def _architecture() -> str:
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def image_config(layers: list[bytes]) -> bytes:
    config = {
        "architecture": _architecture(), "os": "linux", "created": CREATED,
        "config": {"Cmd": ["/bin/kob-demo"], "Env": ["PATH=/bin"], "ExposedPorts": {"80/tcp": {}},
                   "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{_sha(layer)}" for layer in layers]},
        "history": [{"created": CREATED, "created_by": "kob lab"} for _ in layers],
    }
    return json.dumps(config, sort_keys=True, separators=(",", ":")).encode()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def save_archive(versions: tuple[str, ...] = VERSIONS) -> tuple[bytes, dict[str, str]]:
    """All demo images as one `docker load` archive, and tag → image ID."""
    base = base_layer()
    files: dict[str, bytes] = {f"{_sha(base)}/layer.tar": base}
    manifest, ids = [], {}
    for version in versions:
        top = version_layer(version)
        config = image_config([base, top])
        files[f"{_sha(top)}/layer.tar"] = top
        files[f"{_sha(config)}.json"] = config
        tag = f"{REPOSITORY}:{version}"
        ids[tag] = f"sha256:{_sha(config)}"
        manifest.append({"Config": f"{_sha(config)}.json", "RepoTags": [tag],
                         "Layers": [f"{_sha(base)}/layer.tar", f"{_sha(top)}/layer.tar"]})
    files["manifest.json"] = json.dumps(manifest).encode()
    folders = sorted({name.split("/")[0] for name in files if "/" in name})
    entries = [_entry(folder, tarfile.DIRTYPE, 0o755) for folder in folders]
    entries += [_entry(name, size=len(files[name])) for name in sorted(files)]
    return _tar(entries, files), ids
