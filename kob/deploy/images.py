"""Images without a registry: find each one by ID, then stream it to the hosts that lack it.

The manager's own Docker (when it has one, and the image) is the source of truth: hosts must run the
image ID it has. It is read once (one `docker save`), gzipped once per group of hosts that lack the
same layers, and streamed to all of them at once; layers a host has stay out of its stream (see
kob.deploy.image_archive). Otherwise an image already on one host is relayed from there through the
manager, host by host. A host whose load fails fails alone, in one line naming it and docker's reason.
Service deploys and the job dispatcher both ship through here, with the same lines.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Protocol

from kob.commands.docker import image_id_argv, image_layers_argv, load_argv, save_argv, tag_argv
from kob.deploy.image_archive import group_hosts
from kob.deploy.image_fanout import GzipFanout
from kob.deploy.image_stream import route_archive
from kob.deploy.observe import ClusterObservation
from kob.deploy.transfer_progress import HostProgress
from kob.errors import ImagesNotSent, KobError
from kob.facts.image_layers import host_layers_fact, layers_present, parse_image_layers
from kob.plan.actions import Create, Replace
from kob.plan.diff import DesiredService, Plan
from kob.plan.preflight import MANAGER, HostImages, ImageSource
from kob.spec.inventory import Inventory
from kob.transport.base import Transport
from kob.transport.gather import gather
from kob.transport.targets import ssh_target

LOOKUP_TIMEOUT = 10.0


async def _on_manager(argv: list[str]) -> str | None:
    """What a local docker command printed, or None when it failed, is missing or took too long."""
    try:
        proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.DEVNULL)
    except FileNotFoundError:
        return None
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), LOOKUP_TIMEOUT)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        return None
    return out.decode().strip() if proc.returncode == 0 else None


async def manager_image_ids(refs: Iterable[str]) -> dict[str, str]:
    """ref → ID for the images the manager's Docker has; empty without Docker (or without a daemon)."""
    async def one(ref: str) -> tuple[str, str | None]:
        found = await _on_manager(image_id_argv(ref))
        return ref, found if found and found.startswith("sha256:") else None

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


@dataclass
class Shipment:
    sent: dict[str, int] = field(default_factory=dict)  # host → bytes streamed to it
    failed: dict[str, str] = field(default_factory=dict)  # host → one line naming it and why


async def ship_images(pool: Transport, inventory: Inventory, seen: SeenHosts,
                      missing: dict[str, list[ImageSource]], say: Callable[[str], None]) -> dict[str, int]:
    """Send each missing image to the hosts that lack it; host → bytes sent. ImagesNotSent (after the
    others finished) when a host did not get one."""
    shipment = await ship_to_each(pool, inventory, seen, missing, say)
    if shipment.failed:
        raise ImagesNotSent("; ".join(shipment.failed[host] for host in sorted(shipment.failed)))
    return shipment.sent


async def ship_to_each(pool: Transport, inventory: Inventory, seen: SeenHosts,
                       missing: dict[str, list[ImageSource]], say: Callable[[str], None]) -> Shipment:
    """Tag what a host has under another name, stream the manager's images once to all that lack them,
    relay the rest from the host that has them; what each host got or why not."""
    shipment = Shipment()

    async def one_host(host: str, source: ImageSource) -> None:
        try:
            await _tag_or_relay(pool, inventory, seen, host, source, say, shipment)
        except KobError as error:
            _failed(shipment, host, source, str(error), say)

    streamed: dict[ImageSource, list[str]] = {}
    single = []
    for host, images in missing.items():
        for source in images:
            if source.origin == MANAGER and not seen.hosts[host].has_image(source.image_id):
                streamed.setdefault(source, []).append(host)
            else:
                single.append(one_host(host, source))
    await asyncio.gather(*single, *(_stream_from_manager(pool, inventory, source, hosts, say, shipment)
                                    for source, hosts in streamed.items()))
    return shipment


def _failed(shipment: Shipment, host: str, source: ImageSource, why: str, say: Callable[[str], None]) -> None:
    shipment.failed[host] = why if why.startswith(f"{host}:") else f"{host}: {why}"
    say(f"! image {source.ref} not sent to {shipment.failed[host]}")


