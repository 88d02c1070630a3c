"""The environment of one Compose service: inline env:, and env files, with secret-looking values kept out
of the inventory (a revision keeps inline env for ever) in a generated env file beside it."""

from __future__ import annotations

import os
import re
from pathlib import Path

from kob.errors import one_line
from kob.spec.compose_model import ImportedService
from kob.spec.compose_render import Entry
from kob.spec.compose_values import Values
from kob.spec.env_file import MAX_ENV_FILE, bad_env_line
from kob.spec.yaml_source import Node

SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|KEY", re.IGNORECASE)
"""Environment names whose values are kept out of the inventory (a revision keeps inline env for ever);
a name ending in _FILE holds a path, not a secret. A value that uses such a ${VARIABLE}, or holds a
password in a URL (scheme://user:password@host), is kept out too."""

_REFERENCE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
_URL_PASSWORD = re.compile(r"://[^/@\s:]*:[^/@\s]+@")


def _looks_secret(name: str, value: str | None, node: Node) -> bool:
    """By its name (not a *_FILE path), by a secret-looking ${VARIABLE} in it, or a password in a URL."""
    if SECRET_NAME.search(name) and not name.upper().endswith("_FILE"):
        return True
    used = _REFERENCE.findall(node.raw or "")
    return any(SECRET_NAME.search(var) and not var.upper().endswith("_FILE") for var in used) or \
        bool(value and _URL_PASSWORD.search(value))



class EnvironmentReading:
    """ServiceReader's part for environment:, env_file: and the env file it writes."""

    values: Values
    base: Path
    out: Path
    write_env_files: bool

    def note(self, node: Node, message: str) -> None: ...

    def _environment(self, service: ImportedService, environment: Node | None, env_files: Node | None) -> None:
        inline: list[Entry] = []
        secret: list[tuple[str, str | None, Node]] = []
        variables: dict[str, tuple[str | None, Node]] = {}
        for name, value, node in self._variables(environment):
            if name in variables:
                self.note(node, f"{name} is given twice; the last value is taken, as Compose does")
            variables[name] = (value, node)
        for name, (value, node) in variables.items():
            if _looks_secret(name, value, node):
                secret.append((name, value, node))
            elif value is not None:
                inline.append(Entry(name, value))
        if inline:
            service.entries.append(Entry("env", tuple(inline), "kept in each revision: no secrets here"))
        files = self._env_files(env_files)
        if not secret and len(files) <= 1:
            if files:
                service.env_file = self._relative(files[0][0])
                service.entries.append(Entry("env_file", service.env_file, "read when deploying, never stored"))
            return
        self._generated_env(service, secret, files)

    def _variables(self, node: Node | None) -> list[tuple[str, str | None, Node]]:
        """(name, value, node) of the environment: list or mapping; a value None is taken from kob's
        environment, and left out (with a note) when that does not have it."""
        found: list[tuple[str, str | None, Node]] = []
        if node is None:
            return found
        if node.kind == "list":
            pairs = []
            for item in node.as_list():
                name, equals, value = self.values.text(item).partition("=")
                pairs.append((name, value if equals else None, item))
        else:
            pairs = [(name, None if value.kind == "null" else self.values.text(value), value)
                     for name, value in node.entries(expected="a list of NAME=value or a mapping")]
        for name, value, item in pairs:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise item.error(f"{name!r} is not an environment variable name kob can pass "
                                 "(letters, digits and '_', not starting with a digit)")
            if value is None:
                value = self.values.environ.get(name)
                if value is None:
                    self.note(item, f"{name} takes its value from the environment, which does not have it here; "
                                    "left out (set it and import again, or write it in the env_file)")
            found.append((name, value, item))
        return found

    def _env_files(self, node: Node | None) -> list[tuple[Path, Node]]:
        """The env files that exist, in order; a missing one is a note."""
        items = [node] if node is not None and node.kind == "scalar" else (node.as_list() if node else [])
        files = []
        for item in items:
            required = True
            if item.kind == "mapping":
                fields = dict(item.entries())
                required = self.values.text(fields["required"]) != "false" if "required" in fields else True
                for key in fields:
                    if key not in ("path", "required"):
                        self.note(fields[key], "kob reads env files as docker's --env-file does; left out")
                path_node = fields.get("path")
                if path_node is None:
                    raise item.error("missing path:")
                text = self.values.text(path_node, allow_empty=False)
            else:
                text = self.values.text(item, allow_empty=False)
            path = Path(os.path.abspath(self.base / Path(text).expanduser()))
            if path.is_file():
                files.append((path, item))
            elif required:
                self.note(item, f"env file {path} not found; left out (create it, then add env_file: to the service)")
        return files

    def _generated_env(self, service: ImportedService, secret: list[tuple[str, str | None, Node]],
                       files: list[tuple[Path, Node]]) -> None:
        """One env file for kob: the Compose env files' lines joined, then the secret-looking values."""
        lines = []
        for path, item in files:
            with open(path, "rb") as file:
                data = file.read(MAX_ENV_FILE + 1)
            bad = bad_env_line(data) if len(data) <= MAX_ENV_FILE else 1
            if bad is not None:
                raise item.error(f"env file {path}: line {bad} is not NAME=value (or the file is over "
                                 f"{MAX_ENV_FILE >> 10} KiB); fix it and import again")
            lines += [f"# from {one_line(str(path))}", data.decode("utf-8-sig").rstrip("\n")]
        names = []
        for name, value, node in secret:
            if value is None:
                lines.append(f"# {name}=  (not set when imported: write its value)")
                continue
            if "\n" in value:
                self.note(node, f"{name}'s value holds a line break, which an env file cannot; left out")
                continue
            lines.append(f"{name}={value}")
            names.append(name)
        service.env_file = f"{service.name}.env"
        service.generated_env = "\n".join(lines) + "\n"
        what = " and ".join(filter(None, [", ".join(str(p) for p, _ in files),
                                          f"the values of {', '.join(names)}" if names else ""]))
        where = service.node
        if secret:
            where = secret[0][2]
            listed = ", ".join(n for n, _, _ in secret)
            verb = "looks like a secret (by its name or value): it goes" if len(secret) == 1 else \
                "look like secrets (by their names or values): they go"
            self.note(where, f"{listed} {verb} to {service.env_file} (mode 0600), not inline, since inline env "
                             "is kept in every revision")
        if len(files) > 1 or (files and secret):
            self.note(files[0][1], f"kob reads one env file a service: {service.env_file} joins {what}")
        written = self.write_env_files
        service.env_file_comment = f"holds {what}" + ("" if written else
                                                      "; write it beside the inventory (-o writes it), then "
                                                      "remove the '#'")
        if not written:
            self.note(where, f"{service.env_file} is not written without -o; its env_file: line is commented out")
        service.entries.append(Entry("env_file", service.env_file, service.env_file_comment, off=not written))

    def _relative(self, path: Path) -> str:
        relative = os.path.relpath(path, self.out)
        return relative if not relative.startswith("..") else str(path)
