"""Every package under kob/ is listed in setup.cfg, so the wheel ships it."""

from __future__ import annotations

import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def listed_packages() -> set[str]:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    return {line.strip() for line in config["options"]["packages"].splitlines() if line.strip()}


def test_every_kob_package_is_listed_in_setup_cfg():
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "kob").rglob("__init__.py")}
    missing = found - listed_packages()
    assert not missing, f"add to setup.cfg [options] packages: {sorted(missing)}"


def test_every_listed_package_exists():
    mapped = {"kob.web": ROOT / "web", "kob.templates": ROOT / "templates"}
    for name in listed_packages():
        folder = mapped.get(name, ROOT.joinpath(*name.split(".")))
        assert folder.is_dir(), f"setup.cfg lists {name} but {folder} is missing"
