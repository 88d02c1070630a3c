"""Small `docker save` archives built in memory, in the classic (Engine ≤ 24) and the OCI (Engine ≥ 25) layout."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile


def layer(seed: str, size: int = 3000) -> bytes:
    """A layer's tar: one file whose bytes follow from ``seed``."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        data = (seed.encode() * size)[:size]
        info = tarfile.TarInfo(f"{seed}.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def diff_id(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def saved(layers: list[bytes], oci: bool = False, long_names: bool = False) -> bytes:
    """An archive of one image with these layers, bottom first, members in name order as docker writes them."""
    config = json.dumps({"rootfs": {"type": "layers", "diff_ids": [diff_id(d) for d in layers]}}).encode()
    files: dict[str, bytes] = {}
    paths = []
    for index, data in enumerate(layers):
        if oci:
            path = f"blobs/sha256/{diff_id(data)[7:]}"
        else:
            folder = ("x" * 120 if long_names else "") + hashlib.sha256(f"v1-{index}".encode()).hexdigest()
            files[f"{folder}/VERSION"] = b"1.0"
            files[f"{folder}/json"] = b"{}"
            path = f"{folder}/layer.tar"
        files[path] = data
        paths.append(path)
    files["config.json"] = config
    files["manifest.json"] = json.dumps([{"Config": "config.json", "RepoTags": ["x:1"], "Layers": paths}]).encode()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size = len(files[name])
            tar.addfile(info, io.BytesIO(files[name]))
    return out.getvalue()


def members(archive: bytes) -> dict[str, bytes]:
    """name → bytes of a (gzipped or plain) tar archive; tarfile checks its structure on the way."""
    if archive[:2] == b"\x1f\x8b":
        archive = gzip.decompress(archive)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def layer_files(archive: bytes) -> list[bytes]:
    """The layer files an archive carries (by content), in name order."""
    return [data for name, data in sorted(members(archive).items())
            if name.endswith("layer.tar") or name.startswith("blobs/")]
