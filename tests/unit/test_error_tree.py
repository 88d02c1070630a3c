"""One error tree: every error a user can see is a KobError, drawn in the docstring of kob/errors.py.

1. Every module of kob (kob.web included) imports, and every exception class one defines is a KobError.
2. No function raises a builtin exception (ValueError, RuntimeError, Exception, KeyError ...) unless the
   function is in RAISE_ALLOWED: either the function named there catches it (checked: it has an ``except``
   for it), or it guards an invariant no user input reaches (the reason says why). A raise in a private
   helper (``_name``) counts as its callers' when every reference to the helper is inside allowed
   functions of its module; any other reference (another module, a table at module level) makes it count
   on its own.
3. The docstring of kob/errors.py draws every KobError subclass under its real parent.
"""

from __future__ import annotations

import ast
import builtins
import functools
import importlib
import pkgutil
import re
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {"kob": ROOT / "kob", "kob.web": ROOT / "web", "kob.templates": ROOT / "templates"}

BUILTIN_EXCEPTIONS = {name: value for name, value in vars(builtins).items()
                      if isinstance(value, type) and issubclass(value, BaseException)}

# How a process ends or a loop stops, not an error shown to a user: never reported.
NOT_ERRORS = {
    "SystemExit": "kob.cli ends with an exit code after printing its own message",
    "KeyboardInterrupt": "kob.web.serve turns SIGTERM into the interrupt that stops the server",
    "StopIteration": "iteration protocol",
    "StopAsyncIteration": "iteration protocol",
    "GeneratorExit": "generator protocol",
}

# Exception classes defined in kob that are not KobErrors: (module, class) → why. Keep it empty if you can.
CLASS_ALLOWED: dict[tuple[str, str], str] = {
    ("kob.spec.yaml_source", "_TooDeep"): "raised inside PyYAML's composer, which knows no file name; parse_yaml "
                                          "catches it and raises the SpecError at file:line",
}


@dataclass(frozen=True)
class Caught:
    """The functions ("module:qualname") that catch the error and show the user a KobError or a task failure."""

    by: tuple[str, ...]
    why: str


@dataclass(frozen=True)
class Invariant:
    """A check of a caller's promise that no user input reaches; a traceback here is a kob bug."""

    why: str


