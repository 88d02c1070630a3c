"""A periodic pass whose heal did not converge is recorded as failed, with docker's reason (a memory store, no hosts).

`kob cron status` showed "ok: reconcile: 1 action" for a heal whose new replica never became healthy (the
rollout failed and removed it): a reader of the outcome, person or test, then took a failed heal for a done one.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from kob.deploy.host_health import HostMarks
from kob.passes import periodic
from kob.passes.reconcile import ReconcileReport
from kob.spec.inventory import load_inventory
from kob.store.memory import MemoryStore

INVENTORY = """
hosts:
  vm1: {address: 198.18.0.11}
services:
  app: {image: kob-demo/web:1, replicas: 1}
"""


@pytest.mark.parametrize("failure, outcome, summary", [
    (None, "ok", "reconcile: 1 action"),
    ("app: new replica kob-x-app-1 on vm1 is unhealthy", "failed",
     "reconcile: 1 action; reconcile failed: app: new replica kob-x-app-1 on vm1 is unhealthy"),
])
async def test_a_heal_that_failed_makes_the_pass_fail(tmp_path, monkeypatch, failure, outcome, summary):
    path = tmp_path / "shop.yaml"
    path.write_text(INVENTORY)
    inventory, store = load_inventory(path), MemoryStore()
    healed = ReconcileReport(HostMarks(), deploy=SimpleNamespace(plan=SimpleNamespace(actions=["replace"]),
                                                                 failure=failure))

    async def reconcile_pass(*args):
        return healed

    monkeypatch.setattr(periodic, "reconcile_pass", reconcile_pass)
    done = await periodic.passes_on(inventory, store, pool=None, autoscale=False, say=print)
    assert (done.outcome, done.summary) == (outcome, summary)
    assert await periodic.last_outcome(store, inventory) == done
