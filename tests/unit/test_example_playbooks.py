"""The example playbooks in playbooks/ load, and use only modules `kob run` carries out."""

from __future__ import annotations

from pathlib import Path

import pytest

from kob.playbook.modules import IMPLEMENTED
from kob.playbook.loader import load_playbook

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "playbooks").glob("*.yaml"))


def test_there_are_the_three_examples():
    assert [p.name for p in EXAMPLES] == ["prepare-vm.yaml", "rolling-restart.yaml", "rotate-logs.yaml"]


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_an_example_loads_with_available_modules(path):
    plays = load_playbook(path)
    modules = {t.module for play in plays for t in (*play.tasks, *play.handlers)}
    assert plays and modules <= set(IMPLEMENTED), modules - set(IMPLEMENTED)