# (module, function qualname, exception) → why it never reaches the user as a bare exception.
RAISE_ALLOWED: dict[tuple[str, str, str], Caught | Invariant] = {
    # Pure checks whose message is written for the user; the caller adds file:line or wraps it.
    ("kob.spec.addresses", "canonical_address", "ValueError"): Caught(
        ("kob.spec.inventory:_read_host",), "a host's address: becomes a SpecError at its file:line "
        "(_read_hosts calls it again only on addresses _read_host accepted)"),
    ("kob.spec.state_url", "parse_state_url", "ValueError"): Caught(
        ("kob.spec.inventory:_read_state", "kob.store:parse_store_url"),
        "the inventory's state: becomes a SpecError; a URL given to open_store a StoreError"),
    ("kob.spec.yaml_nodes", "usable_path", "ValueError"): Caught(
        ("kob.spec.yaml_nodes:Node.as_path", "kob.spec.inventory:_read_state", "kob.store:parse_store_url"),
        "a path no system call would take: a SpecError at its file:line, or a StoreError"),
    ("kob.state_backup", "_refuse_constant", "ValueError"): Caught(
        ("kob.state_backup:encode_value", "kob.state_backup:parse_document"),
        "json.loads's hook for NaN and Infinity: a value kept as text, or a StateFileError naming the file"),
    ("kob.state_backup", "_finite_float", "ValueError"): Caught(
        ("kob.state_backup:parse_document",), "json.loads's hook for 1e400: a StateFileError naming the file"),
    ("kob.state_backup", "_no_duplicate_keys", "ValueError"): Caught(
        ("kob.state_backup:parse_document",), "json.loads's hook: a StateFileError naming the file"),
    ("kob.cron.entry", "schedule", "ValueError"): Caught(
        ("kob.cron.install:install",), "--every: install turns it into a KobError"),
    ("kob.cron.entry", "cron_file", "ValueError"): Caught(
        ("kob.cron.install:install",), "a line break in a path: install turns it into a KobError"),
    ("kob.web.auth", "parse_bind", "ValueError"): Caught(
        ("kob.cli.web_commands:_page",), "--bind: the CLI turns it into a KobError"),
    ("kob.commands.tasks", "octal_mode", "ValueError"): Caught(
        ("kob.playbook.run:PlaybookRun._once",), "a playbook's mode: a failed task naming file:line"),
    ("kob.playbook.modules.context", "local_file", "FileNotFoundError"): Caught(
        ("kob.playbook.run:PlaybookRun._once",), "a playbook's src: a failed task naming file:line"),
    ("kob.playbook.include_vars", "_found", "LookupError"): Caught(
        ("kob.playbook.include_vars:include_vars",), "include_vars's file or dir: a failed task naming file:line"),
    ("kob.playbook.include_vars", "_folder_files", "LookupError"): Caught(
        ("kob.playbook.include_vars:include_vars",), "include_vars's dir: a failed task naming file:line"),
    ("kob.playbook.crontab", "_env_place", "ValueError"): Caught(
        ("kob.playbook.modules.system:cron",), "cron env: insertafter/insertbefore naming a variable that is not "
        "there: the task's failure, in Ansible's words"),
    # Invariants: every caller passes values kob made or checked.
    ("kob.commands.haproxy", "_word", "ValueError"): Invariant(
        "names reaching HAProxy's runtime API are spec-checked names, addresses or HAProxy's own server names, "
        "all within the characters it allows; a guard against injecting a command"),
    ("kob.commands.metrics", "sample_argv", "ValueError"): Invariant(
        "gap is 0 or the sampler's constant TWO_SAMPLE_GAP"),
    ("kob.jobs.rooms", "constraint_from_text", "ValueError"): Invariant(
        "reads constraints that constraint_text wrote from a checked spec into the store"),
    ("kob.lb.driver", "HaproxyDriver.ensure_config", "ValueError"): Invariant(
        "the driver and the config kob builds both use the default admin socket"),
    ("kob.lb.model", "LbBackend.__post_init__", "ValueError"): Invariant(
        "kob.deploy.haproxy_balancer groups servers by their backend before building one"),
    ("kob.metrics.series", "host_series", "ValueError"): Invariant(
        "the metric names are literals in kob.view.watch"),
    ("kob.policy.jobs", "next_try", "ValueError"): Invariant(
        "kob.jobs.dispatch passes the number of attempts after one ended, so at least 1"),
    ("kob.store.backend", "StoreBackend.acquire_lock", "ValueError"): Invariant(
        "ttls are constants or kob serve --lease, which click keeps >= 2"),
    ("kob.store.base", "check_entry", "ValueError"): Invariant("store keys are built by kob, never empty"),
    ("kob.store.base", "check_entry", "TypeError"): Invariant("store values are encoded by kob, always bytes"),
    ("kob.store.etcd_members", "Members.__init__", "ValueError"): Invariant(
        "parse_state_url refuses an etcd URL without endpoints before open_store builds one"),
    ("kob.store.etcd", "EtcdStore.trim_events", "ValueError"): Invariant("keep is the constant EVENTS_KEPT"),
    ("kob.store.memory", "MemoryStore.trim_events", "ValueError"): Invariant("keep is the constant EVENTS_KEPT"),
    ("kob.store.sqlite", "SqliteStore.trim_events", "ValueError"): Invariant("keep is the constant EVENTS_KEPT"),
    ("kob.web.charts", "svg_line_chart", "ValueError"): Invariant("the page's templates never pass y_max"),
}


def module_name(path: Path) -> str:
    for package, folder in PACKAGES.items():
        if path.is_relative_to(folder):
            parts = path.relative_to(folder).with_suffix("").parts
            return ".".join([package, *(parts[:-1] if parts[-1] == "__init__" else parts)])
    raise AssertionError(path)


SOURCES = {module_name(path): path for folder in PACKAGES.values() for path in sorted(folder.rglob("*.py"))}


