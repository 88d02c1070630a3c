"""Which image layers a host has, named by chain ID (pure).

A layer's chain ID names it together with every layer below it: the first layer's is its diff ID,
each next one is ``sha256(<chain ID below> + " " + <diff ID>)``. Docker's layer store is keyed by
chain ID, and `docker load` skips a layer whose chain ID the store has (see kob.deploy.image_archive).
A host that has layer i of an image by chain ID also has every layer below it, so what a host has of
an image is always its first k layers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterable, Sequence

from kob.commands.docker import all_image_layers_argv
from kob.errors import ObservationError
from kob.facts.base import Fact


def chain_ids(diff_ids: Sequence[str]) -> list[str]:
    """The chain ID of each layer of an image, bottom first."""
    chains: list[str] = []
    for diff_id in diff_ids:
        chains.append(diff_id if not chains else
                      "sha256:" + hashlib.sha256(f"{chains[-1]} {diff_id}".encode()).hexdigest())
    return chains


def parse_image_layers(host: str, output: str) -> tuple[str, list[str]]:
    """``ID diff-ID...`` (one line of IMAGE_LAYERS_FORMAT) → (image ID, diff IDs)."""
    words = output.split()
    if not words or not all(_is_digest(word) for word in words):
        raise ObservationError(f"{host}: an image's layers should be sha256 digests, got {output.strip()[:120]!r}")
    return words[0], words[1:]


@dataclass(frozen=True)
class HostLayers:
    """A host's image IDs and the chain IDs of all their layers."""

    image_ids: frozenset[str]
    chains: frozenset[str]

    def has_image(self, image_id: str) -> bool:
        return image_id in self.image_ids


def parse_host_layers(host: str, output: str) -> HostLayers:
    """Every image a host listed (one image a line): its IDs and every chain ID of their layers."""
    ids: set[str] = set()
    chains: set[str] = set()
    for line in output.splitlines():
        if line.strip():
            image_id, diff_ids = parse_image_layers(host, line)
            ids.add(image_id)
            chains.update(chain_ids(diff_ids))
    return HostLayers(frozenset(ids), frozenset(chains))


def layers_present(diff_ids: Sequence[str], chains: Iterable[str]) -> int:
    """How many of an image's layers, from the bottom, a host with these chain IDs has."""
    have = set(chains)
    count = 0
    for chain in chain_ids(diff_ids):
        if chain not in have:
            break
        count += 1
    return count


def host_layers_fact() -> Fact[HostLayers]:
    """A host's images and the chain IDs of all their layers, in one command."""
    return Fact("listing image layers", tuple(all_image_layers_argv()), parse_host_layers)


def _is_digest(word: str) -> bool:
    algorithm, _, hexdigits = word.partition(":")
    return algorithm == "sha256" and len(hexdigits) == 64 and all(c in "0123456789abcdef" for c in hexdigits)
