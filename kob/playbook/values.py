"""Values in a playbook, read the Ansible way (pure): YAML scalars as Python, variable names,
typed module arguments (yes/no as booleans), and the Jinja syntax of templated text.
"""

from __future__ import annotations

import keyword
import re
from typing import Any

from kob.errors import SpecError
from kob.playbook.module_arguments import ARG_TYPES as MODULE_ARG_TYPES
from kob.playbook.templating import check_expression_syntax, check_syntax
from kob.spec.yaml_nodes import _DECIMAL, _INT
from kob.spec.yaml_source import Node

_BOOL_TAG = "tag:yaml.org,2002:bool"
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

ARG_TYPES: dict[tuple[str, str], type] = {
    ("wait_for", "port"): int, ("wait_for", "timeout"): int, ("wait_for", "delay"): int,
    ("apt", "update_cache"): bool, ("service", "enabled"): bool, ("systemd", "enabled"): bool,
    ("lineinfile", "create"): bool, ("template", "trim_blocks"): bool, ("template", "lstrip_blocks"): bool,
}
"""Arguments that are not strings: written literally they are checked and converted when the playbook loads."""
ARG_TYPES.update(MODULE_ARG_TYPES)

TRUE_WORDS = ("yes", "on", "true", "1", "y", "t")
FALSE_WORDS = ("no", "off", "false", "0", "n", "f")


def typed_argument(module: str, key: str, where: Node, value: Any) -> Any:
    """An argument of ARG_TYPES as its type (a templated one is converted when it is rendered)."""
    kind = ARG_TYPES.get((module, key))
    if kind is None or (isinstance(value, str) and "{{" in value):
        return value
    converted = ansible_bool(value) if kind is bool else ansible_int(value)
    if converted is None:
        expected = "true or false (yes/no, on/off)" if kind is bool else "a whole number"
        raise where.error(f"{module}'s {key} should be {expected}, got {str(value)[:40]!r}")
    return converted


def ansible_bool(value: Any) -> bool | None:
    """A boolean as Ansible reads one (yes/no, on/off, true/false, 1/0, any case); None if it is none."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    return True if text in TRUE_WORDS else False if text in FALSE_WORDS else None


def keyword_bool(node: Node) -> bool:
    """A playbook keyword that Ansible takes as a boolean (become, ignore_errors, gather_facts, check_mode,
    run_once ...): yes/no, on/off, true/false, 1/0 in any case, quoted or not."""
    value = ansible_bool(node.raw) if node.kind == "scalar" else None
    if value is None:
        text = node.raw or ""
        if "{{" in text:
            raise node.error("kob run takes true or false here, not a template; set the value in the playbook")
        raise node.type_error("true or false (yes/no, on/off)")
    return value


def ansible_int(value: Any) -> int | None:
    """A whole number, written as one or as its digits; None if it is none."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    return int(text) if re.fullmatch(r"[-+]?[0-9]{1,12}", text) else None


def plain_value(node: Node) -> Any:
    """The node as plain Python, by the reading rules in kob.playbook.loader's docstring."""
    if node.kind == "mapping":
        return mapping_value(node)
    if node.kind == "list":
        return [plain_value(item) for item in node.as_list()]
    if node.kind == "null":
        return None
    text = node.raw or ""
    check_template(node, text)
    if node.yaml.style is not None:  # quoted or block: a string
        return text
    if node.yaml.tag == _BOOL_TAG:  # YAML 1.1 as Ansible reads it: yes/no, on/off, true/false (not y/n)
        return text.lower() in ("yes", "on", "true")
    if _INT.fullmatch(text) and not re.match(r"[-+]?0[0-9]", text):
        return int(text)
    if _DECIMAL.fullmatch(text) and re.search(r"[.eE]", text):
        return float(text)
    return text


def variables(node: Node | None) -> dict[str, Any]:
    """Variables: every name as Ansible takes it; a bad name is not shown (a vars file may hold secrets)."""
    if node is None:
        return {}
    for key, value in node.entries(expected="a mapping of variables"):
        if not valid_variable_name(key):
            raise SpecError(node.file, value.line, node.path, "a variable name should be letters, digits and _, "
                            "not start with a digit, and not be a Python keyword (the name is not shown)")
    return mapping_value(node)


def mapping_value(node: Node | None) -> dict[str, Any]:
    if node is None:
        return {}
    return {key: plain_value(value) for key, value in node.entries(expected="a mapping of variables")}


def valid_variable_name(name: str) -> bool:
    """Ansible's rule: an identifier of ASCII letters, digits and _, and not a Python keyword."""
    return bool(_VARIABLE.fullmatch(name)) and not keyword.iskeyword(name)


def check_template(node: Node, text: str) -> None:
    """A templated string's Jinja syntax, filters and tests, checked now rather than on every host at run time."""
    if "{{" in text or "{%" in text or "{#" in text:
        why = check_syntax(text)
        if why is not None:
            raise node.error(f"cannot read the template: {why}")


def check_expression(node: Node, expression: str) -> None:
    """A condition's Jinja syntax (when:, changed_when:, failed_when:), checked at load."""
    why = check_expression_syntax(expression)
    if why is not None:
        raise node.error(f"cannot read the condition {expression!r}: {why}")
