"""kob web and kob serve follow their inventory file: good edits are taken, bad ones kept out and shown."""

from __future__ import annotations

from pathlib import Path

from kob.passes.inventory_follower import InventoryFollower
from kob.spec.inventory import load_inventory

BASE = "state: {state}\nhosts:\n  vm1: {{address: 127.0.0.1}}\n"


def follower(tmp_path: Path):
    path = tmp_path / "site.yaml"
    path.write_text(BASE.format(state=tmp_path / "kob.db"))
    switched, said = [], []
    return path, InventoryFollower(load_inventory(path), switched.append, said.append), switched, said


def test_an_unchanged_file_is_left_as_it_is(tmp_path):
    path, following, switched, said = follower(tmp_path)
    path.write_text(path.read_text())  # rewritten, same bytes
    assert following.check() is False and switched == [] and said == []


def test_a_good_edit_is_taken_a_bad_one_kept_out_until_it_is_fixed(tmp_path):
    path, following, switched, said = follower(tmp_path)
    base = path.read_text()
    path.write_text(base + "services:\n  web: {image: nginx:1.27}\n")
    assert following.check() is True
    assert [s.name for s in switched[-1].services] == ["web"] and following.error is None
    path.write_text(base + "services:\n  web: {image: nginx:1.27, replicas: many}\n")
    assert following.check() is False
    assert following.error.startswith(f"{path}:5:") and "\n" not in following.error
    assert [s.name for s in following.inventory.services] == ["web"], "the running inventory stays"
    assert following.check() is False and len(said) == 2, "said once, not on every look"
    path.write_text(base + "services:\n  web: {image: nginx:1.27, replicas: 2}\n")
    assert following.check() is True and following.error is None
    assert switched[-1].service("web").replicas == 2


def test_another_store_or_a_missing_file_is_not_taken(tmp_path):
    path, following, switched, said = follower(tmp_path)
    path.write_text(BASE.format(state=tmp_path / "other.db"))
    assert following.check() is False and "state: changed" in following.error and "restart kob" in following.error
    path.unlink()
    assert following.check() is False and following.error.startswith(f"{path}")
    assert switched == []
