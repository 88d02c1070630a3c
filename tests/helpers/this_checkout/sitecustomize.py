"""Loaded by every Python process the tests start (tests/conftest.py puts this folder first on PYTHONPATH).

setup.cfg maps kob.web to web/ and kob.templates to templates/. An editable install of one checkout
answers those two names from that checkout even when PYTHONPATH points at another one (a git worktree),
so a test of the worktree would run the other checkout's page. This finder, first on sys.meta_path,
answers them from the checkout these tests belong to.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
MAPPED = {"kob.web": ROOT / "web", "kob.templates": ROOT / "templates"}


class ThisCheckout:
    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        folder = MAPPED.get(fullname)
        if folder is None or not (folder / "__init__.py").is_file():
            return None
        return importlib.util.spec_from_file_location(fullname, folder / "__init__.py",
                                                      submodule_search_locations=[str(folder)])


if not any(getattr(finder, "__name__", "") == "ThisCheckout" for finder in sys.meta_path):
    sys.meta_path.insert(0, ThisCheckout)
