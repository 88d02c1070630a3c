"""The playbook words kob run knows (pure tables): modules and their arguments, play and task keys, and the
Ansible keys it refuses by name with what to write instead."""

from __future__ import annotations

MODULES: dict[str, tuple[str, ...]] = {
    "command": ("_raw", "cmd", "argv", "chdir", "creates", "removes", "stdin"),
    "shell": ("_raw", "cmd", "chdir", "creates", "removes", "stdin"),
    "copy": ("content", "src", "dest", "mode", "owner", "group"),
    "template": ("src", "dest", "mode", "owner", "group", "trim_blocks", "lstrip_blocks"),
    "file": ("path", "state", "mode", "owner", "group"),
    "lineinfile": ("path", "line", "regexp", "state", "create", "mode", "owner", "group"),
    "apt": ("name", "state", "update_cache"),
    "service": ("name", "state", "enabled"),
    "systemd": ("name", "state", "enabled"),
    "docker_container": ("name", "image", "state", "command", "ports", "env", "restart_policy"),
    "docker_image": ("name", "state", "source"),
    "kob_deploy": ("service", "inventory"),
    "wait_for": ("port", "host", "path", "state", "timeout", "delay"),
    "debug": ("msg", "var"),
    "set_fact": (),  # any keys: every key is a fact
    "fail": ("msg",),
    "assert": ("that", "fail_msg", "success_msg"),
    "meta": ("_raw",),  # flush_handlers or noop
}
"""Module name -> the argument names it accepts ("_raw" is a free-form command line)."""

STATES: dict[str, tuple[str, ...]] = {
    "file": ("directory", "absent", "touch", "file"),
    "lineinfile": ("present", "absent"),
    "apt": ("present", "absent", "latest"),
    "service": ("started", "stopped", "restarted", "reloaded"),
    "systemd": ("started", "stopped", "restarted", "reloaded"),
    "docker_container": ("started", "absent", "stopped"),
    "docker_image": ("present", "absent"),
    "wait_for": ("started", "stopped", "present", "absent"),
}
"""The state: values each module accepts (a templated "{{ ... }}" state is checked at run time)."""

FREE_FORM = ("command", "shell", "meta")
ALIAS_PREFIXES = ("ansible.builtin.", "ansible.legacy.")
PLAY_KEYS = ("hosts", "name", "vars", "vars_files", "pre_tasks", "roles", "tasks", "post_tasks", "handlers",
             "gather_facts", "serial", "tags", "become", "become_user", "check_mode", "remote_user")
TASK_KEYS = ("name", "when", "loop", "with_items", "register", "notify", "tags", "ignore_errors", "changed_when",
             "failed_when", "vars", "become", "become_user", "args", "check_mode", "run_once", "remote_user")
UNSUPPORTED = (
    "import_playbook", "include", "include_vars", "delegate_to", "local_action",
    "async", "poll", "until", "retries", "delay", "loop_control", "with_dict", "with_fileglob",
    "with_together", "with_sequence", "with_nested", "with_subelements", "environment", "no_log",
    "diff", "connection", "strategy", "vars_prompt", "any_errors_fatal",
    "max_fail_percentage", "module_defaults", "collections", "throttle", "become_method", "raw", "script",
)
"""Ansible keys and modules that kob run refuses by name rather than as unknown."""
INSTEAD = {
    "include_vars": "name the file in the play's vars_files:",
    "with_dict": "write loop: \"{{ mapping | dict2items }}\" and use item.key, item.value",
    "loop_control": "use loop: with item (loop_var, label and pause are not taken)",
    "environment": "set the variables in the command itself (shell: X=1 cmd)",
    "become_method": "kob's become is sudo; leave become_method out",
}
"""What to write instead of an unsupported key, where there is something."""
PLAY_UNSUPPORTED = ("run_once", "ignore_errors")
INCLUDES = ("include_tasks", "import_tasks", "include_role", "import_role")
BLOCK_KEYWORDS = ("when", "tags", "vars", "become", "become_user", "ignore_errors", "check_mode", "remote_user")
"""What a block, an import and a role entry pass on to their tasks."""
INCLUDE_KEYWORDS = ("name", "loop", "with_items", *BLOCK_KEYWORDS)
ROLE_CALL_ARGS = ("name", "tasks_from", "vars_from", "defaults_from")
META = ("flush_handlers", "noop")
"""Keys Ansible takes on a play too, that kob run takes on a task only."""
