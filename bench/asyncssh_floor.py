"""The least an asyncssh-based manager does for `true` on N hosts: the floor under `kob exec`.

    .venv/bin/python bench/asyncssh_floor.py KEY KNOWN_HOSTS ADDRESS...

Python starts, imports asyncio and asyncssh (as kob does: kob.transport.asyncssh_lib, without the
processes asyncssh's own import starts), connects to every address at once with the same key, known_hosts
and ciphers as kob, runs `true`, closes. No inventory, no CLI, no output. bench/exec_fanout.py runs this as
its "asyncssh floor" way: what `kob exec` costs above it is kob's own.
"""

from __future__ import annotations

import asyncio
import sys

from kob.transport.asyncssh_lib import asyncssh

GCM = ["aes128-gcm@openssh.com"]  # the cipher kob's transport offers first


async def run_everywhere(key: str, known_hosts: str, addresses: list[str]) -> int:
    keys = asyncssh.load_keypairs(key)
    known = asyncssh.read_known_hosts(known_hosts)

    async def one(address: str) -> int:
        async with asyncssh.connect(address, username="root", client_keys=keys, known_hosts=known,
                                    encryption_algs=GCM, config=[], agent_path=None,
                                    preferred_auth="publickey") as conn:
            return (await conn.run("true")).exit_status or 0

    return max(await asyncio.gather(*(one(a) for a in addresses)))


if __name__ == "__main__":
    sys.exit(asyncio.run(run_everywhere(sys.argv[1], sys.argv[2], sys.argv[3:])))