def walked_modules() -> list[str]:
    names = []
    for package in PACKAGES:
        names.append(package)
        names += [info.name for info in pkgutil.walk_packages(importlib.import_module(package).__path__, package + ".")]
    return names


@pytest.fixture(scope="module")
def modules() -> dict[str, ModuleType]:
    """Every kob module, imported (importing one must start nothing: kob.__main__ runs only as a script)."""
    return {name: importlib.import_module(name) for name in walked_modules()}


def test_every_source_file_is_a_module_the_walk_imports(modules):
    assert set(modules) == set(SOURCES)


def test_every_exception_class_of_kob_is_a_kob_error(modules):
    from kob.errors import KobError

    outside = [f"{name}.{value.__name__}{tuple(b.__name__ for b in value.__bases__)}"
               for name, module in modules.items() for value in vars(module).values()
               if isinstance(value, type) and issubclass(value, BaseException) and value.__module__ == name
               and not issubclass(value, KobError) and (name, value.__name__) not in CLASS_ALLOWED]
    exempt = {("kob.errors", "KobError"), *CLASS_ALLOWED}  # the root is the one class that subclasses Exception
    nested = [f"{name}.{node.name} (line {node.lineno})" for name, tree in trees().items() for node in ast.walk(tree)
              if isinstance(node, ast.ClassDef) and (name, node.name) not in exempt
              and any(_name(base) in BUILTIN_EXCEPTIONS for base in node.bases)]
    assert not outside and not nested, (
        "exception classes outside the KobError tree (subclass the right branch in kob/errors.py): "
        + ", ".join(outside + nested))


def test_the_class_allow_list_names_classes_that_exist(modules):
    stale = [key for key in CLASS_ALLOWED if not hasattr(modules.get(key[0]), key[1])]
    assert not stale, f"CLASS_ALLOWED names classes that are gone: {stale}"


# -- raises ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Raise:
    module: str
    function: str  # qualname; "" at module level
    exception: str
    line: int

    @property
    def key(self) -> tuple[str, str, str]:
        return self.module, self.function, self.exception

    def __str__(self) -> str:
        where = SOURCES[self.module].relative_to(ROOT)
        return f"{where}:{self.line} in {self.function or '<module>'}: raise {self.exception}"


@functools.cache
def trees() -> dict[str, ast.Module]:
    return {name: ast.parse(path.read_text(), str(path)) for name, path in SOURCES.items()}


