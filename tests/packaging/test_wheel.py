"""The built wheel carries the HAProxy template and the web assets, and its `kob` runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.lab  # the network: pip fetches the build backend and kob's dependencies
ROOT = Path(__file__).resolve().parents[2]

USE_PACKAGED_FILES = """
import pathlib, tempfile
import kob.commands.haproxy as h
import kob.web as web
from kob.spec.inventory import load_inventory
from kob.store.memory import MemoryStore
config = h.render_haproxy_config([{"name": "http", "bind_port": 80, "routes": [], "default_backend": None}], [])
assert "master-worker" in config, config
path = pathlib.Path(tempfile.mkdtemp()) / "wheel.yaml"
path.write_text("hosts: {vm1: {address: 10.0.0.1}}\\n")
client = web.create_app(MemoryStore(), load_inventory(str(path))).test_client()
assert client.get("/healthz").json["status"] == "ok"
assert b'data-host="vm1"' in client.get("/").data
assert client.get("/static/kob.css").status_code == 200
assert client.get("/static/kob.js").status_code == 200
print("site-packages" in h.__file__ and "site-packages" in web.__file__)
"""


# The installed wheel alone: not tests/conftest.py's PYTHONPATH, which maps kob.web to this checkout.
WHEEL_ONLY = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(work), str(ROOT)],
                   check=True, capture_output=True)
    wheel = next(work.glob("kob-*.whl"))
    subprocess.run([sys.executable, "-m", "venv", str(work / "venv")], check=True)
    subprocess.run([str(work / "venv/bin/pip"), "install", "-q", str(wheel)], check=True, capture_output=True,
                   env=WHEEL_ONLY)
    return work / "venv"


def test_kob_help_lists_every_command(fresh_venv):
    out = subprocess.run([str(fresh_venv / "bin/kob"), "--help"], capture_output=True, text=True, check=True,
                         env=WHEEL_ONLY,
                         cwd="/").stdout
    for command in ("deploy", "exec", "history", "lab", "logs", "rollback", "scale", "serve", "status", "web"):
        assert f"  {command} " in out


def test_template_and_web_assets_come_from_the_installed_wheel(fresh_venv):
    out = subprocess.run([str(fresh_venv / "bin/python"), "-c", USE_PACKAGED_FILES], capture_output=True, env=WHEEL_ONLY,
                         text=True, cwd="/")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"