async def _tag_or_relay(pool, inventory, seen, host: str, source: ImageSource, say, shipment: Shipment) -> None:
    sink = ssh_target(inventory, inventory.host(host))
    if seen.hosts[host].has_image(source.image_id):
        (await pool.run(sink, tag_argv(source.image_id, source.ref))).check()
        say(f"  image {source.ref}: tagged on {host} (it had {source.image_id[7:19]})")
        return
    label = f"  image {source.ref}: {source.origin} → {host}"
    say(f"{label} ...")
    progress = HostProgress(label)
    origin = ssh_target(inventory, inventory.host(source.origin))
    saved, loaded, size = await pool.relay(origin, save_argv(source.ref), sink, load_argv(), progress)
    saved.check()
    loaded.check()
    shipment.sent[host] = shipment.sent.get(host, 0) + size
    say(f"{label}: {size / 1e6:.1f} MB in {progress.elapsed():.1f} s")


async def _stream_from_manager(pool: Transport, inventory: Inventory, source: ImageSource, hosts: list[str],
                               say: Callable[[str], None], shipment: Shipment) -> None:
    """One `docker save` on the manager, to every host in ``hosts`` at once, each without the layers it has."""
    layers = await _on_manager(image_layers_argv(source.ref))
    diff_ids = parse_image_layers(MANAGER, layers)[1] if layers else []
    have = await gather(pool, inventory, host_layers_fact(), [inventory.host(h) for h in hosts])
    present = {host: layers_present(diff_ids, have.hosts[host].chains if host in have.hosts else ())
               for host in hosts}  # a host that did not say gets every layer
    groups = group_hosts(diff_ids, present)
    sinks = {lacking: GzipFanout(members) for lacking, members in groups.items()}
    by_host = {host: sinks[lacking] for lacking, members in groups.items() for host in members}
    for host in hosts:
        say(f"  image {source.ref}: manager → {host} ...")
    await asyncio.gather(_pump(source.ref, diff_ids, sinks),
                         *(_receive(pool, inventory, source, host, by_host[host].fanout, present[host],
                                    len(diff_ids), say, shipment) for host in hosts))


async def _pump(ref: str, diff_ids: list[str], sinks: dict[frozenset[str], GzipFanout]) -> None:
    """`docker save` into the sinks; when it fails, every host's stream ends with the reason."""
    proc = await asyncio.create_subprocess_exec(*save_argv(ref), stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    failure = None
    try:
        await route_archive(proc.stdout.readexactly, diff_ids, sinks)
    except (KobError, OSError, EOFError) as error:  # EOFError: the archive ended inside a member
        failure = str(error) or "the archive ended too soon"
        proc.kill()
    await proc.wait()
    if failure or proc.returncode != 0:
        reason = (await proc.stderr.read()).decode(errors="replace").strip() or failure or f"exit {proc.returncode}"
        for sink in sinks.values():
            sink.fanout.abort(KobError(f"manager: docker save {ref} failed: {reason}"))
        return
    for sink in sinks.values():  # the end of every stream only once the save is known to be whole
        await sink.close()


async def _receive(pool: Transport, inventory: Inventory, source: ImageSource, host: str, fanout, present: int,
                   total: int, say: Callable[[str], None], shipment: Shipment) -> None:
    label = f"  image {source.ref}: manager → {host}"
    progress = HostProgress(label)
    try:
        loaded, size = await pool.feed(ssh_target(inventory, inventory.host(host)), load_argv(),
                                       fanout.chunks(host), progress)
    except KobError as error:
        return _failed(shipment, host, source, str(error), say)
    finally:
        fanout.leave(host)
    if not loaded.ok:
        reason = (loaded.stderr.strip().splitlines() or [f"exit {loaded.rc}"])[-1]
        return _failed(shipment, host, source, f"docker load failed: {reason}", say)
    shipment.sent[host] = shipment.sent.get(host, 0) + size
    had = f", it had {present} of {total} layers" if present else ""
    say(f"{label}: {size / 1e6:.1f} MB in {progress.elapsed():.1f} s{had}")
