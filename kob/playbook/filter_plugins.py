"""filter_plugins/ beside a playbook or in a role: the user's own filters, trusted as the playbook is.

Each ``*.py`` file there is imported once; its ``FilterModule().filters()`` mapping of names to
functions is added to the playbook sandbox's filters (kob.playbook.templating.add_filters), so
the names are known when the playbook's templates are checked at load. A file that cannot be
imported, or gives no such mapping, is a SpecError at its own file and line.
"""

from __future__ import annotations

import importlib.util
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kob.errors import SpecError
from kob.playbook.templating import add_filters

_LOADED: dict[Path, dict[str, Callable[..., Any]]] = {}


def load_filter_plugins(folder: Path) -> dict[str, Callable[..., Any]]:
    """The filters of every plugin file in ``folder`` (none when it is not a folder), added to the sandbox."""
    if not folder.is_dir():
        return {}
    found: dict[str, Callable[..., Any]] = {}
    for path in sorted(folder.glob("*.py")):
        found.update(_plugin_filters(path.resolve()))
    add_filters(found)
    return found


def _plugin_filters(path: Path) -> dict[str, Callable[..., Any]]:
    if path in _LOADED:
        return _LOADED[path]
    name = f"kob_filter_plugin_{len(_LOADED)}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SpecError(str(path), 1, "", "cannot be read as a Python module")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        filters = module.FilterModule().filters()
    except AttributeError as error:
        raise SpecError(str(path), 1, "", f"a filter plugin needs a class FilterModule with filters(): {error}") \
            from None
    except Exception as error:  # noqa: BLE001 - the user's own code: any failure is named at its line
        raise SpecError(str(path), _line_in(path, error), "", f"the filter plugin failed to load: "
                        f"{type(error).__name__}: {error}") from None
    if not isinstance(filters, dict) or not all(isinstance(k, str) and callable(v) for k, v in filters.items()):
        raise SpecError(str(path), 1, "", "FilterModule().filters() should return a mapping of names to functions")
    sys.modules.pop(name, None)
    _LOADED[path] = filters
    return filters


def _line_in(path: Path, error: BaseException) -> int:
    if isinstance(error, SyntaxError) and error.lineno:
        return error.lineno
    frames = [f for f in traceback.extract_tb(error.__traceback__) if Path(f.filename) == path]
    return frames[-1].lineno or 1 if frames else 1
