"""Session fixtures: the test lab of real VMs, brought up once and always taken down; and the `lab` marker.

`pytest -m "not lab"` runs, as any user and offline, every test that needs neither root, nor the lab,
nor the Debian packages `make test` installs, nor the network. A test is marked `lab` here when it uses
the `lab` fixture (also through other fixtures), a real etcd server (the `etcd_url` fixture, or the
`etcd` marker of a store backend) or the `browser` fixture; a module that needs root, those packages
or the network in another way says so itself with ``pytestmark = pytest.mark.lab``.
"""

from __future__ import annotations

import os
import runpy
from pathlib import Path

import pytest

# kob.web and kob.templates from this checkout, in this process and in every `python -m kob` it starts
THIS_CHECKOUT = Path(__file__).parent / "helpers" / "this_checkout"
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(THIS_CHECKOUT), os.environ.get("PYTHONPATH")) if p)
runpy.run_path(str(THIS_CHECKOUT / "sitecustomize.py"))

TEST_LAB_DIR = Path(os.environ.get("KOB_TEST_LAB_DIR", "/var/lib/kob-test-lab"))
TEST_LAB_NET = int(os.environ.get("KOB_TEST_LAB_NET", "3"))  # 198.18.3.0/24: never the default lab's network (0)
TEST_LAB_VMS = 3
# scratch labs, made and removed by single tests: a network of their own beside the session's lab
SCRATCH_LAB_DIR = Path(os.environ.get("KOB_TEST_SCRATCH_DIR", "/var/lib/kob-test-lab-scratch"))
SCRATCH_LAB_NET = int(os.environ.get("KOB_TEST_SCRATCH_NET", "2"))
TEST_LAB_ETCD = 3  # members: every lab test runs against a real etcd cluster
NEEDS_THE_LAB = {"lab", "etcd_url", "browser"}  # fixtures: the lab, a real etcd server, Debian's Chromium


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if NEEDS_THE_LAB & set(getattr(item, "fixturenames", ())) or item.get_closest_marker("etcd"):
            item.add_marker(pytest.mark.lab)


@pytest.fixture(scope="session")
def lab():
    """A 3-VM lab with a 3-member etcd on its own network; removed at the end of the session, also on failure."""
    from kob.lab.lab import Lab
    from kob.lab.layout import LabLayout

    if os.geteuid() != 0:
        pytest.fail("the lab tests need root (network namespaces); run `make test` as root")
    the_lab = Lab(LabLayout(TEST_LAB_DIR, TEST_LAB_NET))
    the_lab.down()  # a previous run killed before its teardown
    try:
        the_lab.up(TEST_LAB_VMS, etcd=TEST_LAB_ETCD)
        yield the_lab
    finally:
        the_lab.down()


@pytest.fixture(scope="session")
def lab_inventory(lab) -> Path:
    return lab.layout.inventory


@pytest.fixture
def scratch_lab():
    """An empty lab on the scratch network, for a test that makes and removes one; always taken down."""
    from kob.lab.lab import Lab
    from kob.lab.layout import LabLayout

    if SCRATCH_LAB_NET == TEST_LAB_NET and (TEST_LAB_DIR / "lab.json").exists():
        pytest.fail(f"the test lab is up on network {TEST_LAB_NET}, which KOB_TEST_SCRATCH_NET names too: "
                    "give scratch labs another network, or run their tests alone")
    the_lab = Lab(LabLayout(SCRATCH_LAB_DIR, SCRATCH_LAB_NET))
    the_lab.down()
    try:
        yield the_lab
    finally:
        the_lab.down()
