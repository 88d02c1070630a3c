"""Images without a registry: find each one by ID, then stream it to the hosts that lack it.

The manager's own Docker (when it has one, and the image) is the source of truth: hosts must run the
image ID it has. Otherwise an image already on one host is relayed from there through the manager.
Each missing image goes once to each host, all hosts in parallel. Service deploys and the job
dispatcher both ship through here, with the same progress lines.
"""

from __future__ import annotations

import asyncio
import time
from typing import AsyncIterator, Callable, Iterable, Mapping, Protocol

from kob.commands.docker import image_id_argv, load_argv, save_argv, tag_argv
from kob.deploy.observe import ClusterObservation
from kob.errors import KobError
from kob.plan.actions import Create, Replace
from kob.plan.diff import DesiredService, Plan
from kob.plan.preflight import MANAGER, HostImages, ImageSource
from kob.spec.inventory import Inventory
from kob.transport.base import Transport
from kob.transport.targets import ssh_target

LOOKUP_TIMEOUT = 10.0
PROGRESS_EVERY = 1.0  # seconds between progress lines of one transfer


async def manager_image_ids(refs: Iterable[str]) -> dict[str, str]:
    """ref → ID for the images the manager's Docker has; empty without Docker (or without a daemon)."""
    async def one(ref: str) -> tuple[str, str | None]:
        try:
            proc = await asyncio.create_subprocess_exec(*image_id_argv(ref), stdout=asyncio.subprocess.PIPE,
                                                        stderr=asyncio.subprocess.DEVNULL)
        except FileNotFoundError:
            return ref, None
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), LOOKUP_TIMEOUT)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()
            return ref, None
        found = out.decode().strip()
        return ref, found if proc.returncode == 0 and found.startswith("sha256:") else None

    return {ref: image_id for ref, image_id in await asyncio.gather(*(one(r) for r in sorted(set(refs)))) if image_id}


class SeenHosts(Protocol):
    """An observation of hosts that tells their images (a ClusterObservation, or what the job dispatcher saw)."""

    @property
    def hosts(self) -> Mapping[str, HostWithImages]: ...


class HostWithImages(HostImages, Protocol):
    def has_image(self, image_id: str) -> bool: ...


def missing_images(plan: Plan, wants: list[DesiredService], seen: ClusterObservation,
                   sources: dict[str, ImageSource]) -> dict[str, list[ImageSource]]:
    """host → images the plan starts there that the host lacks, by ID or only by name."""
    refs = {w.service.name: w.service.image for w in wants}
    wanted: dict[str, list[str]] = {}
    for action in plan.actions:
        if isinstance(action, (Create, Replace)):
            wanted.setdefault(action.start.host, []).append(refs[action.start.service])
    return lacking(wanted, seen.hosts, sources)


def lacking(wanted: Mapping[str, Iterable[str]], hosts: Mapping[str, HostImages],
            sources: Mapping[str, ImageSource]) -> dict[str, list[ImageSource]]:
    """host → the sources of the refs it is to run that it lacks (by ID, or has only under another ID), once each."""
    missing: dict[str, list[ImageSource]] = {}
    for host, refs in wanted.items():
        for ref in refs:
            source = sources[ref]
            needed = missing.setdefault(host, [])
            if hosts[host].images.get(ref) != source.image_id and source not in needed:
                needed.append(source)
    return {host: images for host, images in missing.items() if images}


async def ship_images(pool: Transport, inventory: Inventory, seen: SeenHosts,
                      missing: dict[str, list[ImageSource]], say: Callable[[str], None]) -> dict[str, int]:
    """Send each missing image to its host, all hosts in parallel; host → bytes sent."""
    sent: dict[str, int] = {}

    async def ship(host: str, source: ImageSource) -> None:
        sink = ssh_target(inventory, inventory.host(host))
        if seen.hosts[host].has_image(source.image_id):
            (await pool.run(sink, tag_argv(source.image_id, source.ref))).check()
            say(f"  image {source.ref}: tagged on {host} (it had {source.image_id[7:19]})")
            return
        label = f"  image {source.ref}: {source.origin} → {host}"
        say(f"{label} ...")
        progress = _Progress(label, say)
        if source.origin == MANAGER:
            loaded, size = await _from_manager(pool, source.ref, sink, progress)
        else:
            origin = ssh_target(inventory, inventory.host(source.origin))
            saved, loaded, size = await pool.relay(origin, save_argv(source.ref), sink, load_argv(), progress)
            saved.check()
        loaded.check()
        sent[host] = sent.get(host, 0) + size
        say(f"{label}: {size / 1e6:.1f} MB in {progress.elapsed():.1f} s")

    await asyncio.gather(*(ship(host, s) for host, images in missing.items() for s in images))
    return sent


async def _from_manager(pool: Transport, ref: str, sink, progress):
    proc = await asyncio.create_subprocess_exec(*save_argv(ref), stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)

    async def chunks() -> AsyncIterator[bytes]:
        while chunk := await proc.stdout.read(1 << 16):
            yield chunk

    try:
        loaded, size = await pool.feed(sink, load_argv(), chunks(), progress)
    finally:
        if proc.returncode is None and proc.stdout.at_eof() is False:
            proc.kill()
        error = (await proc.stderr.read()).decode(errors="replace").strip()
        await proc.wait()
    if proc.returncode != 0:
        raise KobError(f"manager: docker save {ref} failed: {error or f'exit {proc.returncode}'}")
    return loaded, size


class _Progress:
    """Prints the bytes sent so far, at most once every PROGRESS_EVERY seconds."""

    def __init__(self, label: str, say: Callable[[str], None]):
        self.label, self.say = label, say
        self.started = self.last = time.monotonic()

    def __call__(self, moved: int) -> None:
        now = time.monotonic()
        if now - self.last >= PROGRESS_EVERY:
            self.last = now
            self.say(f"{self.label}: {moved / 1e6:.1f} MB sent")

    def elapsed(self) -> float:
        return time.monotonic() - self.started