def _name(node: ast.expr | None) -> str | None:
    """ValueError for ``ValueError``, ``ValueError(...)`` and ``builtins.ValueError(...)``."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "builtins":
        return node.attr
    return None


def _caught_names(handler: ast.ExceptHandler) -> set[str] | None:
    """The names an except clause catches; None for a bare ``except:``."""
    if handler.type is None:
        return None
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return {name for name in map(_name, types) if name}


def catches(handler: ast.ExceptHandler, exception: str) -> bool:
    names = _caught_names(handler)
    bases = {cls.__name__ for cls in BUILTIN_EXCEPTIONS[exception].__mro__}
    return names is None or bool(names & bases)


class RaiseFinder(ast.NodeVisitor):
    """Builtin exceptions raised, with the function they are raised in; those caught by a ``try`` around
    them in the same function are left out. Also which module-level names each function refers to."""

    def __init__(self, module: str):
        self.module, self.scope, self.handlers = module, [], []
        self.raises: list[Raise] = []
        self.references: dict[str, set[str]] = {}  # name → qualnames referring to it ("" = module level)

    def _enter(self, node):
        self.scope.append(node.name)
        outer, self.handlers = self.handlers, []
        self.generic_visit(node)
        self.scope.pop()
        self.handlers = outer

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _enter

    def visit_Try(self, node):
        self.handlers.append(node.handlers)
        for statement in node.body:
            self.visit(statement)
        self.handlers.pop()
        for part in (*node.handlers, *node.orelse, *node.finalbody):
            self.visit(part)

    visit_TryStar = visit_Try

    def visit_Name(self, node):
        self.references.setdefault(node.id, set()).add(".".join(self.scope))

    def visit_Raise(self, node):
        name = _name(node.exc)
        caught_here = name in BUILTIN_EXCEPTIONS and any(catches(h, name) for hs in self.handlers for h in hs)
        if name in BUILTIN_EXCEPTIONS and name not in NOT_ERRORS and not caught_here:
            self.raises.append(Raise(self.module, ".".join(self.scope), name, node.lineno))
        self.generic_visit(node)


@functools.cache
def scan() -> tuple[list[Raise], dict[str, RaiseFinder]]:
    finders = {}
    for name, tree in trees().items():
        finders[name] = finder = RaiseFinder(name)
        finder.visit(tree)
    return [r for f in finders.values() for r in f.raises], finders


@functools.cache
def used_elsewhere() -> frozenset[tuple[str, str]]:
    """(module, name) for each name another module imports from a kob module or reads as its attribute."""
    used = set()
    for tree in trees().values():
        aliases = {}  # what this module calls a kob module it imported → that module
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                aliases |= {alias.asname or alias.name: alias.name for alias in node.names if alias.name in SOURCES}
            elif isinstance(node, ast.ImportFrom) and node.module:
                used |= {(node.module, alias.name) for alias in node.names}
                aliases |= {alias.asname or alias.name: f"{node.module}.{alias.name}" for alias in node.names
                            if f"{node.module}.{alias.name}" in SOURCES}
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and ast.unparse(node.value) in aliases:
                used.add((aliases[ast.unparse(node.value)], node.attr))
    return frozenset(used)


def allowed(r: Raise, finders: dict[str, RaiseFinder], seen: frozenset[str] = frozenset()) -> bool:
    """Listed itself, or raised in a private module-level helper that only allowed functions of its module use."""
    if r.key in RAISE_ALLOWED:
        return True
    helper = r.function
    if not helper.startswith("_") or "." in helper or helper in seen or (r.module, helper) in used_elsewhere():
        return False
    users = finders[r.module].references.get(helper, set()) - {helper}
    return bool(users) and all(user and allowed(Raise(r.module, user, r.exception, r.line), finders, seen | {helper})
                               for user in users)


def test_no_builtin_exception_reaches_a_user():
    raises, finders = scan()
    bad = [str(r) for r in raises if not allowed(r, finders)]
    assert not bad, ("raise a KobError subclass from kob/errors.py (its message naming the host or file:line and "
                     "what to do) instead of:\n  " + "\n  ".join(bad)
                     + "\nor, if a caller catches it right away, add it to RAISE_ALLOWED with the reason")


def test_every_allowed_raise_still_exists():
    present = {r.key for r in scan()[0]}
    stale = [key for key in RAISE_ALLOWED if key not in present]
    assert not stale, f"RAISE_ALLOWED lists raises that are gone (delete them): {stale}"


def _function(tree: ast.Module, qualname: str) -> ast.AST | None:
    node: ast.AST = tree
    for part in qualname.split("."):
        node = next((child for child in ast.iter_child_nodes(node)
                     if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                     and child.name == part), None)
        if node is None:
            return None
    return node


@pytest.mark.parametrize("key", [key for key, entry in RAISE_ALLOWED.items() if isinstance(entry, Caught)],
                         ids="{0[0]}.{0[1]}".format)
def test_a_caught_raise_is_caught_where_the_allow_list_says(key):
    every = trees()
    for catcher in RAISE_ALLOWED[key].by:
        module, _, qualname = catcher.partition(":")
        function = _function(every[module], qualname) if module in every else None
        assert function is not None, f"{key}: the catcher {catcher} is gone"
        handlers = [node for node in ast.walk(function) if isinstance(node, ast.ExceptHandler)]
        assert any(catches(h, key[2]) for h in handlers), f"{catcher} no longer catches {key[2]} (for {key[1]})"


def test_the_check_fails_on_a_new_bare_raise():
    finder = RaiseFinder("kob.example")
    finder.visit(ast.parse("def f(x):\n    if x:\n        raise ValueError('bad')\n"
                           "    try:\n        raise KeyError(x)\n    except LookupError:\n        pass\n"
                           "def g():\n    raise builtins.RuntimeError\n"
                           "def h():\n    raise Exception('no')\n"))
    assert [(r.function, r.exception) for r in finder.raises] == [
        ("f", "ValueError"), ("g", "RuntimeError"), ("h", "Exception")]


# -- the drawing -----------------------------------------------------------------------------------------

_BRANCH = re.compile(r"^(?P<bars>(?:[│ ]   )*)[├└]── (?P<name>\w+)(?P<rest>.*)$")


def drawn_tree(doc: str) -> dict[str, tuple[str | None, str]]:
    """Each class drawn under ``KobError`` in the docstring: name → (drawn parent, the rest of its line)."""
    lines = doc.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "KobError")
    indent = len(lines[start]) - len(lines[start].lstrip())
    drawn: dict[str, tuple[str | None, str]] = {"KobError": (None, "")}
    parents = ["KobError"]
    for line in lines[start + 1:]:
        match = _BRANCH.match(line[indent:])
        if not match:
            break
        depth = len(match["bars"]) // 4
        assert match["name"] not in drawn, f"{match['name']} is drawn twice"
        drawn[match["name"]] = (parents[depth], match["rest"])
        parents[depth + 1:] = [match["name"]]
    return drawn


def kob_errors(modules) -> list[type]:
    from kob.errors import KobError

    found, todo = [], [KobError]
    while todo:
        cls = todo.pop()
        if cls.__module__.startswith("kob.") and cls not in found:
            found.append(cls)
            todo += cls.__subclasses__()
    return found


def test_the_docstring_draws_every_kob_error_under_its_parent(modules):
    import kob.errors
    from kob.errors import KobError

    drawn = drawn_tree(kob.errors.__doc__)
    classes = kob_errors(modules)
    names = [cls.__name__ for cls in classes]
    assert len(names) == len(set(names)), f"two KobErrors share a name: {sorted(names)}"
    assert set(drawn) == set(names), (f"not drawn: {sorted(set(names) - set(drawn))}; "
                                      f"drawn but not a KobError: {sorted(set(drawn) - set(names))}")
    for cls in classes:
        if cls is KobError:
            continue
        parents = [base.__name__ for base in cls.__bases__ if issubclass(base, KobError)]
        assert parents == [drawn[cls.__name__][0]], f"{cls.__name__} is drawn under {drawn[cls.__name__][0]}"
        if cls.__module__ != "kob.errors":
            assert cls.__module__ in drawn[cls.__name__][1], f"{cls.__name__}'s line should name {cls.__module__}"


def test_the_drawing_is_read_as_drawn():
    doc = "x\n\n    KobError\n    ├── A   one\n    │   └── B\n    └── C   (kob.c)\n\nmore\n"
    assert drawn_tree(doc) == {"KobError": (None, ""), "A": ("KobError", "   one"), "B": ("A", ""),
                               "C": ("KobError", "   (kob.c)")}


# -- the errors the issue named -------------------------------------------------------------------------


def test_running_out_of_host_ports_names_the_host():
    from kob.errors import DeployError, NoFreePort
    from kob.facts.containers import HostObservation
    from kob.plan.placement import HostBook
    from kob.spec.service_model import HOST_PORTS

    book = HostBook({"vm2": HostObservation("vm2", ())}, ["vm2"])
    book.ports["vm2"] |= set(HOST_PORTS[:-1])
    assert book.allocate_port("vm2") == HOST_PORTS[-1]
    with pytest.raises(NoFreePort, match=r"^vm2: every host port kob uses \(20000-29999\) is taken; ") as raised:
        book.allocate_port("vm2")
    assert isinstance(raised.value, DeployError) and raised.value.host == "vm2"


def test_errors_keep_the_names_they_are_imported_by():
    import kob.errors
    from kob.deploy.rollout import RolloutFailed
    from kob.lb import LbConfigInvalid, LbError, LbNotApplied, LbRuntimeRefused
    from kob.playbook.templating import TemplateError

    for error in (RolloutFailed, LbConfigInvalid, LbError, LbNotApplied, LbRuntimeRefused, TemplateError):
        assert getattr(kob.errors, error.__name__) is error
