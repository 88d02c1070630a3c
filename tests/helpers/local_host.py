"""A host for module tests: the scripted fake transport, each command it is sent run here by sh.

The module's real script runs (so its output is what a host prints), on paths the test puts under its own
tmp_path only; HOME is a folder of tmp_path, so ~/x paths stay there too.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from kob.playbook.modules import HostContext, run_module
from tests.helpers.fake_transport import Reply, ScriptedTransport, target


class LocalHost:
    def __init__(self, tmp_path: Path):
        self.home = tmp_path / "home"
        self.home.mkdir(exist_ok=True)
        self.playbook_dir = tmp_path / "playbook"
        self.playbook_dir.mkdir(exist_ok=True)
        self.fake = ScriptedTransport([("vm1", "", self._local)], default=None)
        self.shared: dict = {}

    def _local(self, host: str, argv: tuple[str, ...], input: bytes | None) -> Reply:
        done = subprocess.run(list(argv), input=input or b"", capture_output=True, timeout=60, check=False,
                              env={**os.environ, "HOME": str(self.home), "LC_ALL": "C"})
        return Reply(done.returncode, done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace"))

    async def _run(self, argv, input=None, timeout=None):
        return await self.fake.run(target("vm1"), argv, input=input, timeout=timeout)

    async def module(self, name: str, args: dict, check: bool = False, diff: bool = False, variables=None):
        ctx = HostContext("vm1", self._run, check, diff, self.playbook_dir, shared={})
        return await run_module(name, args, ctx, variables or {})

    @property
    def sent(self) -> int:
        return len(self.fake.sent)
